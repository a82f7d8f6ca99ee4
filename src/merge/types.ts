import type { Direction, NvmeConnection, PduEvent, PduSink } from '../nvme-tcp/types.js';

/** Where a capture was taken, relative to the NVMe/TCP traffic it holds. */
export type Vantage = 'host' | 'target' | 'between';

/**
 * What the merge stage hands to correlation beyond one capture's events: a PDU the
 * model already has, seen again at another point, and a PDU one point saw leave
 * that never reached the other. Frames are references (src/common/frame-ref.ts),
 * times are on the host-side capture's clock.
 */
export interface MergeSink extends PduSink {
  /** `pdu` (from another capture) is one the model already has or is about to get: it passed that capture's point at `pdu.frame`, `pdu.time`. */
  sighting(pdu: PduEvent, conn: NvmeConnection): void;
  /** `pdu` left its sender's side and never reached the other capture point within the matching window. */
  lostOnTheWay(pdu: PduEvent, conn: NvmeConnection): void;
  /** From `time` on another capture watches the connection too (`watching`), or no longer does. */
  watched(conn: NvmeConnection, time: number, watching: boolean): void;
}

/** One PDU between the two capture points, for drawing (host clock; null: that point did not see it). */
export interface Passage {
  conn: number;
  dir: Direction;
  hostTime: number | null;
  targetTime: number | null;
}

/** What happened to the PDUs of one connection and direction between the capture points. */
export interface PassageCounts {
  /** Seen at both points. */
  both: number;
  /** Seen only on the sender's side: lost between the two points. */
  senderOnly: number;
  /** Seen only on the receiver's side: the sender-side capture missed it (snapshot, drop). */
  receiverOnly: number;
  bytesBoth: number;
  bytesSenderOnly: number;
  bytesReceiverOnly: number;
  /** First frames of PDUs lost between the points (at most a few). */
  firstLostFrames: number[];
}

export interface ConnectionPassage {
  conn: number;
  host: string;
  controller: string;
  h2c: PassageCounts;
  c2h: PassageCounts;
}

export interface DelayRange {
  minMs: number | null;
  maxMs: number | null;
  pairs: number;
}

export interface CaptureVantage {
  /** The label frames of this capture carry (`host`, `target`). */
  label: string;
  file: string;
  vantage: Vantage;
  vantageSource: 'inferred' | 'given' | 'assumed';
  frames: number;
  firstTime: number | null;
  lastTime: number | null;
  /** The capture was damaged: what was read before the damage was analysed. */
  problem: { kind: string; byteOffset: number; afterFrame: number; message: string } | null;
}

/** How the captures' clocks line up: target clock = host clock + offset (+ drift × elapsed). */
export interface ClockAlignment {
  source: 'aligned' | 'given';
  offsetMs: number;
  /** Half the width of the interval the minimum one-way delays leave for the offset (null: one direction only). */
  uncertaintyMs: number | null;
  /** Parts per million the target clock gains on the host clock; null when the capture is too short to tell. */
  driftPpm: number | null;
  /** One-way delays, host→target and target→host, with the offset applied. */
  h2cDelay: DelayRange;
  c2hDelay: DelayRange;
}

export interface SameTrafficReport {
  captures: CaptureVantage[];
  clock: ClockAlignment;
  /** The span both captures cover (host clock, epoch seconds); outside it only one point saw the traffic. */
  overlap: { from: number; to: number } | null;
  totals: { h2c: PassageCounts; c2h: PassageCounts };
  connections: ConnectionPassage[];
  connectionsNotListed: number;
  /** Connections only one capture holds, by capture label. */
  connectionsOnlyIn: Record<string, number>;
}

export type { Direction };
