import { describe, expect, it } from 'vitest';
import { LastHitMap } from './last-hit-map.js';

describe('LastHitMap', () => {
  it('answers like a Map through misses, replacements and deletions of the remembered key', () => {
    const m = new LastHitMap<number, string>();
    expect(m.get(1)).toBeUndefined();
    m.set(1, 'a'); // set after a remembered miss
    expect(m.get(1)).toBe('a');
    m.set(1, 'b'); // replaced while remembered
    expect(m.get(1)).toBe('b');
    m.set(2, 'c');
    expect(m.get(2)).toBe('c');
    m.delete(2); // deleted while remembered
    expect(m.get(2)).toBeUndefined();
    expect(m.get(1)).toBe('b');
    expect(m.size).toBe(1);
    expect([...m.values()]).toEqual(['b']);
  });
});
