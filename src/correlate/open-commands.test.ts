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
    // Keys are rebuilt once they outnumber the commands in flight: far fewer than the CIDs seen.
    expect((open as unknown as { byCid: Map<number, unknown> }).byCid.size).toBeLessThanOrEqual(65);
  });
});
