import type { PduEvent } from '../../nvme-tcp/types.js';
import { frameFilter } from '../finding-collector.js';
import { DUPLICATE_EXECUTION } from '../findings/duplicate-execution.js';
import { ORIGINAL_ALIVE_AFTER_RETRY } from '../findings/original-alive-after-retry.js';
import { RETRY_RULE_OF, retrySentence } from '../findings/retry.js';
import { STALE_DATA_AFTER_RETRY } from '../findings/stale-data-after-retry.js';
import { commandLabel, EVIDENCE as E } from '../phrases.js';
import { pathOf, round3, watchedAt, type Assoc, type Cmd, type Queue } from '../model.js';
import {
  firstTeardown, isLineStep, type AfterRetryActivity, type CrossControllerReset, type EvidenceStep, type FenceKind, type RetryDetails, type RetryFinding, type RetryRule,
  type RetryRuleId, type Stamp, type TcpEvent,
} from '../types.js';
import type { RuleContext, RuleFamily } from './rule.js';

/** After-retry activity kept per original: enough to prove it alive, bounded for a controller that keeps sending. */
const ACTIVITY_CAP = 20;

/** A retried original, watched until the end for what its old controller still does with it. */
interface Watch {
  original: Cmd;
  retry: Cmd;
  finding: RetryFinding | undefined;
  activity: AfterRetryActivity[];
  staleReported: boolean;
}

/**
 * retry-before-kato, retry-after-kato, retry-after-fence — the verdict on each
 * retry the model matched; duplicate-execution, stale-data-after-retry and
 * original-alive-after-retry — what the old controller did with the original.
 */
export const retries: RuleFamily = {
  name: 'retries',
  create(ctx) {
    const watches = new Map<Cmd, Watch>();
    /** Retried originals a target-side capture shows executed: judged at the end, when the retry's completion is known too. */
    const executed: Watch[] = [];
    const watchEnded = (w: Watch) => {
      reportWatched(ctx, w);
      if (!w.original.late && w.original.peer?.arrived && w.original.peer.completed) executed.push(w);
    };
    const activity = (original: Cmd, p: PduEvent, kind: AfterRetryActivity['kind']) => {
      if (!original.retriedBy) return;
      const w = watches.get(original);
      if (!w || p.time < w.retry.submit.time || w.activity.length >= ACTIVITY_CAP) return;
      w.activity.push({ kind, frame: p.frame, time: p.time, afterRetryMs: round3((p.time - w.retry.submit.time) * 1000) });
    };
    return {
      retry(original, retry, p) {
        const finding = verdict(ctx, original, retry, p);
        const w = { original, retry, finding, activity: [], staleReported: false };
        if (original.late) duplicateExecution(ctx, original, retry);
        // An original whose queue has ended can do nothing more: report it now, keep nothing.
        if (original.q.ended) watchEnded(w);
        else watches.set(original, w);
      },
      commandData(cmd, p) {
        if (!cmd.retriedBy) return;
        const w = watches.get(cmd);
        if (!w) return;
        if (p.typeName === 'H2CData') {
          if (p.data && !w.staleReported && p.time >= w.retry.submit.time) {
            w.staleReported = true;
            staleData(ctx, cmd, w.retry, p, p.data);
          }
        } else activity(cmd, p, p.typeName === 'R2T' ? 'r2t' : 'c2h-data');
      },
      commandCompleted(cmd, p) {
        activity(cmd, p, 'completion');
      },
      lateCompletion(cmd, p) {
        if (!cmd.retriedBy) return;
        activity(cmd, p, 'completion');
        const w = watches.get(cmd);
        if (w) duplicateExecution(ctx, cmd, w.retry);
      },
      queueEnded(q) {
        // Nothing more can happen to an original whose queue has ended: report what it found, let it go.
        for (const [original, w] of watches) {
          if (original.q !== q) continue;
          watchEnded(w);
          watches.delete(original);
        }
      },
      captureEnded() {
        for (const w of watches.values()) watchEnded(w);
        watches.clear();
        for (const w of executed) executedAtTarget(ctx, w.original, w.retry);
      },
    };
  },
};

/** What watching an original found: its retry's evidence chain, and what the old controller still did with it. */
function reportWatched(ctx: RuleContext, w: Watch): void {
  if (w.finding) writeEvidence(w.finding, w);
  if (w.activity.length > 0) originalAlive(ctx, w);
}

/** The verdict on a retry: fenced first, before the safe time, or after it. One place for it. */
export function classifyRetry(policy: RetryRule, original: Cmd, retry: Cmd) {
  const oa = original.q.assoc;
  const contact = oa.lastCtrl ? { frame: oa.lastCtrl.frame, time: oa.lastCtrl.time } : undefined;
  const requiredMs = requiredWaitMs(policy, oa);
  const gapMs = contact ? (retry.submit.time - contact.time) * 1000 : null;
  const fence = fenceFor(original, retry.submit.time);
  const early = gapMs === null || gapMs < requiredMs;
  const ruleId: RetryRuleId = fence ? 'retry-after-fence' : early ? 'retry-before-kato' : 'retry-after-kato';
  return { ruleId, contact, requiredMs, gapMs, fence };
}

function verdict(ctx: RuleContext, original: Cmd, retry: Cmd, p: PduEvent): RetryFinding | undefined {
  const a = retry.q.assoc;
  const oa = original.q.assoc;
  const { ruleId, contact, requiredMs, gapMs, fence } = classifyRetry(ctx.policy, original, retry);
  const details: RetryDetails = {
    ...identity(ctx, original, retry),
    lastControllerContactFrame: contact?.frame ?? null, lastControllerContactTime: contact?.time ?? null,
    gapMs: gapMs === null ? null : round3(gapMs), requiredMs, rule: ctx.policy, katoMs: oa.katoMs, katoSource: oa.katoSource,
    cqtMs: oa.cqtMs, cqtSource: oa.cqtSource, tbkas: oa.tbkas, fencedBy: fence ?? null,
    crossControllerReset: lastReset(oa, original.submit.time, retry.submit.time), trigger: trigger(original, retry),
    samePath: pathOf(oa) === pathOf(a), uncertain: original.gapWhileOpen || original.q.gaps > 0,
    retryAssocKatoMs: a.katoSource === 'connect' ? a.katoMs : null,
    arrival: null, capsuleArrival: null, teardown: null, afterRetry: [], evidence: [],
  };
  // Read now, in time order: what the target capture showed reaching the old controller before the retry.
  const heard = oa.tbkas ? oa.peerLastCommand : oa.peerLastKeepAlive ?? oa.peerLastCommand;
  if (heard) {
    const since = (retry.submit.time - heard.time) * 1000;
    details.controllerLastCommand = {
      frame: heard.frame, time: heard.time, keepAlive: heard === oa.peerLastKeepAlive,
      timerEndsAfterRetryMs: { from: round3(oa.katoMs - since), to: round3((oa.tbkas ? 2 : 1) * oa.katoMs - since) },
    };
  }
  const place = { frames: [original.submit.frame, p.frame], time: p.time, assoc: a.id, qid: retry.q.qid ?? null, cid: retry.cid };
  return ctx.findings.add(RETRY_RULE_OF[ruleId], place, details, { dataChanging: original.dataChanging }) as RetryFinding | undefined;
}

/**
 * At the end of the capture everything about the original is known: whether
 * the controller acknowledged it (the ACK may come after the retry, once the
 * link is back), the old queue's teardown, and what followed the retry. The
 * chain, the frames, the filter and the message are written from those.
 */
function writeEvidence(f: RetryFinding, w: Watch): void {
  const d = f.details;
  const { original, retry } = w;
  const oa = original.q.assoc;
  const usedData = original.dataEnd >= 0;
  const dataArrival = original.dataAckFrame >= 0 ? { frame: original.dataAckFrame, time: original.dataAckTime } : null;
  d.capsuleArrival = original.capsuleAckFrame >= 0 ? { frame: original.capsuleAckFrame, time: original.capsuleAckTime } : null;
  d.arrival = d.capsuleArrival === null ? null : usedData ? dataArrival : { ...d.capsuleArrival };
  const peer = peerArrival(original);
  if (peer !== undefined) d.reachedController = peer !== null;

  if (peer) d.arrival = { frame: peer.frame, time: peer.time, seenAt: peer.frame };
  const down = firstClose(original.q);
  d.teardown = down ? { frame: down.frame, time: down.time, from: down.from, kind: down.kind as 'fin' | 'rst' } : null;
  d.afterRetry = w.activity;
  const label = commandLabel(d);
  const steps: EvidenceStep[] = [{ step: 'original-sent', ...original.submit, what: E.originalSent(label, oa.id) }];
  if (d.capsuleArrival) steps.push({ step: 'arrival', ...d.capsuleArrival, what: E.arrival('capsule') });
  if (peer) steps.push({ step: 'arrival', frame: peer.frame, time: peer.time, what: E.seenArriving() });
  const heard = d.controllerLastCommand;
  if (heard) steps.push({ step: 'controller-last-command', frame: heard.frame, time: heard.time, what: E.controllerLastCommand(heard.keepAlive) });
  if (usedData && dataArrival) steps.push({ step: 'arrival', ...dataArrival, what: E.arrival('data') });
  if (d.lastControllerContactFrame !== null) {
    steps.push({ step: 'last-controller-contact', frame: d.lastControllerContactFrame, time: d.lastControllerContactTime!, what: E.lastContact(oa.id) });
  }
  if (d.fencedBy) steps.push({ step: 'fence', frame: d.fencedBy.frame, time: d.fencedBy.time, what: E.fence(d.fencedBy.kind) });
  if (d.teardown) steps.push({ step: 'teardown', frame: d.teardown.frame, time: d.teardown.time, what: E.teardown(d.teardown.from, d.teardown.kind) });
  steps.push({ step: 'retry', ...retry.submit, what: E.retry(d.retryAssoc) });
  for (const a of w.activity) {
    steps.push({ step: a.kind === 'r2t' ? 'r2t-after-retry' : a.kind === 'c2h-data' ? 'c2h-data-after-retry' : 'completion-after-retry', frame: a.frame, time: a.time, what: E.afterRetry(a) });
  }
  d.evidence = steps;
  deriveFromEvidence(f);
}

/**
 * Puts the chain in time order (frame order among equal times) and derives what
 * follows from it: the finding's frames, its display filter and its message.
 * Other families that add steps (the kernel log) call it again.
 */
export function deriveFromEvidence(f: RetryFinding): void {
  const d = f.details;
  d.evidence.sort((x, y) => x.time - y.time || (x.frame ?? 0) - (y.frame ?? 0));
  const frames = new Set(f.frames);
  for (const step of d.evidence) if (step.frame !== null && !isLineStep(step.step)) frames.add(step.frame);
  f.frames = [...frames].sort((x, y) => x - y);
  f.wiresharkFilter = frameFilter(f.frames);
  f.message = retrySentence(f.ruleId, d);
}

function identity(ctx: RuleContext, original: Cmd, retry: Cmd) {
  return {
    originalFrame: original.submit.frame, originalTime: original.submit.time, retryFrame: retry.submit.frame,
    originalAssoc: original.q.assoc.id, retryAssoc: retry.q.assoc.id, originalQid: original.q.qid ?? null, originalCid: original.cid,
    opcode: ctx.model.opName(original), nsid: original.nsid, slba: original.slba ?? null, nlb: original.nlb ?? null,
  };
}

function duplicateExecution(ctx: RuleContext, original: Cmd, retry: Cmd): void {
  const late = original.late!;
  const details = {
    ...identity(ctx, original, retry), lateCompletionFrame: late.frame, lateCompletionTime: late.time, hostClosedFrame: original.q.hostClosed?.frame ?? null,
  };
  const place = {
    frames: [original.submit.frame, late.frame, retry.submit.frame], time: Math.max(late.time, retry.submit.time),
    assoc: original.q.assoc.id, qid: original.q.qid ?? null, cid: original.cid,
  };
  ctx.findings.add(DUPLICATE_EXECUTION, place, details, { dataChanging: original.dataChanging });
}

/** The original at the other capture point: seen arriving, not seen though watched (null), or nothing known (undefined). */
function peerArrival(original: Cmd): Stamp | null | undefined {
  if (original.peer?.arrived) return original.peer.arrived;
  return watchedAt(original.q, original.submit.time) ? null : undefined;
}

/** The target-side capture shows the original and its retry both arriving and completing: the command ran twice. */
function executedAtTarget(ctx: RuleContext, original: Cmd, retry: Cmd): void {
  const o = original.peer!;
  const r = retry.peer;
  if (!r?.arrived || !(r.completed || retry.done)) return;
  const targetCapture = { originalArrived: o.arrived!.frame, originalCompleted: o.completed!.frame, retryArrived: r.arrived.frame, retryCompleted: r.completed?.frame ?? null };
  const details = { ...identity(ctx, original, retry), lateCompletionFrame: null, lateCompletionTime: null, hostClosedFrame: original.q.hostClosed?.frame ?? null, targetCapture };
  const place = {
    frames: [original.submit.frame, o.arrived!.frame, o.completed!.frame, retry.submit.frame, r.arrived.frame, ...(r.completed ? [r.completed.frame] : [])],
    time: r.completed?.time ?? retry.submit.time, assoc: original.q.assoc.id, qid: original.q.qid ?? null, cid: original.cid,
  };
  ctx.findings.add(DUPLICATE_EXECUTION, place, details, { dataChanging: original.dataChanging });
}

function staleData(ctx: RuleContext, original: Cmd, retry: Cmd, p: PduEvent, data: { datao: number; datal: number }): void {
  const details = { originalFrame: original.submit.frame, retryFrame: retry.submit.frame, dataFrame: p.frame, datao: data.datao, datal: data.datal };
  const place = { frames: [original.submit.frame, retry.submit.frame, p.frame], time: p.time, assoc: original.q.assoc.id, qid: original.q.qid ?? null, cid: original.cid };
  ctx.findings.add(STALE_DATA_AFTER_RETRY, place, details, { opcode: ctx.model.opName(original), retryAssoc: retry.q.assoc.id });
}

function originalAlive(ctx: RuleContext, w: Watch): void {
  const { original, retry } = w;
  const details = { ...identity(ctx, original, retry), retryTime: retry.submit.time, activity: w.activity };
  const place = {
    frames: [original.submit.frame, retry.submit.frame, ...w.activity.map((a) => a.frame)], time: w.activity[0].time,
    assoc: original.q.assoc.id, qid: original.q.qid ?? null, cid: original.cid,
  };
  ctx.findings.add(ORIGINAL_ALIVE_AFTER_RETRY, place, details, { dataChanging: original.dataChanging });
}

/** How long after the last controller contact `policy` requires before a retry. */
export function requiredWaitMs(policy: RetryRule, a: Pick<Assoc, 'katoMs' | 'cqtMs' | 'tbkas'>): number {
  switch (policy) {
    case 'kato':
      return a.katoMs;
    case 'tp4129':
      return (a.tbkas ? 3 : 2) * a.katoMs + a.cqtMs;
    default:
      return a.katoMs + a.cqtMs;
  }
}

/** What fenced the original's controller before `before`: CC disable/shutdown acknowledged, or the controller closing its connection. */
function fenceFor(original: Cmd, before: number): (Stamp & { kind: FenceKind }) | undefined {
  const a = original.q.assoc;
  const candidates: (Stamp & { kind: FenceKind })[] = [];
  const fence = a.fences.find((f) => f.time >= original.submit.time && f.time <= before);
  if (fence) candidates.push({ ...fence });
  const cc = original.q.ctrlClosed;
  if (cc && cc.time <= before) candidates.push({ frame: cc.frame, time: cc.time, kind: cc.kind === 'rst' ? 'controller-rst' : 'controller-fin' });
  candidates.sort((x, y) => x.time - y.time);
  return candidates[0];
}

/** The last Cross-Controller Reset of the original's controller completed between the original and its retry. */
function lastReset(a: Assoc, after: number, before: number): CrossControllerReset | null {
  let last: CrossControllerReset | null = null;
  for (const r of a.resets) if (r.time >= after && r.time <= before) last = { ...r };
  return last;
}

export function trigger(original: Cmd, retry: Cmd): string {
  const a = original.q.assoc;
  if (a.termReq && a.termReq.time <= retry.submit.time) return 'TermReq';
  const cc = original.q.ctrlClosed;
  if (cc && cc.time <= retry.submit.time) return `controller TCP ${cc.kind.toUpperCase()}`;
  if (keepAliveTimedOut(a, original.q.hostClosed?.time ?? retry.submit.time)) return 'keep-alive timeout';
  return 'I/O timeout';
}

/**
 * Had a keep-alive gone unanswered for about KATO when the host tore the association down at
 * `teardown`? Then the keep-alive timeout, not an I/O timeout, ended it (90 %: the host's timer
 * fires on its own schedule, a little before the capture's KATO from the Connect).
 */
export function keepAliveTimedOut(a: Assoc, teardown: number): boolean {
  return a.kaOpen.some((k) => teardown - k.submit.time >= (a.katoMs / 1000) * 0.9);
}

function firstClose(q: Queue): TcpEvent | undefined {
  return firstTeardown([q]);
}
