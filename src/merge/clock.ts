import { round3 } from '../common/numbers.js';
import type { ClockAlignment, DelayRange as DelayRangeReport } from './types.js';

/** Seconds of capture per bucket of minimum delays: the drift fit's resolution. */
const BUCKET_S = 1;

interface Bucket {
  /** Minimum of (target time − host time) over host→target PDUs, and of (host − target) over target→host ones; and their maxima. */
  h2c: number;
  c2h: number;
  h2cMax: number;
  c2hMax: number;
}

/**
 * Clock alignment from PDUs seen at both points, as NTP bounds an offset: a PDU the host sent
 * shows target − host = offset + delay, one the target sent shows host − target = −offset + delay,
 * delays are never negative, so offset lies between −min(host − target) and min(target − host).
 * Minima are kept per second of capture (memory grows with the capture's duration in seconds,
 * not with its PDUs) for the drift fit.
 */
export class ClockEstimator {
  private readonly buckets = new Map<number, Bucket>();
  private start = NaN;
  private minH2c = Infinity;
  private minC2h = Infinity;
  pairs = { h2c: 0, c2h: 0 };

  /** One PDU seen at both points: its host-side and target-side capture times (raw clocks). */
  add(hostToTarget: boolean, hostTime: number, targetTime: number): void {
    if (Number.isNaN(this.start)) this.start = hostTime;
    const key = Math.floor((hostTime - this.start) / BUCKET_S);
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = { h2c: Infinity, c2h: Infinity, h2cMax: -Infinity, c2hMax: -Infinity }));
    if (hostToTarget) {
      const d = targetTime - hostTime;
      this.pairs.h2c++;
      if (d < b.h2c) b.h2c = d;
      if (d > b.h2cMax) b.h2cMax = d;
      if (d < this.minH2c) this.minH2c = d;
    } else {
      const d = hostTime - targetTime;
      this.pairs.c2h++;
      if (d < b.c2h) b.c2h = d;
      if (d > b.c2hMax) b.c2hMax = d;
      if (d < this.minC2h) this.minC2h = d;
    }
  }

  get anyPairs(): boolean {
    return this.pairs.h2c + this.pairs.c2h > 0;
  }

  /**
   * Is the first capture nearer the host than the second? From delays alone, whatever the offset:
   * within one second, min(t2 − t1 over host→target) + min(t1 − t2 over target→host) is the sum of
   * the two minimum one-way delays between the points, positive when capture 1 is on the host's
   * side. The seconds vote (a drifting clock cannot sway one second). Needs both directions.
   */
  firstIsHostSide(): boolean | undefined {
    let yes = 0, no = 0;
    for (const b of this.buckets.values()) {
      if (b.h2c === Infinity || b.c2h === Infinity) continue;
      if (b.h2c + b.c2h >= 0) yes++;
      else no++;
    }
    if (yes + no === 0) return this.pairs.h2c && this.pairs.c2h ? this.minH2c + this.minC2h >= 0 : undefined;
    return yes >= no;
  }

  /**
   * The offset as a line over the capture. Constant when one offset satisfies every PDU's bound
   * (the midpoint of what the minimum delays leave); a line through the per-second midpoints when
   * none does: the clocks drifted apart by more than the delays.
   */
  private fit(): { offset: number; slope: number; span: number; drifted: boolean } | undefined {
    if (this.pairs.h2c === 0 && this.pairs.c2h === 0) return undefined;
    if (this.pairs.h2c === 0 || this.pairs.c2h === 0) {
      // One direction only: the bound it gives, taken as the offset (delay assumed zero).
      return { offset: this.pairs.h2c > 0 ? this.minH2c : -this.minC2h, slope: 0, span: 0, drifted: false };
    }
    const mid = (this.minH2c - this.minC2h) / 2;
    if (this.minH2c + this.minC2h >= 0) return { offset: mid, slope: 0, span: 0, drifted: false };
    let n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, lo = Infinity, hi = -Infinity;
    for (const [key, b] of this.buckets) {
      if (b.h2c === Infinity || b.c2h === Infinity) continue;
      const x = key * BUCKET_S;
      const y = (b.h2c - b.c2h) / 2;
      n++; sx += x; sy += y; sxx += x * x; sxy += x * y;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    if (n < 2 || hi === lo) return { offset: mid, slope: 0, span: 0, drifted: false };
    const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    return { offset: (sy - slope * sx) / n, slope, span: hi - lo, drifted: true };
  }

  /** Half the narrowest interval one second's minimum delays leave the offset (the line's own uncertainty). */
  private uncertainty(fit: { drifted: boolean }): number {
    if (!fit.drifted) return Math.max(0, (this.minH2c + this.minC2h) / 2);
    let best = Infinity;
    for (const b of this.buckets.values()) if (b.h2c !== Infinity && b.c2h !== Infinity) best = Math.min(best, (b.h2c + b.c2h) / 2);
    return Math.max(0, best);
  }

  /** The alignment as reported, each direction's one-way delays taken against the fitted line. */
  alignment(): ClockAlignment {
    const fit = this.fit();
    const both = this.pairs.h2c > 0 && this.pairs.c2h > 0;
    const h2c = new DelayRange();
    const c2h = new DelayRange();
    for (const [key, b] of this.buckets) {
      const theta = fit ? fit.offset + fit.slope * key * BUCKET_S : 0;
      if (b.h2c !== Infinity) h2c.add(b.h2c - theta, b.h2cMax - theta);
      if (b.c2h !== Infinity) c2h.add(b.c2h + theta, b.c2hMax + theta);
    }
    return {
      source: 'aligned',
      offsetMs: fit ? round3(fit.offset * 1000) : 0,
      uncertaintyMs: both && fit ? round3(this.uncertainty(fit) * 1000) : null,
      driftPpm: fit?.drifted ? round3(fit.slope * 1e6) : null,
      h2cDelay: h2c.report(this.pairs.h2c),
      c2hDelay: c2h.report(this.pairs.c2h),
    };
  }

  /** The fitted line, frozen: places target-clock times on the host clock. */
  mapping(): ClockMapping {
    const fit = this.fit() ?? { offset: 0, slope: 0 };
    return new ClockMapping(fit.offset, fit.slope, Number.isNaN(this.start) ? 0 : this.start);
  }
}

export class ClockMapping {
  constructor(readonly offset: number, readonly slope: number, readonly start: number) {}

  static given(offsetS: number): ClockMapping {
    return new ClockMapping(offsetS, 0, 0);
  }

  toHost(targetTime: number): number {
    const approx = targetTime - this.offset;
    return approx - this.slope * (approx - this.start);
  }
}

class DelayRange {
  private min = Infinity;
  private max = -Infinity;

  add(min: number, max: number): void {
    if (min < this.min) this.min = min;
    if (max > this.max) this.max = max;
  }

  report(pairs: number): DelayRangeReport {
    return pairs ? { minMs: round3(this.min * 1000), maxMs: round3(this.max * 1000), pairs } : { minMs: null, maxMs: null, pairs: 0 };
  }
}
