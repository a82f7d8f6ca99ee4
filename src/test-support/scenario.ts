/**
 * Scripted NVMe/TCP conversations: TCP connections with real sequence numbers,
 * a clock, and helpers for the usual host/controller exchanges. Produces
 * capture files through the byte builders.
 */
import {
  capsuleResp, connectCmd, F, frame, icReq, icResp, ipPacket, LINK_TYPE, pcapFile, pcapngFile, propertySetCC,
  type LinkKind, type PacketIn,
} from './builders.js';

/**
 * What carries a connection's bytes: TLS in tls-scenario.ts. `opened` runs after the TCP handshake
 * (to send a TLS handshake, raw); `seal` turns the bytes a side sends into what goes on the wire.
 */
export interface Wire {
  opened(conn: TcpConn): void;
  seal(conn: TcpConn, fromHost: boolean, bytes: Uint8Array): Uint8Array;
}

export class Scenario {
  readonly packets: PacketIn[] = [];
  time = 1_790_000_000;
  private nextPort = 40000;
  /** Set by tls-scenario.ts: every connection after its TCP handshake carries TLS. */
  wire: Wire | undefined;
  /** Seconds between consecutive packets. */
  step = 0.00001;
  /** Twin captures (twins.ts): the link between the two capture points drops what each direction sends while set. */
  cut = { h2c: false, c2h: false };
  /** Twin captures: the host-side capture misses the packets sent while set (a drop in the capture, not on the wire). */
  hostCaptureMisses = false;

  constructor(readonly link: LinkKind = 'ethernet') {}

  /** Advances the clock. */
  wait(ms: number): this {
    this.time += ms / 1000;
    return this;
  }

  emit(data: Uint8Array, origLen?: number, fromHost?: boolean): void {
    const p: PacketIn = { time: this.time, data, origLen };
    if (fromHost !== undefined) {
      p.fromHost = fromHost;
      if (fromHost ? this.cut.h2c : this.cut.c2h) p.cut = true;
      if (this.hostCaptureMisses) p.hostMissed = true;
    }
    this.packets.push(p);
    this.time += this.step;
  }

  connection(host: string, ctrl: string, opts: { ctrlPort?: number; hostPort?: number; handshake?: boolean } = {}): TcpConn {
    const c = new TcpConn(this, host, opts.hostPort ?? this.nextPort++, ctrl, opts.ctrlPort ?? 4420);
    if (opts.handshake !== false) c.handshake();
    return c;
  }

  pcap(opts: { bigEndian?: boolean; nanos?: boolean } = {}): Uint8Array {
    return pcapFile(LINK_TYPE[this.link], this.packets, opts);
  }

  pcapng(): Uint8Array {
    return pcapngFile([{ interfaces: [{ linkType: LINK_TYPE[this.link] }], packets: this.packets }]);
  }
}

export class TcpConn {
  hostSeq = 1000;
  ctrlSeq = 5000;
  /** Segments larger than this are cut (like an MTU). */
  mss = 1448;

  constructor(
    readonly s: Scenario,
    readonly hostAddress: string,
    readonly hostPort: number,
    readonly ctrlAddress: string,
    readonly ctrlPort: number,
  ) {}

  private segment(fromHost: boolean, flags: number, payload?: Uint8Array, opts: { seq?: number; drop?: boolean; snap?: number } = {}): void {
    const seq = opts.seq ?? (fromHost ? this.hostSeq : this.ctrlSeq);
    const ip = ipPacket({
      src: fromHost ? this.hostAddress : this.ctrlAddress, dst: fromHost ? this.ctrlAddress : this.hostAddress,
      sport: fromHost ? this.hostPort : this.ctrlPort, dport: fromHost ? this.ctrlPort : this.hostPort,
      seq: seq >>> 0, ack: (fromHost ? this.ctrlSeq : this.hostSeq) >>> 0, flags, payload,
    });
    const f = frame(this.s.link, ip);
    if (!opts.drop) {
      if (opts.snap !== undefined && opts.snap < f.length) this.s.emit(f.slice(0, opts.snap), f.length, fromHost);
      else this.s.emit(f, undefined, fromHost);
    }
  }

  handshake(): this {
    this.segment(true, F.SYN);
    this.hostSeq++;
    this.segment(false, F.SYN | F.ACK);
    this.ctrlSeq++;
    this.segment(true, F.ACK);
    this.s.wire?.opened(this);
    return this;
  }

  /**
   * Sends bytes in MSS-sized segments. `drop` leaves them out of the capture (they still advance the
   * stream), `dropSegments` only those segments (0 = the first). Over a Wire (TLS) the bytes are
   * sealed first, unless `raw`.
   */
  send(fromHost: boolean, bytes: Uint8Array, opts: { drop?: boolean; dropSegments?: number[]; ack?: boolean; snap?: number; raw?: boolean } = {}): this {
    if (this.s.wire && !opts.raw) bytes = this.s.wire.seal(this, fromHost, bytes);
    for (let o = 0, k = 0; o < bytes.length; o += this.mss, k++) {
      const piece = bytes.subarray(o, Math.min(bytes.length, o + this.mss));
      this.segment(fromHost, F.ACK | F.PSH, piece, { ...opts, drop: opts.drop || opts.dropSegments?.includes(k) });
      if (fromHost) this.hostSeq = (this.hostSeq + piece.length) >>> 0;
      else this.ctrlSeq = (this.ctrlSeq + piece.length) >>> 0;
    }
    if (opts.ack) this.ack(!fromHost);
    return this;
  }

  host(bytes: Uint8Array, opts: { drop?: boolean; dropSegments?: number[]; ack?: boolean } = {}): this {
    return this.send(true, bytes, opts);
  }

  ctrl(bytes: Uint8Array, opts: { drop?: boolean; dropSegments?: number[]; ack?: boolean } = {}): this {
    return this.send(false, bytes, opts);
  }

  /** Re-sends bytes already sent, at their old sequence number. */
  retransmit(fromHost: boolean, bytes: Uint8Array, seq: number): this {
    this.segment(fromHost, F.ACK | F.PSH, bytes, { seq });
    return this;
  }

  ack(fromHost: boolean): this {
    this.segment(fromHost, F.ACK);
    return this;
  }

  fin(fromHost: boolean): this {
    this.segment(fromHost, F.FIN | F.ACK);
    if (fromHost) this.hostSeq++;
    else this.ctrlSeq++;
    return this;
  }

  /** `seq` sends it at another sequence number (outside the receiver's window, say). */
  rst(fromHost: boolean, opts: { seq?: number } = {}): this {
    this.segment(fromHost, F.RST | F.ACK, undefined, { seq: opts.seq });
    return this;
  }

  /** Frame number the next packet of the scenario will get. */
  get nextFrame(): number {
    return this.s.packets.length + 1;
  }

  /** ICReq/ICResp exchange. */
  initialize(): this {
    this.host(icReq());
    this.ctrl(icResp());
    return this;
  }
}

export const HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001';
export const SUBNQN = 'nqn.2026-11.io.test:subsys';

export interface AssociationConns {
  admin: TcpConn;
  io: TcpConn[];
}

/**
 * A full association: admin queue Connect (KATO), controller id in the
 * response, CC.EN=1, and `ioQueues` I/O queue Connects.
 */
export function connectAssociation(
  s: Scenario,
  opts: { host?: string; ctrl?: string; katoMs?: number; cntlid?: number; ioQueues?: number; hostnqn?: string; subnqn?: string; ctrlPort?: number } = {},
): AssociationConns {
  const host = opts.host ?? '10.0.0.1';
  const ctrl = opts.ctrl ?? '10.0.0.2';
  const cntlid = opts.cntlid ?? 1;
  const hostnqn = opts.hostnqn ?? HOSTNQN;
  const subnqn = opts.subnqn ?? SUBNQN;
  const admin = s.connection(host, ctrl, { ctrlPort: opts.ctrlPort }).initialize();
  admin.host(connectCmd(0, 0, opts.katoMs ?? 5000, hostnqn, subnqn));
  admin.ctrl(capsuleResp({ cid: 0, dw0: cntlid }));
  admin.host(propertySetCC(1, 0x460001));
  admin.ctrl(capsuleResp({ cid: 1 }));
  const io: TcpConn[] = [];
  for (let q = 1; q <= (opts.ioQueues ?? 1); q++) {
    const c = s.connection(host, ctrl, { ctrlPort: opts.ctrlPort }).initialize();
    c.host(connectCmd(0, q, 0, hostnqn, subnqn, cntlid));
    c.ctrl(capsuleResp({ cid: 0 }));
    io.push(c);
  }
  return { admin, io };
}
