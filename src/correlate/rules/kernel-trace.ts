import { msOf } from '../../common/numbers.js';
import { hex } from '../../common/text.js';
import { detached, isFailoverStatus, sameCid } from '../../kernel-trace/parse.js';
import type { KernelTrace, TraceBlock, TraceCompletion, TraceCounts, TraceEvent, TraceSetup } from '../../kernel-trace/types.js';
import { FABRICS_OPCODE, isDataChanging, statusName } from '../../nvme-tcp/opcodes.js';
import { DUPLICATE_EXECUTION, duplicateExecutionSentence, type DuplicateExecutionDetails } from '../findings/duplicate-execution.js';
import { EVIDENCE as E } from '../phrases.js';
import type { Assoc } from '../model.js';
import { round6 } from '../kernel-align.js';
import { alignTrace, submissionKey, SubmissionSample } from '../trace-align.js';
import {
  isRetryFinding, type FindingOf, type KernelTraceAlignment, type KernelTraceReport, type RetryFinding,
  type RetryTraceEvidence, type TargetTraced, type TraceLineRef, type TracedCommand,
} from '../types.js';
import { deriveFromEvidence } from './retries.js';
import type { RuleContext, RuleFamily } from './rule.js';

/** How long before a command reached the wire the kernel may have set it up (queued behind others, under load). */
const SETUP_BEFORE_S = 1;
/** How long before its timeout line a command may have been set up: any I/O timeout a host is configured with. */
const TIMEOUT_BEFORE_S = 3600;

/** One command a finding names, as the trace is searched for it: its queue, CID and range, and what the trace showed. */
interface Watched {
  assoc: number;
  cntlid: number | undefined;
  qid: number;
  cid: number;
  slba: number | undefined;
  /** NLB, 0-based as the trace prints it (`len=`). */
  len: number | undefined;
  /** When the capture saw it leave; undefined when only an upper bound is known. */
  sentAt: number | undefined;
  /** The setup must precede this (capture time), by at most `lookback` seconds: the last such one is the command's. */
  until: number;
  lookback: number;
  host: { setup?: TraceSetup; setupAt?: number; request?: TraceBlock; awaitIssue: boolean; completion?: TraceCompletion; completionAt?: number };
  target: { init?: TraceSetup; initAt?: number; complete?: TraceCompletion; completeAt?: number };
}

/** A retry finding and the two commands it names. */
interface Track {
  finding: RetryFinding;
  original: Watched;
  retry: Watched;
  requeue?: { e: TraceBlock; at: number; count: number };
  contradiction?: { e: TraceEvent; at: number };
}

/**
 * What the kernel's own trace (--trace) says: the host setting each command up and completing it,
 * the block request requeued and sent again (the tie between a retry and its original), and the
 * target receiving and completing it. Adds to the retry, timeout and duplicate-execution findings.
 */
export const kernelTrace: RuleFamily = {
  name: 'kernel-trace',
  create(ctx) {
    if (ctx.kernelTraces.length === 0) return {};
    const sample = new SubmissionSample();
    const cntlids = new Map<number, number | undefined>();
    return {
      commandSubmitted(cmd) {
        if (cmd.q.qid === undefined) return;
        const kind = cmd.opcode === FABRICS_OPCODE ? 'fabrics' : cmd.admin ? 'admin' : 'io';
        const opcode = kind === 'fabrics' ? cmd.fctype ?? -1 : cmd.opcode;
        sample.add({ key: submissionKey(cmd.q.qid, cmd.cid, kind, opcode), frame: cmd.submit.frame, time: cmd.submit.time }, kind === 'fabrics' && opcode === 0x01);
      },
      associationEnded(a: Assoc) {
        cntlids.set(a.id, a.cntlid);
      },
      captureEnded() {
        const bySample = sample.byKey();
        const placed = ctx.kernelTraces.map((t) => alignTrace(t, bySample));
        ctx.output.kernelTrace = conclude(ctx, placed, cntlids);
      },
    };
  },
};

function conclude(ctx: RuleContext, placed: { alignment: KernelTraceAlignment; counts: TraceCounts }[], cntlids: Map<number, number | undefined>): KernelTraceReport {
  const alignment = placed.map((p) => p.alignment);
  compareWithLog(ctx, alignment);
  // The scan decodes every kind the alignment pass skipped: its counts are the complete ones.
  const read = placed.map((p) => p.counts);
  const warnings: string[] = [];
  const findings = ctx.findings.stored();
  const tracks = findings.filter(isRetryFinding).map((f) => trackOf(f, cntlids));
  const timeouts = findings.filter((f): f is FindingOf<'timeout-during-recovery'> => f.ruleId === 'timeout-during-recovery').map((f) => ({ f, w: timeoutWatch(f) }));
  const targetCovered = new Set<number>();
  let matched = 0;
  for (const trace of ctx.kernelTraces) {
    const a = alignment[trace.source];
    const c = read[trace.source];
    if (c.decoded === 0) warnings.push(`${trace.file}: no nvme, nvmet or block event in ${c.events} event lines: nothing to match`);
    if (a.method === 'none' || a.offsetS === null) {
      warnings.push(`${trace.file}: ${a.message}`);
      continue;
    }
    // No finding for the trace to speak to: the alignment pass was all it needed.
    if (tracks.length === 0 && timeouts.length === 0) continue;
    const tolerance = (a.residualMs ?? 0) / 1000 + 0.002;
    const scanned = scan(trace, a.offsetS, tolerance, tracks, timeouts.map((t) => t.w), targetCovered);
    matched += scanned.matched;
    read[trace.source] = scanned.counts;
  }
  if (matched === 0 && alignment.some((a) => a.method === 'anchors')) warnings.push('the traces place on the capture, but no line names a command a finding is about');
  const ref = refMaker(ctx);
  const counts = { traced: 0, requeued: 0, failedOver: 0, differentRequest: 0, unknown: 0 };
  let executedTwice = 0;
  for (const t of tracks) {
    const evidence = evidenceOf(t, ref, targetCovered);
    if (!evidence) continue;
    counts.traced++;
    if (evidence.tie === 'requeued') counts.requeued++;
    else if (evidence.tie === 'failed-over') counts.failedOver++;
    else if (evidence.tie === 'different-request') counts.differentRequest++;
    else counts.unknown++;
    t.finding.details.kernelTrace = evidence;
    addSteps(t.finding, evidence);
    deriveFromEvidence(t.finding);
    if (ranTwice(ctx, t, evidence)) executedTwice++;
  }
  for (const { f, w } of timeouts) {
    const c = w.host.completion;
    if (c) f.details.failedBack = { ...ref(c, w.host.completionAt!), status: c.status, statusName: traceStatus(c.status) };
  }
  return {
    sources: ctx.kernelTraces.map((t) => ({ file: t.file, format: t.format, ...read[t.source] })),
    alignment, retries: counts, executedTwice, warnings,
  };
}

/** The --dmesg offset (placed by anchors on the uptime clock) as a check of each trace's: how far apart they are. */
function compareWithLog(ctx: RuleContext, alignment: KernelTraceAlignment[]): void {
  const log = ctx.output.kernelLog?.alignment.find((a) => a.method === 'anchors' && a.offsetS !== null);
  if (!log) return;
  for (const a of alignment) {
    if (a.offsetS === null) continue;
    const ms = msOf(a.offsetS - log.offsetS!);
    a.dmesgDifferenceMs = ms;
    a.message += Math.abs(ms) <= Math.max(2, log.residualMs ?? 0) + (a.residualMs ?? 0)
      ? `; within ${Math.abs(ms)} ms of the kernel log's offset (the trace clock reads as dmesg's: global)`
      : `; ${ms} ms from the kernel log's offset (the trace clock is not dmesg's: local, say)`;
  }
}

function watch(assoc: number, cntlid: number | undefined, qid: number, cid: number, slba: number | null, nlb: number | null, sentAt: number | undefined, until: number): Watched {
  const lookback = sentAt === undefined ? TIMEOUT_BEFORE_S : SETUP_BEFORE_S;
  return { assoc, cntlid, qid, cid, slba: slba ?? undefined, len: nlb === null ? undefined : nlb - 1, sentAt, until, lookback, host: { awaitIssue: false }, target: {} };
}

function trackOf(f: RetryFinding, cntlids: Map<number, number | undefined>): Track {
  const d = f.details;
  return {
    finding: f,
    original: watch(d.originalAssoc, cntlids.get(d.originalAssoc), d.originalQid ?? -1, d.originalCid, d.slba, d.nlb, d.originalTime, d.originalTime),
    retry: watch(f.assoc ?? -1, cntlids.get(f.assoc ?? -1), f.qid ?? -1, f.cid ?? -1, d.slba, d.nlb, f.time, f.time),
  };
}

/** A command that timed out during recovery: set up before its timeout line, failed back by the host after it. */
function timeoutWatch(f: FindingOf<'timeout-during-recovery'>): Watched {
  const d = f.details;
  return watch(f.assoc ?? -1, undefined, d.qid, d.cid, null, null, undefined, d.timeout.time);
}

/** Every kind the scan reads (the async event and unknown tracepoints are only counted). */
const SCANNED: TraceEvent['kind'][] = [
  'nvme_setup_cmd', 'nvmet_req_init', 'nvme_complete_rq', 'nvmet_req_complete', 'block_rq_insert', 'block_rq_issue', 'block_rq_requeue', 'block_rq_complete',
];
const tagKey = (qid: number, cid: number) => qid * 0x1000 + (cid & 0xfff);
const requestKey = (r: TraceBlock) => `${r.dev}:${r.sector}:${r.sectors}`;

/**
 * One pass over a trace: events kept are detached from the text read (see `detached`); each is looked up by its queue and tag (setups, completions) or its
 * block request (requeues), never compared with every watched command. Returns the lines matched.
 */
function scan(trace: KernelTrace, offsetS: number, tolerance: number, tracks: Track[], extra: Watched[], targetCovered: Set<number>): { matched: number; counts: TraceCounts } {
  const byTag = new Map<number, Watched[]>();
  const index = (w: Watched) => {
    const k = tagKey(w.qid, w.cid);
    const list = byTag.get(k);
    if (list) list.push(w);
    else byTag.set(k, [w]);
  };
  for (const t of tracks) index(t.original), index(t.retry);
  for (const w of extra) index(w);
  const byRequest = new Map<string, Track[]>();
  const awaiting = new Map<number, Watched>();
  let matched = 0;
  const counts = trace.replay((e) => {
    const at = e.time + offsetS;
    if (e.kind === 'nvmet_req_init' || e.kind === 'nvmet_req_complete') {
      if (e.ctrl !== undefined) targetCovered.add(e.ctrl);
    }
    if (e.kind === 'block_rq_issue') {
      const w = awaiting.get(e.pid);
      awaiting.delete(e.pid);
      if (w?.host.awaitIssue) {
        w.host.request = detached(e);
        w.host.awaitIssue = false;
        for (const t of tracks) if (t.original === w) addTo(byRequest, requestKey(e), t);
      }
      return;
    }
    if (e.kind === 'block_rq_requeue' || e.kind === 'block_rq_insert' || e.kind === 'block_rq_complete') {
      for (const t of byRequest.get(requestKey(e)) ?? []) matched += blockStep(t, e, at);
      return;
    }
    if (e.kind === 'nvme_setup_cmd' || e.kind === 'nvmet_req_init') {
      for (const w of byTag.get(tagKey(e.cmd.connectQid ?? e.qid, e.cmdid)) ?? []) if (sameCid(w.cid, e.cmdid)) matched += setupStep(w, e, at, tolerance, awaiting);
    } else if (e.kind === 'nvme_complete_rq' || e.kind === 'nvmet_req_complete') {
      for (const w of byTag.get(tagKey(e.qid, e.cmdid)) ?? []) if (sameCid(w.cid, e.cmdid)) matched += completionStep(w, e, at);
    }
  }, SCANNED);
  return { matched, counts };
}

function addTo(map: Map<string, Track[]>, key: string, t: Track): void {
  const list = map.get(key);
  if (list) list.push(t);
  else map.set(key, [t]);
}

const fits = (w: Watched, e: TraceSetup) => (w.slba === undefined || e.cmd.slba === undefined || e.cmd.slba === w.slba) && (w.len === undefined || e.cmd.len === undefined || e.cmd.len === w.len);

/** The host's last setup before the command left; the target's first arrival after it. */
function setupStep(w: Watched, e: TraceSetup, at: number, tolerance: number, awaiting: Map<number, Watched>): number {
  if (!fits(w, e)) return 0;
  if (e.kind === 'nvme_setup_cmd') {
    if (at > w.until + tolerance || at < w.until - w.lookback) return 0;
    // A later setup of the same CID before the send is the one that was sent: what followed the earlier one is dropped.
    w.host = { setup: detached(e), setupAt: at, awaitIssue: true };
    awaiting.set(e.pid, w);
    return 1;
  }
  if (w.sentAt === undefined || w.target.init || e.ctrl === undefined || (w.cntlid !== undefined && e.ctrl !== w.cntlid) || at < w.sentAt - tolerance) return 0;
  w.target.init = detached(e);
  w.target.initAt = at;
  return 1;
}

function completionStep(w: Watched, e: TraceCompletion, at: number): number {
  if (e.kind === 'nvme_complete_rq') {
    const s = w.host.setup;
    if (!s || w.host.completion || e.line < s.line || e.ctrl !== s.ctrl) return 0;
    w.host.completion = detached(e);
    w.host.completionAt = at;
    return 1;
  }
  const init = w.target.init;
  if (!init || w.target.complete || e.line < init.line || e.ctrl !== init.ctrl) return 0;
  w.target.complete = detached(e);
  w.target.completeAt = at;
  return 1;
}

/** The original's block request after the host completed it, until the retry was set up: requeued, ended, or replaced by a new one. */
function blockStep(t: Track, e: TraceBlock, at: number): number {
  const done = t.original.host.completion;
  const retrySetup = t.retry.host.setup;
  if (!done || e.line < done.line || (retrySetup && e.line > retrySetup.line)) return 0;
  if (e.kind === 'block_rq_requeue') {
    if (t.requeue) t.requeue.count++;
    else t.requeue = { e: detached(e), at, count: 1 };
    return 1;
  }
  // A new request for the range, or the old one ended with an error: whatever comes next is not the original sent again.
  if ((e.kind === 'block_rq_insert' || (e.kind === 'block_rq_complete' && (e.error ?? 0) !== 0)) && !t.contradiction) {
    t.contradiction = { e: detached(e), at };
    return 1;
  }
  return 0;
}

type RefMaker = (e: TraceEvent, at: number) => TraceLineRef;

function refMaker(ctx: RuleContext): RefMaker {
  return (e, at) => ({ source: e.source, line: e.line, time: round6(at), afterFrame: ctx.model.frames?.frameBefore(at) ?? null, text: e.text });
}

function traceStatus(status: number): string {
  return status === 0 ? 'success' : statusName((status >> 8) & 0x7, status & 0xff);
}

function traced(w: Watched, ref: RefMaker): TracedCommand {
  const h = w.host;
  const r = h.request;
  return {
    setup: h.setup ? ref(h.setup, h.setupAt!) : null,
    wireDelayMs: h.setup && w.sentAt !== undefined ? msOf(w.sentAt - h.setupAt!) : null,
    request: r ? { dev: r.dev, sector: r.sector, sectors: r.sectors } : null,
    completion: h.completion ? { ...ref(h.completion, h.completionAt!), status: h.completion.status, statusName: traceStatus(h.completion.status), retries: h.completion.retries ?? null } : null,
  };
}

function targetTraced(w: Watched, ref: RefMaker): TargetTraced {
  const t = w.target;
  return {
    received: t.init ? ref(t.init, t.initAt!) : null,
    completed: t.complete ? { ...ref(t.complete, t.completeAt!), status: t.complete.status } : null,
  };
}

/** How the kernel ties the retry to its original, from what the host's trace showed. */
function tieOf(t: Track): RetryTraceEvidence['tie'] {
  const o = t.original.host;
  const r = t.retry.host;
  if (!o.setup || !r.setup) return 'unknown';
  if (o.completion && !isFailoverStatus(o.completion.status)) return 'different-request';
  if (t.contradiction) return 'different-request';
  if (o.request && r.request && (o.request.sector !== r.request.sector || o.request.sectors !== r.request.sectors)) return 'different-request';
  if (t.requeue) return 'requeued';
  return o.completion ? 'failed-over' : 'unknown';
}

function evidenceOf(t: Track, ref: RefMaker, targetCovered: Set<number>): RetryTraceEvidence | undefined {
  const seen = [t.original, t.retry].some((w) => w.host.setup || w.target.init);
  if (!seen) return undefined;
  const tie = tieOf(t);
  const o = t.original;
  let contradiction = t.contradiction ? ref(t.contradiction.e, t.contradiction.at) : null;
  if (!contradiction && tie === 'different-request') {
    contradiction = o.host.completion && !isFailoverStatus(o.host.completion.status) ? ref(o.host.completion, o.host.completionAt!) : t.retry.host.request ? ref(t.retry.host.request, t.retry.host.setupAt!) : null;
  }
  // Only a trace that shows the original's controller can say what it did (or that nothing arrived).
  const covered = (w: Watched) => w.cntlid !== undefined && targetCovered.has(w.cntlid);
  return {
    tie, original: traced(o, ref), retry: traced(t.retry, ref),
    requeue: t.requeue ? { ...ref(t.requeue.e, t.requeue.at), count: t.requeue.count } : null, contradiction,
    target: covered(o) || covered(t.retry) ? { original: targetTraced(o, ref), retry: targetTraced(t.retry, ref) } : null,
  };
}

function addSteps(f: RetryFinding, k: RetryTraceEvidence): void {
  const step = (r: TraceLineRef | null, what: string) => {
    if (r) f.details.evidence.push({ step: 'kernel-trace', frame: r.afterFrame, time: r.time, what: E.trace(what, r.line) });
  };
  const o = k.original;
  step(o.setup, `the host sets the original up (nvme_setup_cmd CID ${hex(f.details.originalCid)})${o.wireDelayMs !== null ? `, ${o.wireDelayMs} ms before it left` : ''}`);
  if (o.completion) step(o.completion, `the host completes the original: status ${hex(o.completion.status)} (${o.completion.statusName}), retries ${o.completion.retries ?? '?'}`);
  if (k.requeue) step(k.requeue, `block_rq_requeue: the same block request goes back to the queue (${k.requeue.count} requeue${k.requeue.count === 1 ? '' : 's'} until the retry)`);
  if (k.contradiction) step(k.contradiction, 'the original\'s block request ends or a new one for its range is queued: the retry is a different request');
  const how = k.tie === 'requeued' || k.tie === 'failed-over' ? 'the same request' : k.tie === 'different-request' ? 'a different request' : 'a request';
  step(k.retry.setup, `the host sets up ${how} again as CID ${hex(f.cid ?? 0)} on queue ${f.qid ?? '?'}`);
  if (k.target) {
    step(k.target.original.received, 'the target receives the original (nvmet_req_init)');
    if (k.target.original.completed) step(k.target.original.completed, `the target completes the original: status ${hex(k.target.original.completed.status)}`);
    step(k.target.retry.received, 'the target receives the retry (nvmet_req_init)');
    if (k.target.retry.completed) step(k.target.retry.completed, `the target completes the retry: status ${hex(k.target.retry.completed.status)}`);
  }
}

/** A data-changing retry whose original the target's own trace shows completed too: it ran twice, whatever the host saw. */
function ranTwice(ctx: RuleContext, t: Track, k: RetryTraceEvidence): boolean {
  const done = k.target?.original.completed;
  const retried = k.target?.retry.completed ?? null;
  const init = t.original.target.init;
  if (!done || done.status !== 0 || !init?.cmd.opcode || init.cmd.kind !== 'io' || !isDataChanging(init.cmd.opcode, false)) return false;
  const d = t.finding.details;
  const lineOf = ({ source, line, time, afterFrame, text }: TraceLineRef): TraceLineRef => ({ source, line, time, afterFrame, text });
  const targetTrace = { original: lineOf(done), retry: retried && lineOf(retried) };
  const existing = ctx.findings.stored().find((f): f is FindingOf<'duplicate-execution'> => f.ruleId === 'duplicate-execution' && f.details.originalFrame === d.originalFrame);
  if (existing) {
    existing.details.targetTrace = targetTrace;
    existing.message = duplicateExecutionSentence(existing.details);
    return true;
  }
  const details: DuplicateExecutionDetails = {
    originalFrame: d.originalFrame, originalTime: d.originalTime, retryFrame: d.retryFrame, originalAssoc: d.originalAssoc, retryAssoc: d.retryAssoc,
    originalQid: d.originalQid, originalCid: d.originalCid, opcode: d.opcode, nsid: d.nsid, slba: d.slba, nlb: d.nlb,
    lateCompletionFrame: null, lateCompletionTime: null, hostClosedFrame: null, targetTrace,
  };
  const place = { frames: [d.originalFrame, d.retryFrame], time: Math.max(done.time, retried?.time ?? 0), assoc: d.originalAssoc, qid: d.originalQid, cid: d.originalCid };
  // ranTwice only says so of a data-changing command.
  ctx.findings.add(DUPLICATE_EXECUTION, place, details, { dataChanging: true });
  return true;
}
