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

export const PDU_TYPE_NAMES: Record<number, string> = {
  0: 'ICReq', 1: 'ICResp', 2: 'H2CTermReq', 3: 'C2HTermReq', 4: 'CapsuleCmd', 5: 'CapsuleResp', 6: 'H2CData', 7: 'C2HData', 9: 'R2T',
};

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

/** One decoded PDU, handed to the correlation stage. */
export interface PduEvent {
  /** NVMe/TCP connection number, 1-based, in order of first packet. */
  conn: number;
  dir: Direction;
  type: number;
  typeName: string;
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
  /** Queue id of the connection, once a Connect named it. */
  qid?: number;
  cid?: number;
  sqe?: Sqe;
  cqe?: Cqe;
  /** H2CData / C2HData. */
  data?: { ttag: number; datao: number; datal: number; last: boolean; success: boolean };
  r2t?: { ttag: number; r2to: number; r2tl: number };
  icreq?: { pfv: number; hpda: number; hdgst: boolean; ddgst: boolean; maxr2t: number };
  icresp?: { pfv: number; cpda: number; hdgst: boolean; ddgst: boolean; maxh2cdata: number };
  term?: { fes: number; fei: number };
  /** In-capsule data bytes of a CapsuleCmd. */
  inCapsuleLength?: number;
  connectData?: ConnectData;
  identify?: IdentifyController;
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
