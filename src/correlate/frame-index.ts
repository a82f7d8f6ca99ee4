/** Entries before the index halves its resolution: bounded memory for captures of any length. */
const MAX_ENTRIES = 1 << 18;

/**
 * Which frame was the last one captured before a given time, for events that
 * come without frames (kernel log lines). Keeps every frame until it holds
 * MAX_ENTRIES, then one per `step` seconds (100 µs, doubling whenever full):
 * exact for short captures, bounded for long ones.
 */
export class FrameIndex {
  private times: number[] = [];
  private frames: number[] = [];
  private step = 0;
  /** Time after which the next packet is recorded. */
  next = -Infinity;

  add(frame: number, time: number): void {
    if (this.times.length >= MAX_ENTRIES) this.coarsen();
    this.times.push(time);
    this.frames.push(frame);
    this.next = time + this.step;
  }

  /** The last indexed frame at or before `time`, or null when the capture had not started. */
  frameBefore(time: number): number | null {
    let lo = 0;
    let hi = this.times.length - 1;
    if (hi < 0 || this.times[0] > time) return null;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.times[mid] <= time) lo = mid;
      else hi = mid - 1;
    }
    return this.frames[lo];
  }

  private coarsen(): void {
    this.step = this.step === 0 ? 1e-4 : this.step * 2;
    const times: number[] = [];
    const frames: number[] = [];
    let until = -Infinity;
    for (let i = 0; i < this.times.length; i++) {
      if (this.times[i] < until) continue;
      times.push(this.times[i]);
      frames.push(this.frames[i]);
      until = this.times[i] + this.step;
    }
    this.times = times;
    this.frames = frames;
  }
}
