/** One end of a TCP connection. */
export interface Endpoint {
  address: string;
  port: number;
}

/** Per-side TCP facts: when this side opened, closed or reset the connection. */
export interface SideFacts {
  synFrame?: number;
  synTime?: number;
  finFrame?: number;
  finTime?: number;
  rstFrame?: number;
  rstTime?: number;
  /** Last segment of any kind this side sent. */
  lastFrame: number;
  lastTime: number;
  /**
   * Where every payload byte this side sent went. What segments carried
   * (captured or cut by the snapshot length) = delivered + duplicate +
   * afterEnd + cut; `lost` also counts holes no captured segment covered.
   */
  bytesDelivered: number;
  bytesLost: number;
  /** Already delivered (or given up on) when they arrived again: retransmissions and overlaps. */
  bytesDuplicate: number;
  /** Arrived after this side's stream had ended (past its FIN, or after its RST). */
  bytesAfterEnd: number;
  /** On the wire but cut off by the snapshot length (part of bytesLost). */
  bytesCut: number;
  /** An RST of this side whose sequence number lay outside the receiver's window: it ended nothing. */
  rstOutOfWindowFrame?: number;
}

export type Side = 0 | 1;

/**
 * One TCP connection instance (a 4-tuple can recur). Side 0 is the side that
 * sent the first SYN, or the sender of the first packet seen when the
 * capture started mid-connection.
 */
export interface TcpConnection {
  /** 1-based, in order of first packet, over every TCP connection seen. */
  id: number;
  ipVersion: 4 | 6;
  endpoints: [Endpoint, Endpoint];
  sides: [SideFacts, SideFacts];
  /** True when the capture holds the SYN, so the first byte of each stream is known. */
  sawOpen: boolean;
  /** Per side, the sequence number of its stream's offset 0 (-1 until known): ties the stream to another capture's view of it. */
  seqOrigin: [number, number];
  firstFrame: number;
  firstTime: number;
}

export type FlagKind = 'syn' | 'fin' | 'rst';

export type GapCause = 'snaplen' | 'not-captured';

/**
 * What the reassembly stage hands to the protocol stage. Data is
 * bytes[offset, offset + length), borrowed until the call returns. `frame`/`time` are those of the packet
 * that made the bytes deliverable.
 */
export interface StreamSink {
  /** Return false to leave a connection alone (not NVMe/TCP): no bytes are kept for it. */
  opened(conn: TcpConnection, firstPayload: Uint8Array | undefined): boolean;
  /**
   * Every segment of an accepted connection, before its data: for "last contact" facts.
   * `peerAcked`: offset in the other side's stream up to which this segment acknowledges it, or -1.
   */
  packet(conn: TcpConnection, side: Side, frame: number, time: number, peerAcked: number): void;
  /** Return false to stop following the connection (its bytes turned out not to be NVMe/TCP). */
  data(conn: TcpConnection, side: Side, bytes: Uint8Array, offset: number, length: number, frame: number, time: number): boolean;
  /** `length` bytes of this side's stream will never be seen: cut by the snapshot length, or never captured (drop, overflow). */
  gap(conn: TcpConnection, side: Side, length: number, frame: number, time: number, cause: GapCause): void;
  /** A SYN, FIN or RST, when seen. `outOfWindow`: an RST the receiver would discard (it ends nothing). */
  flag(conn: TcpConnection, side: Side, kind: FlagKind, frame: number, time: number, outOfWindow: boolean): void;
  /** This side's stream is over: every byte up to its FIN was delivered or declared lost, or its RST cut it. */
  ended(conn: TcpConnection, side: Side, frame: number, time: number): void;
  /** `length` payload bytes arrived after this side's stream ended: counted, never framed. */
  afterEnd(conn: TcpConnection, side: Side, length: number, frame: number, time: number): void;
  /** No more events for this connection (both sides ended, idle after one side ended, replaced, or end of capture). */
  closed(conn: TcpConnection): void;
}

export interface ReassemblyLimits {
  /** Out-of-order bytes buffered per direction before the hole is declared lost. */
  maxBufferedBytesPerSide: number;
  /**
   * Seconds of silence after which a connection with one side ended is closed. Linux caps the
   * retransmission timeout at 120 s (TCP_RTO_MAX): a peer still sending shows up within that.
   */
  lingerSeconds: number;
}

export const DEFAULT_LIMITS: ReassemblyLimits = { maxBufferedBytesPerSide: 4 * 1024 * 1024, lingerSeconds: 300 };

/** Counters of the reassembly stage for the report. */
export interface ReassemblyStats {
  connections: number;
  ignoredConnections: number;
  retransmittedBytes: number;
  /** Bytes that arrived after their side's stream ended. */
  afterEndBytes: number;
  outOfOrderSegments: number;
  gaps: number;
  lostBytes: number;
}
