import { describe, expect, it } from 'vitest';
import { bucketOf, LatencyHistogram } from './histogram.js';

const reference = (ms: number) => Math.floor(Math.log2(Math.max(ms, 0.001) / 0.001) * 32);

describe('LatencyHistogram', () => {
  it('puts every value in the bucket the logarithm names, also right at and beside bucket edges', () => {
    let seed = 99;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const values: number[] = [0, 0.001, 0.002, 1, 2.5, 2500, 5000, 86_400_000, 1e12, Infinity];
    for (let i = 0; i < 200_000; i++) values.push(0.001 * 2 ** (random() * 34));
    // Bucket edges and the doubles either side of them.
    for (let k = 0; k < 33 * 32; k++) {
      const edge = 0.001 * 2 ** (k / 32);
      values.push(edge, edge * (1 + 2 ** -52), edge * (1 - 2 ** -52), edge * (1 + 1e-12), edge * (1 - 1e-12));
    }
    const wrong = values.filter((v) => bucketOf(v) !== reference(v));
    expect(wrong).toEqual([]);
  });

  it('gives exact percentiles for few values and bucket edges capped by the maximum for many', () => {
    const few = new LatencyHistogram();
    for (const v of [5, 1, 3, 2, 4]) few.add(v);
    expect([few.quantile(0.5), few.quantile(1), few.min, few.max, few.count]).toEqual([3, 5, 1, 5, 5]);
    const many = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) many.add(i / 10);
    const p50 = many.quantile(0.5)!;
    expect(p50).toBeGreaterThanOrEqual(50);
    expect(p50).toBeLessThanOrEqual(50 * 2 ** (1 / 32));
    expect(many.quantile(1)).toBe(100);
  });
});
