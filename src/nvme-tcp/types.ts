import type { Side, TcpConnection, FlagKind, GapCause } from '../reassembly/types.js';
import type { ByteAccount } from './pdu-framer.js';
import type { TlsStatus } from '../tls/types.js';

/** PDU types of the NVMe/TCP transport binding. */
export const PduType = {
  ICReq: 0x00,
  ICResp: 0x01,
  H2CTermReq: 0x02,
  C2HTermReq: 0x03,
  CapsuleCmd: 0x04,
  CapsuleResp: 0x05,
  H2CData: 0x06,
  C2HData: 0x07,
  R2T: 0x09,
} as const;


export const PduFlag = { HDGSTF: 0x01, DDGSTF: 0x02, LAST_PDU: 0x04, SUCCESS: 0x08 } as const;

export type Direction = 'h2c' | 'c2h';

/** Submission queue entry fields (64 bytes) that the timeline needs. */
export interface Sqe {
  opcode: number;
  cid: number;
  nsid: number;
  /** Fabrics command type, when opcode is 0x7F. */
  fctype?: number;
  /** I/O commands: starting LBA and number of blocks (NLB + 1, not 0's based). */
  slba?: number;
  nlb?: number;
  /** Identify: CNS. */
  cns?: number;
  /** Transfer length from SGL1. */
  dataLength: number;
  cdw10: number;
  cdw11: number;
  cdw12: number;
  cdw13: number;
  /** Fabrics Connect. */
  connect?: { recfmt: number; qid: number; sqsize: number; cattr: number; katoMs: number };
  /** Fabrics Property Get / Set. */
  property?: { offset: number; size: 4 | 8; value?: number };
}

/** Completion queue entry (16 bytes). */
export interface Cqe {
  cid: number;
  dw0: number;
  dw1: number;
  sqhd: number;
  sqid: number;
  /** Status: type, code, retry delay, more, do-not-retry. */
  sct: number;
  sc: number;
  crd: number;
  more: boolean;
  dnr: boolean;
}

/** Fields of the Connect command's data (1024 bytes). */
export interface ConnectData {
  hostId: string;
  cntlid: number;
  subnqn: string;
  hostnqn: string;
}

/** The Identify Controller fields the verdicts use. */
export interface IdentifyController {
  cntlid: number;
  /** Command Quiesce Time, milliseconds (bytes 386–387). */
  cqtMs: number;
  ctratt: number;
  /** CTRATT bit 6: traffic-based keep alive. */
  tbkas: boolean;
  kasMs: number;
  serial: string;
  model: string;
  firmware: string;
  subnqn: string;
  /**
   * The controller instance a Cross-Controller Reset names (TP8028; base specification 2.3,
   * Figure 328): Controller Instance Uniquifier (byte 135), Controller Instance Random Number
   * (bytes 143:136, hex), and the Cross-Controller Reset Limit (byte 1807, a Fabrics field).
   */
  ciu: number;
  cirn: string;
  ccrl: number;
}

/** What every PDU carries: its common header, where it lies in its stream, and what the framer found. */
export interface PduCommon {
  /** NVMe/TCP connection number, 1-based, in order of first packet. */
  conn: number;
  dir: Direction;
  type: number;
  flags: number;
  hlen: number;
  pdo: number;
  plen: number;
  /** Frame in which the PDU's last byte arrived (where Wireshark shows it) and its time. */
  frame: number;
  time: number;
  firstFrame: number;
  /** Offset of the PDU's first byte in its direction's byte stream. */
  streamOffset: number;
  /** Queue id of the connection, once a Connect named it (a connection fact, not a field of this PDU). */
  qid?: number;
  /** The command it belongs to: CapsuleCmd, CapsuleResp, H2CData, C2HData, R2T. */
  cid?: number;
  /** Digest checks when the PDU carries digests: true = verified, false = mismatch. */
  hdgstOk?: boolean;
  ddgstOk?: boolean;
  /** Set when the header broke a rule of the binding (kept, but flagged). */
  violation?: string;
  /** The PDU's bytes were not all captured (gap inside it): fields past the gap are unknown. */
  incomplete?: boolean;
  /** Why bytes are missing: cut by the snapshot length (tshark still shows such a PDU), or never captured. */
  missingCause?: GapCause;
  /** Header bytes captured, when fewer than hlen: fields beyond them are unknown (left out). */
  headerCaptured?: number;
}

/*
 * One interface per PDU type, told apart by `typeName`. A type's own fields are optional: a header
 * the snapshot length or a loss cut has its type but not the fields past the cut.
 */
export interface ICReqPdu extends PduCommon {
  typeName: 'ICReq';
  icreq?: { pfv: number; hpda: number; hdgst: boolean; ddgst: boolean; maxr2t: number };
}
export interface ICRespPdu extends PduCommon {
  typeName: 'ICResp';
  icresp?: { pfv: number; cpda: number; hdgst: boolean; ddgst: boolean; maxh2cdata: number };
}
export interface TermReqPdu extends PduCommon {
  typeName: 'H2CTermReq' | 'C2HTermReq';
  term?: { fes: number; fei: number };
}
export interface CapsuleCmdPdu extends PduCommon {
  typeName: 'CapsuleCmd';
  sqe?: Sqe;
  /** In-capsule data bytes. */
  inCapsuleLength?: number;
  /** A Fabrics Connect's data, when captured. */
  connectData?: ConnectData;
}
export interface CapsuleRespPdu extends PduCommon {
  typeName: 'CapsuleResp';
  cqe?: Cqe;
}
export interface DataPdu extends PduCommon {
  typeName: 'H2CData' | 'C2HData';
  data?: { ttag: number; datao: number; datal: number; last: boolean; success: boolean };
  /** The Identify Controller data this C2HData completed (collected across the command's data PDUs). */
  identify?: IdentifyController;
}
export interface R2TPdu extends PduCommon {
  typeName: 'R2T';
  r2t?: { ttag: number; r2to: number; r2tl: number };
}
/** A PDU type the binding does not define: framed by its lengths, reported, not decoded. */
export interface UnknownTypePdu extends PduCommon {
  typeName: 'unknown';
}

/** One decoded PDU, handed to the correlation stage: a union discriminated by `typeName`. */
export type PduEvent = ICReqPdu | ICRespPdu | TermReqPdu | CapsuleCmdPdu | CapsuleRespPdu | DataPdu | R2TPdu | UnknownTypePdu;

type Fields<P> = Omit<P, keyof PduCommon | 'typeName'>;
/**
 * The decoder's working record: the common part and every type's fields, one object shape for all
 * PDUs (reused when the sink keeps nothing). The PDU format table sets only its type's fields, so
 * the record is handed on as the PduEvent its typeName names.
 */
export type PduRecord = PduCommon & { typeName: PduEvent['typeName'] } & Partial<
  Fields<ICReqPdu> & Fields<ICRespPdu> & Fields<TermReqPdu> & Fields<CapsuleCmdPdu> & Fields<CapsuleRespPdu> & Fields<DataPdu> & Fields<R2TPdu>
>;

/** Anything the framer could not turn into PDUs. */
export interface StreamDiagnostic {
  conn: number;
  dir: Direction;
  kind: 'gap' | 'resync' | 'garbage' | 'truncated-pdu' | 'tls' | 'after-end';
  /** For gaps: cut by the snapshot length, or never captured. */
  cause?: GapCause;
  frame: number;
  time: number;
  streamOffset: number;
  length: number;
  message: string;
}

/** Facts about one NVMe/TCP connection, shared with the correlation stage. */
export interface NvmeConnection {
  id: number;
  tcp: TcpConnection;
  /** Which TCP side is the host; undefined until known. */
  hostSide: Side | undefined;
  /** How the host side was decided. */
  roleSource: 'icreq' | 'syn' | 'port' | 'pdu' | 'unknown';
  hdgst: boolean;
  ddgst: boolean;
  qid?: number;
  /** Per TCP side: where each byte of its stream went (live counters). */
  bytes: [ByteAccount, ByteAccount] | undefined;
  /** NVMe/TCP over TLS: what the record layer found (undefined on a plain connection). */
  tls?: TlsStatus;
}

/** What the NVMe/TCP stage hands to correlation, in capture order. */
export interface PduSink {
  connection(conn: NvmeConnection): void;
  /**
   * A segment the given side sent (any segment: the "last contact" clock). `peerAcked`: the offset in
   * the other direction's stream up to which it acknowledges (-1 when it acknowledges nothing known).
   */
  packet(conn: NvmeConnection, fromHost: boolean, frame: number, time: number, peerAcked: number): void;
  pdu(pdu: PduEvent, conn: NvmeConnection): void;
  /** `outOfWindow`: an RST the receiver would discard; it ended neither direction. */
  tcpFlag(conn: NvmeConnection, fromHost: boolean, kind: FlagKind, frame: number, time: number, outOfWindow: boolean): void;
  diagnostic(diag: StreamDiagnostic, conn: NvmeConnection): void;
  closed(conn: NvmeConnection): void;
}
