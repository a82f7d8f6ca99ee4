import { LatencyHistogram } from '../histogram.js';
import { assocPath, round3, type Assoc, type Cmd, type Queue } from '../model.js';
import { firstTeardown, type RecoveryEpisode, type RecoveryReport, type RetryRuleId, type Stamp, type TcpEvent } from '../types.js';
import { classifyRetry, keepAliveTimedOut } from './retries.js';
import type { RuleContext, RuleFamily } from './rule.js';
import { minOf } from '../../common/numbers.js';

/** Episodes listed one by one: the first few, those with a retry before KATO (up to the cap), the last. */
const FIRST_LISTED = 10;
const EARLY_RETRY_LISTED = 40;
/** Ended associations remembered per path, in case one ended before the one it took over from. */
const STARTS_KEPT = 16;
/** Connection attempts remembered per controller address while an episode may still count them. */
const ATTEMPTS_KEPT = 4096;

interface PathEpisodes {
  episodes: number;
  restored: LatencyHistogram;
  triggers: Record<string, number>;
  attempts: RecoveryEpisode['attempts'];
  retries: RecoveryEpisode['retries'];
  /** Recently ended associations of the path, oldest first: one may have taken over from one that ends later. */
  starts: Assoc[];
  /** Ended associations whose successor is not complete yet (at most a few: the next end on the path settles them). */
  pending: Assoc[];
  last: RecoveryEpisode | undefined;
}

interface Attempt {
  conn: number;
  time: number;
  answered: boolean;
  refused: boolean;
}

const RETRY_KEY: Record<RetryRuleId, keyof RecoveryEpisode['retries']> = {
  'retry-before-kato': 'beforeKato', 'retry-after-kato': 'afterKato', 'retry-after-fence': 'afterFence',
};

/**
 * Recovery episodes: each break in service on a path as one story, built when
 * the old association has ended. Memory is per path and bounded: recent
 * associations and connection attempts, and the listed episodes.
 */
export const episodes: RuleFamily = {
  name: 'episodes',
  create(ctx) {
    const book = new EpisodeBook(ctx);
    return {
      retry: (original, retry) => book.retried(original, retry),
      tcpFlag: (q, e) => book.flag(q, e),
      associationEnded: (a) => book.ended(a),
      captureEnded: () => void (ctx.output.recovery = book.report()),
    };
  },
};

/** The episodes of every path, as their associations end. */
class EpisodeBook {
  private readonly paths = new Map<string, PathEpisodes>();
  private readonly listed: RecoveryEpisode[] = [];
  private early = 0;
  private notListed = 0;
  /** Retries by the association of their original, until its episode is built. */
  private readonly retriesOf = new Map<number, RecoveryEpisode['retries']>();
  /** Connections the host opened, per host and controller address, as small records (not the queues: they would keep whole associations alive). */
  private readonly attempts = new Map<string, Attempt[]>();
  private readonly byConn = new Map<number, Attempt>();

  constructor(private readonly ctx: RuleContext) {}

  retried(original: Cmd, retry: Cmd): void {
    const id = original.q.assoc.id;
    const r = this.retriesOf.get(id) ?? { beforeKato: 0, afterKato: 0, afterFence: 0 };
    r[RETRY_KEY[classifyRetry(this.ctx.policy, original, retry).ruleId]]++;
    this.retriesOf.set(id, r);
  }

  /** Every connection the host opens may be a reconnect attempt: the controller's answer decides. */
  flag(q: Queue, e: TcpEvent): void {
    if (e.from === 'controller') {
      const t = this.byConn.get(e.conn);
      if (t && e.kind === 'syn') t.answered = true;
      if (t && e.kind === 'rst' && !t.answered) t.refused = true;
      return;
    }
    if (e.kind !== 'syn') return;
    const key = attemptKey(q);
    const list = this.attempts.get(key) ?? [];
    const t: Attempt = { conn: e.conn, time: e.time, answered: false, refused: false };
    list.push(t);
    this.byConn.set(e.conn, t);
    if (list.length > ATTEMPTS_KEPT) this.byConn.delete(list.shift()!.conn);
    this.attempts.set(key, list);
  }

  ended(a: Assoc): void {
    const key = assocPath(a);
    const p = this.pathState(key);
    p.starts.push(a);
    if (p.starts.length > STARTS_KEPT) p.starts.shift();
    // The ends this one may have taken over from are judged now that it is complete; it waits for its own successor.
    this.settlePending(p, key, false);
    p.pending.push(a);
  }

  report(): RecoveryReport {
    for (const [key, p] of this.paths) this.settlePending(p, key, true);
    const all = [...this.listed, ...[...this.paths.values()].flatMap((p) => (p.last ? [p.last] : []))].sort((x, y) => x.endedAssoc - y.endedAssoc);
    return {
      episodes: all, episodesNotListed: this.notListed,
      byPath: [...this.paths].filter(([, p]) => p.episodes > 0).map(([path, p]) => ({
        path, episodes: p.episodes,
        restoredAfterMs: p.restored.count ? { min: round3(p.restored.min), p50: round3(p.restored.quantile(0.5)!), max: round3(p.restored.max) } : { min: null, p50: null, max: null },
        triggers: p.triggers, attempts: p.attempts, retries: p.retries,
      })),
    };
  }

  private pathState(key: string): PathEpisodes {
    let p = this.paths.get(key);
    if (!p) {
      p = { episodes: 0, restored: new LatencyHistogram(), triggers: {}, attempts: { unanswered: 0, refused: 0 }, retries: { beforeKato: 0, afterKato: 0, afterFence: 0 }, starts: [], pending: [], last: undefined };
      this.paths.set(key, p);
    }
    return p;
  }

  /** The association that took over from `a`: the path's next one (recently ended or still open) that started after the break. */
  private successor(a: Assoc, key: string, brokeAt: number): Assoc | undefined {
    let next: Assoc | undefined;
    for (const list of [this.pathState(key).starts, this.ctx.model.liveOnPath(key)]) {
      for (const s of list) if (s.id > a.id && s.first.time >= brokeAt && (!next || s.id < next.id)) next = s;
    }
    return next;
  }

  /** Builds the episodes of the path's ended associations whose successor is complete (or, at the end, whatever is known). */
  private settlePending(state: PathEpisodes, key: string, final: boolean): void {
    while (state.pending.length > 0) {
      const a = state.pending[0];
      const down = firstTeardown(a.queues);
      const brokeAt = down?.time ?? a.lastCtrl?.time ?? a.first.time;
      const next = this.successor(a, key, brokeAt);
      if (!final && !next?.ended) return;
      state.pending.shift();
      this.episodeOf(a, state, key, down, brokeAt, next);
    }
  }

  /** Refused and unanswered connection attempts between the break and the take-over (attempts before it count for no later break). */
  private failedAttempts(a: Assoc, brokeAt: number, until: number): RecoveryEpisode['attempts'] {
    const counted = { unanswered: 0, refused: 0 };
    const tried = this.attempts.get(attemptKeyOf(a)) ?? [];
    for (const t of tried) {
      // An answered SYN may have become a queue: only refused and unanswered ones are failed attempts.
      if (t.time < brokeAt || t.time >= until || (t.answered && !t.refused)) continue;
      counted[t.refused ? 'refused' : 'unanswered']++;
    }
    while (tried.length && tried[0].time < brokeAt) this.byConn.delete(tried.shift()!.conn);
    return counted;
  }

  private episodeOf(a: Assoc, state: PathEpisodes, key: string, down: TcpEvent | undefined, brokeAt: number, next: Assoc | undefined): void {
    // Still open when the capture ended (no FIN or RST, nothing took over): not a break in service.
    if (!down && !next) {
      this.retriesOf.delete(a.id);
      return;
    }
    const ready = next ? next.ioConnected ?? next.connected : undefined;
    const counted = this.failedAttempts(a, brokeAt, next?.first.time ?? Infinity);
    const retries = this.retriesOf.get(a.id) ?? { beforeKato: 0, afterKato: 0, afterFence: 0 };
    this.retriesOf.delete(a.id);
    // What the host could have seen: completions that reach a queue it had closed restored nothing.
    const contact: Stamp | null = a.lastCtrlSeen ? { frame: a.lastCtrlSeen.frame, time: a.lastCtrlSeen.time } : null;
    const episode: RecoveryEpisode = {
      path: key, endedAssoc: a.id, tookOver: next?.id ?? null, lastControllerContact: contact, trigger: triggerOf(a),
      teardown: down ? { frame: down.frame, time: down.time, from: down.from, kind: down.kind as 'fin' | 'rst' } : null,
      attempts: counted, restored: ready ? { ...ready } : null,
      // A take-over whose Connect came before the old one's last contact was no break: zero, never negative.
      restoredAfterMs: ready && contact ? round3(Math.max(0, ready.time - contact.time) * 1000) : null, retries,
    };
    state.episodes++;
    state.triggers[episode.trigger] = (state.triggers[episode.trigger] ?? 0) + 1;
    for (const k of ['unanswered', 'refused'] as const) state.attempts[k] += counted[k];
    for (const k of ['beforeKato', 'afterKato', 'afterFence'] as const) state.retries[k] += retries[k];
    if (episode.restoredAfterMs !== null) state.restored.add(episode.restoredAfterMs);
    if (state.episodes <= FIRST_LISTED || (retries.beforeKato > 0 && this.early++ < EARLY_RETRY_LISTED)) this.listed.push(episode);
    else {
      if (state.last) this.notListed++;
      state.last = episode;
    }
  }
}

/** What the capture says ended the association. */
function triggerOf(a: Assoc): string {
  if (a.termReq) return 'TermReq';
  const ctrlFirst = a.queues.some((q) => q.ctrlClosed && (!q.hostClosed || q.ctrlClosed.time <= q.hostClosed.time));
  if (ctrlFirst) return 'controller close';
  const teardown = a.hostTeardown?.time ?? minOf(a.queues.map((q) => q.hostClosed?.time ?? Infinity));
  if (keepAliveTimedOut(a, teardown)) return 'keep-alive timeout';
  const unanswered = a.queues.some((q) => [...q.orphans.values()].some((c) => !c.done && !c.admin));
  if (unanswered) return 'I/O timeout';
  if (a.fences.length > 0) return 'controller disabled or shut down (CC)';
  return 'host disconnect';
}

function attemptKey(q: Queue): string {
  return `${q.nvme.tcp.endpoints[q.nvme.hostSide ?? 0].address} ${q.controller}`;
}

function attemptKeyOf(a: Assoc): string {
  return `${a.hostAddress} ${a.controller}`;
}
