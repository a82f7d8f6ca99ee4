import { ClockMapping } from './clock.js';
import type { NvmeConnection } from '../nvme-tcp/types.js';
import type { Lane, LaneEvent, LaneGate } from './lane.js';

/** Events a capture read ahead of the others holds before it waits for them. */
const HELD_AHEAD = 8192;

/**
 * The order of the merge: every capture's events taken in time order on the host capture's clock,
 * as soon as no other capture can still show an earlier one, and the flow control that keeps the
 * captures' reading abreast (files are read synchronously: a capture that never waits reads to its
 * end before the next one starts). What is done with each event is the merge's (merger.ts).
 */
export abstract class LaneScheduler implements LaneGate {
  protected probing = true;
  protected mapping = ClockMapping.given(0);
  /** Host-clock time of the event being taken. */
  protected now = -Infinity;

  constructor(protected readonly lanes: Lane[]) {
    for (const lane of lanes) lane.gate = this;
  }

  /** Matches the PDUs read so far across captures; true once the merge can start. */
  protected abstract probe(): boolean;
  protected abstract emit(lane: Lane, e: LaneEvent, time: number): void;
  /** Settles what waited for its twin until host time `until`. */
  protected abstract expire(until: number): void;
  protected abstract packetNow(lane: Lane, conn: NvmeConnection, fromHost: boolean, frame: number, time: number, acked: number, hostTime: number): void;
  abstract onlyPdus(lane: Lane, conn: NvmeConnection): boolean;

  takesNow(lane: Lane, time: number): boolean {
    if (this.probing) return false;
    const t = this.hostTime(lane, time);
    // Another capture read no further than `t` yet: its next event may come first.
    for (const other of this.lanes) if (other !== lane && !other.ended && other.length === 0 && this.frontier(other) < t) return false;
    this.releaseUntil(t);
    return true;
  }

  /** How far a capture has been read, on the host clock: its next event comes no earlier (captures are in time order). */
  protected frontier(lane: Lane): number {
    return lane.ended ? Infinity : Number.isFinite(lane.lastTime) ? this.hostTime(lane, lane.lastTime) : -Infinity;
  }

  take(lane: Lane, e: LaneEvent): void {
    const t = this.hostTime(lane, e.time);
    this.expire(t);
    this.now = t;
    this.emit(lane, e, t);
  }

  takePacket(lane: Lane, conn: NvmeConnection, fromHost: boolean, frame: number, time: number, acked: number): void {
    const t = this.hostTime(lane, time);
    this.expire(t);
    this.now = t;
    this.packetNow(lane, conn, fromHost, frame, time, acked, t);
  }

  /** After each chunk of any capture: probe, then hand over every event whose turn has come. */
  pump(): void {
    if (this.probing && !this.probe()) return;
    this.releaseUntil(Infinity);
  }

  /**
   * Hands over, in time order, the held events before `until` whose turn has come: none of a
   * capture whose queue is empty can come before its frontier.
   */
  protected releaseUntil(until: number): void {
    for (;;) {
      let best: Lane | undefined;
      let bestTime = until;
      let bound = Infinity;
      for (const lane of this.lanes) {
        const e = lane.peek();
        if (!e) {
          bound = Math.min(bound, this.frontier(lane));
          continue;
        }
        const t = this.hostTime(lane, e.time);
        if (t < bestTime) {
          bestTime = t;
          best = lane;
        }
      }
      if (!best || bestTime > bound) return;
      this.expire(bestTime);
      this.now = bestTime;
      this.emit(best, best.take(), bestTime);
    }
  }

  /** Every capture has been read: settle what still waits. */
  finish(): void {
    for (const lane of this.lanes) lane.ended = true;
    if (this.probing) this.probe();
    this.pump();
    this.expire(Infinity);
  }

  /**
   * Should `lane` wait after its chunk for the others (files are read synchronously: a capture
   * that never waits reads to its end before the next one starts)? While probing, when it holds
   * twice what another holds; after, when another capture has been read less far — always for
   * the host capture (its events then go to the model as they are decoded, unqueued), past a few
   * thousand held events for the others.
   */
  shouldWait(lane: Lane): boolean {
    const others = this.lanes.filter((l) => l !== lane && !l.ended);
    if (this.probing) return lane.length >= 1024 && others.some((l) => l.length * 2 < lane.length);
    const behind = others.some((l) => this.frontier(l) < this.frontier(lane));
    return behind && (lane.code === 0 || lane.length > HELD_AHEAD);
  }

  protected hostTime(lane: Lane, time: number): number {
    return lane.code === 0 ? time : this.mapping.toHost(time);
  }
}
