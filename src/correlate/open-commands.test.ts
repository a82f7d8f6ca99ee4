import { describe, expect, it } from 'vitest';
import { OpenCommands, type Cmd } from './model.js';

const cmd = (cid: number, frame: number) => ({ cid, submit: { frame, time: frame / 1000 } }) as unknown as Cmd;

describe('OpenCommands', () => {
  it('counts, finds and forgets commands by CID', () => {
    const open = new OpenCommands();
    const a = cmd(7, 10);
    open.set(7, a);
    open.set(3, cmd(3, 11));
    expect(open.size).toBe(2);
    expect(open.get(7)).toBe(a);
    open.delete(7);
    open.delete(7);
    open.delete(99);
    expect(open.size).toBe(1);
    expect(open.get(7)).toBeUndefined();
    expect(open.values().map((c) => c.cid)).toEqual([3]);
  });

  it('lists in submission order, also when a completed CID is reused', () => {
    const open = new OpenCommands();
    open.set(1, cmd(1, 10));
    open.set(2, cmd(2, 11));
    open.delete(1);
    open.set(1, cmd(1, 12));
    expect(open.values().map((c) => c.submit.frame)).toEqual([11, 12]);
  });

  it('stays bounded when a host walks through every CID, and keeps every command in flight', () => {
    const open = new OpenCommands();
    const kept = [cmd(0xffff, 1), cmd(0xfffe, 2)];
    open.set(0xffff, kept[0]);
    open.set(0xfffe, kept[1]);
    for (let cid = 0; cid < 0x8000; cid++) {
      open.set(cid, cmd(cid, 100 + cid));
      open.delete(cid);
    }
    expect(open.size).toBe(2);
    expect(open.values()).toEqual(kept);
    // The table grows with the commands in flight, not with the CIDs seen.
    expect(open.capacity).toBeLessThanOrEqual(8);
  });

  it('finds every command in flight through any pattern of CIDs, submissions and completions', () => {
    // Against a Map as the reference: CIDs that collide in the table, wrap around its end, and are
    // deleted from the middle of a probe run (the case backward-shift deletion must get right).
    let seed = 12345;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (const cidSpace of [4, 16, 300, 0x10000]) {
      const open = new OpenCommands();
      const reference = new Map<number, Cmd>();
      for (let step = 0; step < 5000; step++) {
        const cid = cidSpace === 0x10000 ? random(64) << 10 : random(cidSpace);
        if (random(3) === 0) {
          open.delete(cid);
          reference.delete(cid);
        } else if (!reference.has(cid) || random(2) === 0) {
          const c = cmd(cid, step);
          open.set(cid, c);
          reference.delete(cid);
          reference.set(cid, c);
        }
        expect(open.size).toBe(reference.size);
        const probe = random(cidSpace === 0x10000 ? 0x10000 : cidSpace);
        expect(open.get(probe)).toBe(reference.get(probe));
      }
      for (const [cid, c] of reference) expect(open.get(cid)).toBe(c);
      // Submission order: the reference re-inserts a replaced CID at the end.
      expect(open.values()).toEqual([...reference.values()]);
    }
  });
});
