import type { Cmd } from './model-types.js';

/**
 * A queue's commands in flight, by CID: open addressing with linear probing and deletion by
 * backward shift, so a submission or completion allocates nothing and never rehashes. (A Map that
 * empties on every keep-alive completion shrinks and rebuilds its table each time: the largest
 * single cost in the CPU profile of a day-long keep-alive capture.) Grows with the commands in
 * flight, never with the CIDs seen.
 */
export class OpenCommands {
  private cids = new Int32Array(8).fill(EMPTY_CID);
  private cmds: (Cmd | undefined)[] = new Array<Cmd | undefined>(8).fill(undefined);
  /** Submission order of each slot, for listing in the order commands were sent. */
  private order = new Float64Array(8);
  private mask = 7;
  private shift = 29;
  private count = 0;
  private submitted = 0;

  get size(): number {
    return this.count;
  }

  /** Slots in use: twice the most commands in flight at once, at most (tests check it stays bounded). */
  get capacity(): number {
    return this.mask + 1;
  }

  get(cid: number): Cmd | undefined {
    const cids = this.cids;
    for (let i = this.home(cid); cids[i] !== EMPTY_CID; i = (i + 1) & this.mask) {
      if (cids[i] === cid) return this.cmds[i];
    }
    return undefined;
  }

  /** Adds the command, or replaces the one in flight under its CID. */
  set(cid: number, cmd: Cmd): void {
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    const cids = this.cids;
    let i = this.home(cid);
    while (cids[i] !== EMPTY_CID && cids[i] !== cid) i = (i + 1) & this.mask;
    if (cids[i] === EMPTY_CID) this.count++;
    cids[i] = cid;
    this.cmds[i] = cmd;
    this.order[i] = this.submitted++;
  }

  delete(cid: number): void {
    const cids = this.cids;
    const mask = this.mask;
    let i = this.home(cid);
    while (cids[i] !== cid) {
      if (cids[i] === EMPTY_CID) return;
      i = (i + 1) & mask;
    }
    this.count--;
    // Move back every later entry of the probe run that may no longer be reachable past the hole.
    for (let j = (i + 1) & mask; cids[j] !== EMPTY_CID; j = (j + 1) & mask) {
      const k = this.home(cids[j]);
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (stays) continue;
      cids[i] = cids[j];
      this.cmds[i] = this.cmds[j];
      this.order[i] = this.order[j];
      i = j;
    }
    cids[i] = EMPTY_CID;
    this.cmds[i] = undefined;
  }

  /** The commands in flight, in submission order. */
  values(): Cmd[] {
    const slots: number[] = [];
    for (let i = 0; i <= this.mask; i++) if (this.cids[i] !== EMPTY_CID) slots.push(i);
    slots.sort((a, b) => this.order[a] - this.order[b]);
    return slots.map((i) => this.cmds[i] as Cmd);
  }

  /** Fibonacci hashing: CIDs that differ only in high bits (Linux's generation counter) still spread. */
  private home(cid: number): number {
    return Math.imul(cid, 0x9e3779b1) >>> this.shift;
  }

  private grow(): void {
    const { cids, cmds, order } = this;
    const size = (this.mask + 1) * 2;
    this.cids = new Int32Array(size).fill(EMPTY_CID);
    this.cmds = new Array<Cmd | undefined>(size).fill(undefined);
    this.order = new Float64Array(size);
    this.mask = size - 1;
    this.shift--;
    for (let i = 0; i < cids.length; i++) {
      if (cids[i] === EMPTY_CID) continue;
      let j = this.home(cids[i]);
      while (this.cids[j] !== EMPTY_CID) j = (j + 1) & this.mask;
      this.cids[j] = cids[i];
      this.cmds[j] = cmds[i];
      this.order[j] = order[i];
    }
  }
}

/** No CID: CIDs are 16-bit. */
const EMPTY_CID = -1;
