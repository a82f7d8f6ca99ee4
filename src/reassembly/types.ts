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
  /** Payload bytes delivered in order, and bytes declared lost. */
  bytesDelivered: number;
  bytesLost: number;
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
  /** Every segment of an accepted connection, before its data: for "last contact" facts. */
  packet(conn: TcpConnection, side: Side, frame: number, time: number): void;
  /** Return false to stop following the connection (its bytes turned out not to be NVMe/TCP). */
  data(conn: TcpConnection, side: Side, bytes: Uint8Array, offset: number, length: number, frame: number, time: number): boolean;
  /** `length` bytes of this side's stream will never be seen: cut by the snapshot length, or never captured (drop, overflow). */
  gap(conn: TcpConnection, side: Side, length: number, frame: number, time: number, cause: GapCause): void;
  flag(conn: TcpConnection, side: Side, kind: FlagKind, frame: number, time: number): void;
  /** No more events for this connection (closed by FIN/RST and replaced, or end of capture). */
  closed(conn: TcpConnection): void;
}

export interface ReassemblyLimits {
  /** Out-of-order bytes buffered per direction before the hole is declared lost. */
  maxBufferedBytesPerSide: number;
}

export const DEFAULT_LIMITS: ReassemblyLimits = { maxBufferedBytesPerSide: 4 * 1024 * 1024 };

/** Counters of the reassembly stage for the report. */
export interface ReassemblyStats {
  connections: number;
  ignoredConnections: number;
  retransmittedBytes: number;
  outOfOrderSegments: number;
  gaps: number;
  lostBytes: number;
}
