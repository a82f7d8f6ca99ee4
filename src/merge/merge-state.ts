import type { Direction, NvmeConnection, PduEvent } from '../nvme-tcp/types.js';
import type { Lane, LaneEvent } from './lane.js';
import { newCounts } from './passage.js';
import type { PassageCounts } from './types.js';

/* The merge's state per connection and direction (src/merge/merger.ts). */

/** A PDU one capture saw, waiting for the other capture of the same connection to show it. */
export interface Waiting {
  pdu: PduEvent;
  /** Its first byte in the owner's stream numbering. */
  offset: number;
  /** Capture time on its own clock (the clock pair is taken from raw times). */
  rawTime: number;
  deadline: number;
  lane: Lane;
  /** Already delivered to the model (the owner's PDUs) or still to be (another capture's). */
  delivered: boolean;
  done: boolean;
  merged: MergedConn;
  dir: Direction;
}

export interface Tentative {
  lane: Lane;
  conn: NvmeConnection;
  time: number;
  key: string;
  events: { e: LaneEvent; time: number }[];
  deadline: number;
}

export interface DirState {
  /** End of the owner's stream as framed so far (PDUs and holes). */
  ownerEnd: number;
  /** Ranges the owner's capture lost (gaps, resynchronisation), the latest few. */
  holes: [number, number][];
  /** Ranges the model got from another capture, the latest few: a gap the owner's capture declares later may be covered already. */
  filled: [number, number][];
  /** Owner PDUs not yet seen by the other capture; other-capture PDUs not yet seen by the owner. */
  ownerWaiting: Waiting[];
  otherWaiting: Waiting[];
  passage: PassageCounts;
}

/** One TCP connection as every capture saw it: the owner's events drive the model, the others confirm or fill in. */
export interface MergedConn {
  id: number;
  key: string;
  /** What the model sees: the owner's connection, or a stand-in with a merged id for a non-host owner. */
  conn: NvmeConnection;
  owner: Lane;
  ownerConn: NvmeConnection;
  others: Map<Lane, NvmeConnection>;
  h2c: DirState;
  c2h: DirState;
  ownerClosed: boolean;
  /** The model has heard of the close: nothing more goes to it for this connection. */
  settled: boolean;
  /** Another capture saw the connection: what it did not show, it did not see (until it let the connection go). */
  watched: boolean;
  watchedUntil: number;
}

export function newDir(): DirState {
  return { ownerEnd: 0, holes: [], filled: [], ownerWaiting: [], otherWaiting: [], passage: newCounts() };
}

/** Drops settled entries from the front of a waiting list. */
export function prune(list: Waiting[]): void {
  let i = 0;
  while (i < list.length && list[i].done) i++;
  if (i > 0) list.splice(0, i);
}

export function inHole(d: DirState, offset: number): boolean {
  return d.holes.some(([s, e]) => offset >= s && offset < e);
}
