import type { FlagKind, GapCause, Side, StreamSink, TcpConnection } from '../reassembly/types.js';
import { CONNECT_DATA_BYTES, decodeConnectData, decodeIdentifyController, emptyCqe, emptySqe, IDENTIFY_BYTES } from './fields.js';
import { CONTROLLER_TYPES, HOST_TYPES } from './header-rules.js';
import { LastHitMap } from '../common/last-hit-map.js';
import { ADMIN_IDENTIFY, FABRICS_OPCODE, FCTYPE_CONNECT } from './opcodes.js';
import { PduFramer, type BodyPlan, type FramedPdu, type FramerCallbacks } from './pdu-framer.js';
import { blankEvent, looksLikeICReq, looksLikeTlsRecord, startEvent } from './pdu-events.js';
import { PDU_FORMATS, type PduFormat } from './pdu-formats.js';
import type { TlsKeyLog } from '../tls/keylog.js';
import { TlsSession } from '../tls/tls-session.js';
import {
  PduFlag, PduType, type Cqe, type Direction, type NvmeConnection, type PduEvent, type PduRecord, type PduSink, type Sqe,
} from './types.js';

export const DEFAULT_PORTS = [4420, 8009];
const ALL_TYPES = new Set<number>([...HOST_TYPES, ...CONTROLLER_TYPES]);
/** Plans without a buffer are shared: the framer only reads them. */
const NO_BODY: BodyPlan = Object.freeze({ verifyDigest: false });
const DIGEST_ONLY: BodyPlan = Object.freeze({ verifyDigest: true });
/** Identify Controller data needed for CQT (bytes 386–387) and the subsystem NQN. */
const IDENTIFY_CNS_CONTROLLER = 1;

export interface DecoderOptions {
  ports: number[];
  /**
   * The sink reads each PDU event during the call and keeps no part of it (the correlation model):
   * one event, SQE and CQE per direction are overwritten for every PDU instead of allocated. Nearly
   * half of what a day-long keep-alive capture allocated, and so of its garbage-collection time.
   */
  reuseEvents?: boolean;
  /** Secrets for NVMe/TCP over TLS (--tls-keylog); without, TLS connections are recognised and counted, not decoded. */
  tlsKeyLog?: TlsKeyLog;
}

interface SideState {
  /** Dropped when the side's stream ends (FIN, RST): a closed connection keeps no framing state. */
  framer: PduFramer | undefined;
  pending: PduRecord | undefined;
  connectData: Uint8Array | undefined;
  identify: { cid: number; data: Uint8Array } | undefined;
  /** With reuseEvents: this direction's event and decoded entries, overwritten for each PDU. */
  reused: { event: PduRecord; sqe: Sqe; cqe: Cqe } | undefined;
}

interface ConnState {
  nvme: NvmeConnection;
  /** 'candidate': on another port, waiting for an ICReq to prove it is NVMe/TCP. */
  status: 'nvme' | 'candidate';
  announced: boolean;
  sides: [SideState, SideState];
  /** Identify commands in flight on this queue, by CID: their data is collected. */
  /** Identify Controller commands in flight, by CID, and their data as it arrives: created on the first one. */
  identify: Map<number, Uint8Array | undefined> | undefined;
  /** NVMe/TCP over TLS: the record layer between TCP and the framers. */
  tls: TlsSession | undefined;
}

/**
 * The NVMe/TCP stage: decides which TCP connections carry NVMe/TCP and which
 * side is the host, frames each direction into PDUs and decodes their fields.
 * Keeps only the per-connection context decoding needs (queue id, digests,
 * Identify data being collected), like the shared context of a dissector.
 */
export class NvmeTcpDecoder implements StreamSink {
  private readonly ports: Set<number>;
  private readonly reuseEvents: boolean;
  private readonly tlsKeyLog: TlsKeyLog | undefined;
  private readonly states = new LastHitMap<TcpConnection, ConnState>();
  /** Connections whose streams are over but whose TCP tombstone still sees late flags and bytes: only their identity is kept. */
  private readonly retired = new WeakMap<TcpConnection, NvmeConnection>();
  private nextId = 1;
  pduCount = 0;

  /** Connections recognised as NVMe/TCP so far. */
  get connectionCount(): number {
    return this.nextId - 1;
  }

  constructor(
    private readonly sink: PduSink,
    options: DecoderOptions,
  ) {
    this.ports = new Set(options.ports);
    this.reuseEvents = options.reuseEvents ?? false;
    this.tlsKeyLog = options.tlsKeyLog;
  }

  opened(tcp: TcpConnection, firstPayload: Uint8Array | undefined): boolean {
    const p0 = this.ports.has(tcp.endpoints[0].port);
    const p1 = this.ports.has(tcp.endpoints[1].port);
    let status: ConnState['status'];
    if (p0 || p1) status = 'nvme';
    else if (firstPayload) {
      if (!looksLikeICReq(firstPayload, 0)) return false;
      status = 'nvme';
    } else if (tcp.sawOpen) status = 'candidate';
    else return false;
    const nvme: NvmeConnection = { id: 0, tcp, hostSide: undefined, roleSource: 'unknown', hdgst: false, ddgst: false, bytes: undefined };
    if (p0 !== p1) {
      nvme.hostSide = p1 ? 0 : 1;
      nvme.roleSource = tcp.sawOpen && nvme.hostSide === 0 ? 'syn' : 'port';
    } else if (tcp.sawOpen) {
      nvme.hostSide = 0;
      nvme.roleSource = 'syn';
    }
    const state: ConnState = { nvme, status, announced: false, sides: [newSide(), newSide()], identify: undefined, tls: undefined };
    state.sides[0].framer = this.newFramer(state, 0);
    state.sides[1].framer = this.newFramer(state, 1);
    nvme.bytes = [state.sides[0].framer!.account, state.sides[1].framer!.account];
    this.states.set(tcp, state);
    if (status === 'nvme') this.announce(state);
    return true;
  }

  packet(tcp: TcpConnection, side: Side, frame: number, time: number, peerAcked: number): void {
    const s = this.states.get(tcp);
    if (!s || !s.announced) return;
    // Under TLS the peer acknowledges ciphertext: the PDUs it has are those of the whole records acknowledged.
    const acked = s.tls && peerAcked >= 0 ? s.tls.plainAcked((side ^ 1) as Side, peerAcked) : peerAcked;
    this.sink.packet(s.nvme, this.fromHost(s.nvme, side), frame, time, acked);
  }

  data(tcp: TcpConnection, side: Side, bytes: Uint8Array, offset: number, length: number, frame: number, time: number): boolean {
    const s = this.states.get(tcp);
    if (!s) return false;
    if (s.status === 'candidate') {
      const framer = s.sides[side].framer;
      if (!framer || framer.streamOffset !== 0 || length < 8 || !looksLikeICReq(bytes, offset)) {
        this.states.delete(tcp);
        return false;
      }
      s.status = 'nvme';
      this.announce(s);
    }
    const framer = s.sides[side].framer;
    if (!framer) return true; // the side already ended: nothing more to frame
    if (!s.tls && framer.streamOffset === 0 && looksLikeTlsRecord(bytes, offset, length)) this.startTls(s, frame, time);
    if (s.tls) s.tls.push(side, bytes, offset, length, frame, time);
    else framer.push(bytes, offset, length, frame, time);
    return true;
  }

  /** NVMe/TCP over TLS (TP 8011): the record layer opens what it has keys for and hands the plaintext to the framers. */
  private startTls(s: ConnState, frame: number, time: number): void {
    const nvme = s.nvme;
    s.tls = new TlsSession({
      plaintext: (side, b, o, n, f, t) => s.sides[side].framer?.push(b, o, n, f, t),
      lost: (side, n, f, t, cause) => this.lost(s, side, n, f, t, cause),
      problem: (side, f, t, streamOffset, length, message) => {
        this.sink.diagnostic({ conn: nvme.id, dir: this.dir(nvme, side), kind: 'tls', frame: f, time: t, streamOffset, length, message }, nvme);
      },
    }, this.tlsKeyLog, frame, time);
    nvme.tls = s.tls.status;
  }

  gap(tcp: TcpConnection, side: Side, length: number, frame: number, time: number, cause: GapCause): void {
    const s = this.states.get(tcp);
    if (!s || !s.announced) return;
    if (s.tls) s.tls.gap(side, length, frame, time, cause);
    else this.lost(s, side, length, frame, time, cause);
  }

  /** `length` bytes of a side's (plaintext) stream will never be framed. */
  private lost(s: ConnState, side: Side, length: number, frame: number, time: number, cause: GapCause): void {
    const framer = s.sides[side].framer;
    if (!framer) return;
    this.sink.diagnostic({
      conn: s.nvme.id, dir: this.dir(s.nvme, side), kind: 'gap', cause, frame, time, streamOffset: framer.streamOffset, length,
      message: cause === 'snaplen' ? `${length} bytes cut by the snapshot length` : `${length} bytes of the stream were not captured`,
    }, s.nvme);
    framer.gap(length, frame, time, cause === 'snaplen');
  }

  flag(tcp: TcpConnection, side: Side, kind: FlagKind, frame: number, time: number, outOfWindow: boolean): void {
    const nvme = this.announcedOrRetired(tcp);
    if (nvme) this.sink.tcpFlag(nvme, this.fromHost(nvme, side), kind, frame, time, outOfWindow);
  }

  private announcedOrRetired(tcp: TcpConnection): NvmeConnection | undefined {
    const s = this.states.get(tcp);
    return s ? (s.announced ? s.nvme : undefined) : this.retired.get(tcp);
  }

  ended(tcp: TcpConnection, side: Side, frame: number, time: number): void {
    const s = this.states.get(tcp);
    if (!s || !s.announced) return;
    // The side's byte stream is complete: whatever its framer still holds is final now.
    this.endSide(s, side, frame, time);
  }

  afterEnd(tcp: TcpConnection, side: Side, length: number, frame: number, time: number): void {
    const nvme = this.announcedOrRetired(tcp);
    if (!nvme) return;
    this.sink.diagnostic({
      conn: nvme.id, dir: this.dir(nvme, side), kind: 'after-end', frame, time, streamOffset: -1, length,
      message: `${length} bytes arrived after this direction's stream had ended (FIN or RST): not decoded`,
    }, nvme);
  }

  closed(tcp: TcpConnection): void {
    const s = this.states.get(tcp);
    if (!s) return;
    if (s.announced) {
      const last = Math.max(tcp.sides[0].lastFrame, tcp.sides[1].lastFrame);
      const lastTime = Math.max(tcp.sides[0].lastTime, tcp.sides[1].lastTime);
      this.endSide(s, 0, last, lastTime);
      this.endSide(s, 1, last, lastTime);
      this.sink.closed(s.nvme);
      this.retired.set(tcp, s.nvme);
    }
    this.states.delete(tcp);
  }

  /** The side's stream is over: report what its framer still holds, then let the framer go. */
  private endSide(s: ConnState, side: Side, frame: number, time: number): void {
    const st = s.sides[side];
    if (st.framer) s.tls?.end(side, frame, time);
    st.framer?.end(frame, time);
    st.framer = undefined;
  }

  private announce(s: ConnState): void {
    s.announced = true;
    s.nvme.id = this.nextId++;
    this.sink.connection(s.nvme);
    // Flags seen before the connection was known to be NVMe/TCP.
    const tcp = s.nvme.tcp;
    for (const side of [0, 1] as Side[]) {
      const f = tcp.sides[side];
      if (f.synFrame !== undefined) this.sink.tcpFlag(s.nvme, this.fromHost(s.nvme, side), 'syn', f.synFrame, f.synTime as number, false);
    }
  }

  /** The framer's callbacks hold the connection's state: no lookup per PDU. */
  private newFramer(s: ConnState, side: Side): PduFramer {
    const nvme = s.nvme;
    const callbacks: FramerCallbacks = {
      header: (h, o, length, pdu) => this.onHeader(s, side, h, o, length, pdu),
      complete: (pdu, frame, time) => this.onComplete(s, side, pdu, frame, time),
      skipped: (kind, streamOffset, length, frame, time, message) => {
        this.sink.diagnostic({ conn: nvme.id, dir: this.dir(nvme, side), kind, frame, time, streamOffset, length, message }, nvme);
      },
    };
    return new PduFramer(callbacks, this.allowedTypes(nvme, side), nvme.tcp.sawOpen);
  }

  private allowedTypes(nvme: NvmeConnection, side: Side): Set<number> {
    if (nvme.hostSide === undefined) return ALL_TYPES;
    return side === nvme.hostSide ? HOST_TYPES : CONTROLLER_TYPES;
  }

  private fromHost(nvme: NvmeConnection, side: Side): boolean {
    return nvme.hostSide === undefined ? side === 0 : side === nvme.hostSide;
  }

  private dir(nvme: NvmeConnection, side: Side): Direction {
    return this.fromHost(nvme, side) ? 'h2c' : 'c2h';
  }

  /** Fixes the host side from what a PDU type proves, and tightens framing for both sides. */
  private learnRole(s: ConnState, side: Side, type: number): void {
    const nvme = s.nvme;
    if (nvme.roleSource === 'icreq' || (nvme.hostSide !== undefined && type !== PduType.ICReq)) return;
    const isHostType = HOST_TYPES.has(type);
    if (!isHostType && !CONTROLLER_TYPES.has(type)) return;
    const hostSide = (isHostType ? side : side ^ 1) as Side;
    if (type === PduType.ICReq) {
      nvme.roleSource = 'icreq';
    } else if (nvme.hostSide !== undefined) return;
    else nvme.roleSource = 'pdu';
    if (nvme.hostSide === hostSide) return;
    nvme.hostSide = hostSide;
    s.sides[0].framer?.setAllowedTypes(this.allowedTypes(nvme, 0));
    s.sides[1].framer?.setAllowedTypes(this.allowedTypes(nvme, 1));
  }

  private onHeader(s: ConnState, side: Side, h: Uint8Array, o: number, length: number, f: FramedPdu): BodyPlan {
    const nvme = s.nvme;
    const st = s.sides[side];
    this.learnRole(s, side, f.type);
    const pdu = this.reuseEvents ? (st.reused ??= { event: blankEvent(), sqe: emptySqe(), cqe: emptyCqe() }).event : blankEvent();
    startEvent(pdu, nvme.id, this.dir(nvme, side), f, nvme.qid);
    st.pending = pdu;
    st.connectData = undefined;
    st.identify = undefined;
    const format = PDU_FORMATS[f.type];
    if (!format) return NO_BODY;
    const isAdmin = nvme.qid === undefined ? undefined : nvme.qid === 0;
    if (length >= format.hlen) {
      format.fields(h, o, f, pdu, st.reused, isAdmin);
      return this.learn(s, st, f, format, pdu, length);
    }
    // Only part of the header was captured (snapshot length, loss): decode from a zero-filled copy,
    // learn only from what was captured, then drop every field that lay in the missing bytes.
    pdu.headerCaptured = length;
    const copy = new Uint8Array(format.hlen);
    copy.set(h.subarray(o, o + length));
    format.fields(copy, 0, f, pdu, st.reused, isAdmin);
    this.learn(s, st, f, format, pdu, length);
    format.cut(pdu, length);
    pdu.violation = undefined;
    return NO_BODY;
  }

  /**
   * What a PDU's fields teach the connection context, from the `captured` header bytes only: the
   * digests (ICResp), the queue id and the Connect data (a Connect), the Identify Controller
   * commands followed for CQT and TBKAS and their data; and so what the framer does with the body.
   */
  private learn(s: ConnState, st: SideState, f: FramedPdu, format: PduFormat, pdu: PduRecord, captured: number): BodyPlan {
    const nvme = s.nvme;
    const verifyDigest = (f.flags & PduFlag.DDGSTF) !== 0;
    if (pdu.icresp && captured >= 12) {
      nvme.hdgst = pdu.icresp.hdgst;
      nvme.ddgst = pdu.icresp.ddgst;
    } else if (pdu.sqe) {
      const sqe = pdu.sqe;
      if (sqe.connect && captured >= 60) {
        nvme.qid = sqe.connect.qid;
        pdu.qid = nvme.qid;
        if (sqe.opcode === FABRICS_OPCODE && sqe.fctype === FCTYPE_CONNECT && (pdu.inCapsuleLength ?? 0) > 0) {
          st.connectData = new Uint8Array(CONNECT_DATA_BYTES);
          return { collect: st.connectData, collectBase: 0, verifyDigest };
        }
      }
      if (sqe.opcode === ADMIN_IDENTIFY && sqe.cns === IDENTIFY_CNS_CONTROLLER && nvme.qid === 0 && captured >= 60) {
        (s.identify ??= new Map()).set(sqe.cid, undefined);
      }
    } else if (pdu.cqe) {
      s.identify?.delete(pdu.cqe.cid);
    } else if (pdu.data && pdu.cid !== undefined && f.type === PduType.C2HData && s.identify?.has(pdu.cid)) {
      const cid = pdu.cid;
      let buf = s.identify.get(cid);
      if (!buf) s.identify.set(cid, (buf = new Uint8Array(IDENTIFY_BYTES)));
      st.identify = { cid, data: buf };
      return { collect: buf, collectBase: pdu.data.datao, verifyDigest };
    }
    return verifyDigest && format.carriesData ? DIGEST_ONLY : NO_BODY;
  }

  private onComplete(s: ConnState, side: Side, f: FramedPdu, frame: number, time: number): void {
    const nvme = s.nvme;
    const st = s.sides[side];
    const pdu = st.pending;
    if (!pdu) return;
    st.pending = undefined;
    pdu.frame = frame;
    pdu.time = time;
    if (f.hdgstOk !== undefined) pdu.hdgstOk = f.hdgstOk;
    if (f.ddgstOk !== undefined) pdu.ddgstOk = f.ddgstOk;
    if (f.missing > 0) {
      pdu.incomplete = true;
      pdu.missingCause = f.lossCause ?? 'not-captured';
      // Cut by the snapshot length, a PDU never completes: Wireshark shows it where the cut came.
      if (f.lossCause === 'snaplen') {
        pdu.frame = f.lossFrame;
        pdu.time = f.lossTime;
      }
    }
    if (st.connectData && f.collected >= 768) pdu.connectData = decodeConnectData(st.connectData);
    if (st.identify && pdu.data?.last) {
      pdu.identify = decodeIdentifyController(st.identify.data);
      s.identify?.delete(st.identify.cid);
    }
    st.connectData = undefined;
    st.identify = undefined;
    this.pduCount++;
    // The format table set only the fields of the type its typeName names.
    this.sink.pdu(pdu as PduEvent, nvme);
  }
}

function newSide(): SideState {
  return { framer: undefined, pending: undefined, connectData: undefined, identify: undefined, reused: undefined };
}
