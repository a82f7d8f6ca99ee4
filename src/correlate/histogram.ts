/**
 * Latency histogram with log-spaced buckets (about 2% wide) from 1 µs to
 * ~1.5 hours: percentiles in constant memory, whatever the command count.
 */
const BUCKETS_PER_DOUBLING = 32;
const MIN_MS = 0.001;
const BUCKETS = BUCKETS_PER_DOUBLING * 33;

export class LatencyHistogram {
  /** Allocated on the first value: every association and opcode row has histograms, many stay empty. */
  private counts: Uint32Array | undefined;
  count = 0;
  max = 0;

  add(ms: number): void {
    const v = Math.max(ms, MIN_MS);
    const i = Math.min(BUCKETS - 1, Math.floor(Math.log2(v / MIN_MS) * BUCKETS_PER_DOUBLING));
    this.counts ??= new Uint32Array(BUCKETS);
    this.counts[i]++;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  /** Upper edge of the bucket holding the q-quantile, capped by the true maximum. */
  quantile(q: number): number | null {
    if (this.count === 0 || !this.counts) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(this.max, MIN_MS * 2 ** ((i + 1) / BUCKETS_PER_DOUBLING));
    }
    return this.max;
  }
}
