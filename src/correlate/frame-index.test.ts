import { describe, expect, it } from 'vitest';
import { FrameIndex } from './frame-index.js';

describe('frame index', () => {
  it('names the last frame at or before a time, exactly while it is small', () => {
    const index = new FrameIndex();
    for (let f = 1; f <= 10; f++) if (10 + f * 0.0001 >= index.next) index.add(f, 10 + f * 0.0001);
    expect(index.frameBefore(9)).toBeNull();
    expect(index.frameBefore(10.00035)).toBe(3);
    expect(index.frameBefore(11)).toBe(10);
  });

  it('stays bounded on a long capture and stays ordered after coarsening', () => {
    const index = new FrameIndex();
    let frame = 0;
    for (let t = 0; t < 1_000_000; t++) {
      frame++;
      if (t * 0.00005 >= index.next) index.add(frame, t * 0.00005);
    }
    const a = index.frameBefore(10)!;
    const b = index.frameBefore(20)!;
    expect(a).toBeLessThan(b);
    expect(a).toBeLessThanOrEqual(200_001);
    expect(a).toBeGreaterThan(190_000);
  });
});
