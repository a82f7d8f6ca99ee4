import { sameHost, sameSubsystem } from './model-helpers.js';
import { RETAIN_OUTSTANDING_S, type Cmd } from './model-types.js';

/**
 * The commands a retry can name: unanswered I/O commands by SLBA (the head of a chain through
 * `sameKey`, in submission order), and, in submission order too, the ones left without a completion,
 * to let go of those no retry can still name (after RETAIN_OUTSTANDING_S, or 10 × KATO).
 */
export class RetryIndex {
  private readonly byKey = new Map<number, Cmd>();
  private readonly retention: Cmd[] = [];
  private retentionHead = 0;
  private nextEviction = -Infinity;
  /** Unanswered commands let go without a retry. */
  evicted = 0;

  /** A new candidate: appended to its key's chain. */
  add(cmd: Cmd): void {
    let c = this.byKey.get(cmd.key!);
    if (!c) {
      this.byKey.set(cmd.key!, cmd);
      return;
    }
    while (c.sameKey) c = c.sameKey;
    c.sameKey = cmd;
  }

  /** No longer a candidate (completed, retried, or let go). */
  drop(cmd: Cmd): void {
    const head = this.byKey.get(cmd.key!);
    if (head === cmd) {
      if (cmd.sameKey) this.byKey.set(cmd.key!, cmd.sameKey);
      else this.byKey.delete(cmd.key!);
      return;
    }
    for (let c = head; c; c = c.sameKey) {
      if (c.sameKey === cmd) {
        c.sameKey = cmd.sameKey;
        return;
      }
    }
  }

  /** Left without a completion: kept until no retry can name it any more. */
  retain(cmd: Cmd): void {
    if (cmd.key !== undefined && !cmd.retriedBy) this.retention.push(cmd);
  }

  /**
   * The original `retry` resubmits: the oldest candidate with its SLBA, opcode, NSID and NLB, from
   * another association of the same host and subsystem, sent before it.
   */
  originalOf(retry: Cmd): Cmd | undefined {
    const a = retry.q.assoc;
    for (let c = this.byKey.get(retry.key!); c; c = c.sameKey) {
      const ca = c.q.assoc;
      if (ca === a || c.retriedBy || c.opcode !== retry.opcode || c.nsid !== retry.nsid || c.nlb !== retry.nlb) continue;
      if (!sameHost(ca, a) || !sameSubsystem(ca, a)) continue;
      if (c.submit.time > retry.submit.time) continue;
      return c;
    }
    return undefined;
  }

  /** Every candidate, chain by chain. */
  *candidates(): Generator<Cmd> {
    for (const head of this.byKey.values()) for (let c: Cmd | undefined = head; c; c = c.sameKey) yield c;
  }

  /** The capture's clock moved to `now`: every ten seconds, lets go of what no retry can name any more. */
  clock(now: number): void {
    if (now < this.nextEviction) return;
    this.nextEviction = now + 10;
    const list = this.retention;
    let i = this.retentionHead;
    for (; i < list.length; i++) {
      const cmd = list[i];
      const keepFor = Math.max(RETAIN_OUTSTANDING_S, (10 * (cmd.q.assoc?.katoMs ?? 0)) / 1000);
      if (cmd.submit.time + keepFor > now) break;
      if (cmd.key !== undefined && !cmd.retriedBy && !cmd.done && this.holds(cmd)) {
        this.drop(cmd);
        this.evicted++;
      }
    }
    this.retentionHead = i;
    if (i > 1024 && i * 2 > list.length) {
      list.splice(0, i);
      this.retentionHead = 0;
    }
  }

  private holds(cmd: Cmd): boolean {
    for (let c = this.byKey.get(cmd.key!); c; c = c.sameKey) if (c === cmd) return true;
    return false;
  }
}
