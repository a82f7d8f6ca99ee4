import { CappedList } from '../common/capped-list.js';
import { maxOf } from '../common/numbers.js';
import { LatencyHistogram } from './histogram.js';
import { assocPath } from './model-helpers.js';
import { ASSOCIATION_LIST_CAP, UNASSOCIATED_LIST_CAP, type Assoc, type PathStats } from './model-types.js';
import type { AssociationSummary, QueueSummary, StreamProblem } from './types.js';

/** Stream problems (gaps, resyncs, bytes after a FIN…) listed in the report; the rest are counted. */
const STREAM_PROBLEM_CAP = 200;

/**
 * What the report lists of what the model saw, each listing capped here: of ended associations,
 * per path its aggregates, its first association, the ones listed for their findings or unanswered
 * commands (up to ASSOCIATION_LIST_CAP), and its latest, every other one only counted; connections
 * that never became a queue; stream problems. Memory is per path and per listed item, not per one seen.
 */
export class ReportListing {
  readonly paths = new Map<string, PathStats>();
  /** Connections that never became a queue (refused or abandoned attempts). */
  readonly unassociated: CappedList<QueueSummary>;
  readonly streamProblems = new CappedList<StreamProblem>(STREAM_PROBLEM_CAP);
  private readonly listedById = new Map<number, { summary: AssociationSummary; path: PathStats; counted: boolean }>();
  /** Associations listed for findings or unanswered commands, all paths together. */
  private listedTotal = 0;
  /** The latest (not otherwise listed) association of each path, by id: a late finding still counts for it. */
  private readonly latestById = new Map<number, PathStats>();

  constructor(
    private readonly all: boolean,
    private readonly summarize: (a: Assoc) => AssociationSummary,
    /** Told of an association only counted from now on: what it still holds can go. */
    private readonly forget: (a: Assoc) => void,
  ) {
    this.unassociated = new CappedList(UNASSOCIATED_LIST_CAP, all);
  }

  /** `a` has ended: folded into its path, listed, or kept as the path's latest. */
  ended(a: Assoc): void {
    const key = assocPath(a);
    let path = this.paths.get(key);
    if (!path) {
      path = {
        path: key, hostnqn: a.hostnqn ?? null, subnqn: a.subnqn ?? null, controller: a.controller, associations: 0, withFindings: 0,
        lifetimes: new LatencyHistogram(), reconnectDelays: new LatencyHistogram(), lastEnd: undefined, firstListed: undefined, latest: undefined,
        listed: [], notListed: 0,
      };
      this.paths.set(key, path);
    }
    const end = maxOf(a.queues.map((q) => q.lastTime));
    path.associations++;
    path.lifetimes.add((end - a.first.time) * 1000);
    if (path.lastEnd !== undefined) path.reconnectDelays.add(Math.max(0, (a.first.time - path.lastEnd) * 1000));
    path.lastEnd = Math.max(path.lastEnd ?? -Infinity, end);
    if (a.findings > 0) path.withFindings++;
    const pending = a.queues.some((q) => [...q.orphans.values()].some((c) => c.key !== undefined && !c.retriedBy && !c.done));
    const first = path.firstListed === undefined;
    if (!first && !this.all && !((a.findings > 0 || pending) && this.listedTotal < ASSOCIATION_LIST_CAP)) {
      // Kept as the path's latest until a newer one ends; the one it replaces is only counted. Only the last is ever summarised.
      this.replaceLatest(path);
      path.latest = a;
      this.latestById.set(a.id, path);
      return;
    }
    const summary = this.summarize(a);
    if (first) path.firstListed = summary;
    else {
      path.listed.push(summary);
      this.listedTotal++;
    }
    this.listedById.set(a.id, { summary, path, counted: a.findings > 0 });
    this.replaceLatest(path);
  }

  private replaceLatest(path: PathStats): void {
    if (!path.latest) return;
    path.notListed++;
    this.latestById.delete(path.latest.id);
    this.forget(path.latest);
    path.latest = undefined;
  }

  /** A finding names ended association `id`: counted once for its path. */
  noteFinding(id: number): void {
    const listed = this.listedById.get(id);
    if (listed && !listed.counted) {
      listed.counted = true;
      listed.path.withFindings++;
    }
    const latest = this.latestById.get(id);
    if (latest?.latest?.id === id && latest.latest.findings++ === 0) latest.withFindings++;
  }

  /** Every listed association in id order: each path's first, those listed, its latest. */
  summaries(): AssociationSummary[] {
    const out: AssociationSummary[] = [];
    for (const p of this.paths.values()) {
      if (p.firstListed) out.push(p.firstListed);
      for (const s of p.listed) out.push(s);
      if (p.latest) out.push(this.summarize(p.latest));
    }
    return out.sort((x, y) => x.id - y.id);
  }
}
