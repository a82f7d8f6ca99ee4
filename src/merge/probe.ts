import { UsageError } from '../common/errors.js';
import { ClockEstimator, type ClockMapping } from './clock.js';
import { tupleKey } from './connection-views.js';
import { EventKind, type Lane, type LaneEvent } from './lane.js';
import type { Vantage } from './types.js';

/** PDU pairs per direction the probe waits for before it fixes the clock offset. */
const PROBE_PAIRS = 16;
/** Events the probe holds at most while it looks for PDUs the captures share. */
export const PROBE_CAP = 200_000;

export interface ProbeOutcome {
  /** The host-side capture's index among the inputs. */
  hostIndex: number;
  vantages: Vantage[];
  /** No PDU of one direction matched: the order given was taken as host, target. */
  assumed: boolean;
  mapping: ClockMapping;
}

/**
 * The start of the merge: the PDUs both captures hold, matched by 4-tuple, direction, the
 * sequence number of their first byte, length and type, until enough of each direction tell
 * which capture is on the host's side and how the clocks line up. Nothing in common (or only
 * under other addresses: NAT) is a usage error naming both files.
 */
export class Probe {
  private readonly clock = new ClockEstimator();
  /** The matched pairs as (host→target?, capture 0's time, capture 1's time): replayed the right way round once the host side is known. */
  private readonly pairs: [boolean, number, number][] = [];
  private keys: Map<string, number>[];
  private natKeys: Map<string, number>[];
  private readonly scanned: number[];
  private natSuspected = false;
  /** Every PDU matched so far at the very same time in both: one recording given twice. */
  private identical = true;

  constructor(private readonly lanes: Lane[], private readonly given: Vantage[] | undefined) {
    this.keys = lanes.map(() => new Map());
    this.natKeys = lanes.map(() => new Map());
    this.scanned = lanes.map(() => 0);
  }

  /** Reads the events held so far (in place); the outcome once the merge can start. `offsetGiven`: no pair is needed for the clock. */
  scan(offsetGiven: boolean): ProbeOutcome | undefined {
    for (const lane of this.lanes) {
      for (let e = lane.at(this.scanned[lane.index]); e; e = lane.at(++this.scanned[lane.index])) {
        if (e.kind === EventKind.Pdu && e.conn.hostSide !== undefined) this.pdu(lane, e);
      }
    }
    const p = this.clock.pairs;
    const allEnded = this.lanes.every((l) => l.ended);
    // Judged only once every capture has had its say: each ended or holding its share of the cap.
    const heard = this.lanes.every((l) => l.ended || l.length >= PROBE_CAP / this.lanes.length);
    if (!(p.h2c >= PROBE_PAIRS && p.c2h >= PROBE_PAIRS) && !allEnded && !heard) return undefined;
    if (!this.clock.anyPairs && !offsetGiven) {
      const names = this.lanes.map((l) => l.file).join(' and ');
      if (this.natSuspected) throw new UsageError(`${names}: the same PDUs under different addresses (NAT between the capture points?): not supported`);
      const where = allEnded ? '' : ` in their first ${PROBE_CAP.toLocaleString('en-US')} events`;
      throw new UsageError(`${names}: no NVMe/TCP PDU in common${where}: not captures of the same traffic (cut them to their common span with editcap -A/-B if they overlap late)`);
    }
    if (this.identical && this.clock.anyPairs) {
      throw new UsageError(`${this.lanes.map((l) => l.file).join(' and ')}: every PDU at the same time in both: one recording given twice, not two capture points`);
    }
    this.keys = [];
    this.natKeys = [];
    return this.outcome();
  }

  private pdu(lane: Lane, e: LaneEvent): void {
    const pdu = e.pdu!;
    const side = pdu.dir === 'h2c' ? e.conn.hostSide! : (e.conn.hostSide! ^ 1);
    const origin = e.conn.tcp.seqOrigin[side];
    if (origin < 0) return;
    const seq = (origin + pdu.streamOffset) >>> 0;
    const bare = `${pdu.dir}|${seq}|${pdu.plen}|${pdu.type}`;
    const key = `${tupleKey(e.conn)}|${bare}`;
    const other = this.lanes.find((l) => l !== lane)!;
    const seen = this.keys[other.index].get(key);
    if (seen !== undefined) {
      // Provisionally capture 0 is the host side; outcome() swaps if the delays say otherwise.
      const [t0, t1] = lane.index === 0 ? [e.time, seen] : [seen, e.time];
      this.clock.add(pdu.dir === 'h2c', t0, t1);
      this.pairs.push([pdu.dir === 'h2c', t0, t1]);
      if (t0 !== t1) this.identical = false;
      this.keys[other.index].delete(key);
    } else {
      this.keys[lane.index].set(key, e.time);
      if (this.natKeys[other.index].has(bare)) this.natSuspected = true;
      this.natKeys[lane.index].set(bare, e.time);
    }
  }

  private outcome(): ProbeOutcome {
    const first = this.given ? undefined : this.clock.firstIsHostSide();
    const hostIndex = this.given ? Math.max(0, this.given.indexOf('host')) : first === false ? 1 : 0;
    const vantages: Vantage[] = this.given ?? (hostIndex === 0 ? ['host', 'target'] : ['target', 'host']);
    // The pairs were taken as (capture 0, capture 1) = (host, target): the other way round, they are read again so.
    let clock = this.clock;
    if (hostIndex === 1) {
      clock = new ClockEstimator();
      for (const [h2c, t0, t1] of this.pairs) clock.add(h2c, t1, t0);
    }
    const mapping = clock.mapping();
    return { hostIndex, vantages, assumed: !this.given && first === undefined, mapping };
  }
}
