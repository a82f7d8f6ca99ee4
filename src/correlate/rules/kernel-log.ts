import type { KernelEvent } from '../../kernel-log/types.js';
import { align, anchorOf, ANCHOR_BOUND_S, devicePaths, groupsOf, logSeconds, onPath, round6, type AnchorAssoc, type LogGroup } from '../kernel-align.js';
import { MESSAGES } from '../messages.js';
import type { Assoc, Cmd } from '../model.js';
import {
  isRetryFinding, type KernelLine, type KernelLogAlignment, type KernelLogEvent, type KernelLogReport, type RetryFinding,
} from '../types.js';
import { settle } from './retries.js';
import type { RuleContext, RuleFamily } from './rule.js';
import { hex } from '../../common/text.js';

/** A command answered faster than this cannot have hit a Linux timeout: it is not kept as a candidate. */
const MIN_TIMEOUT_S = 0.5;
/** Kernel events listed in the report before the rest are only counted. */
const EVENT_CAP = 5000;
/** How far a tie may reach past an association's start: the alignment's own tolerance. */
const SLACK_S = ANCHOR_BOUND_S;

/** A command a timeout line may name: kept small, only for the (queue, CID or tag) pairs the logs name. */
interface Candidate {
  assoc: AnchorAssoc;
  qid: number;
  cid: number;
  frame: number;
  time: number;
  /** When the host saw its completion; undefined when it never did. */
  doneTime: number | undefined;
  opcode: string;
  dataChanging: boolean;
}

/** A log event placed on the capture's clock. */
interface Placed {
  e: KernelEvent;
  time: number;
  afterFrame: number | null;
  assoc: AnchorAssoc | undefined;
  command: Candidate | undefined;
}

/** One break in service of a host device: the line that started error recovery, and what it was triggered by. */
interface Episode {
  start: Placed;
  trigger: Placed | undefined;
  assoc: AnchorAssoc | undefined;
  /** Timeouts logged after `start`, before the device was back. */
  during: Placed[];
}

/**
 * timeout-during-recovery, and what the host's and target's kernel logs add
 * to the retry verdicts: the line that started recovery, the original's own
 * timeout, and when the target's keep-alive timer gave up on the controller.
 */
export const kernelLog: RuleFamily = {
  name: 'kernel-log',
  ruleIds: ['timeout-during-recovery'],
  create(ctx) {
    if (ctx.kernelLogs.length === 0) return {};
    const named = new Set<string>();
    for (const log of ctx.kernelLogs) {
      for (const e of log.events) {
        if (e.kind !== 'io-timeout' || e.qid === undefined) continue;
        if (e.cid !== undefined) named.add(`${e.qid}:c${e.cid}`);
        else if (e.tag !== undefined) named.add(`${e.qid}:t${e.tag}`);
      }
    }
    const candidates: Candidate[] = [];
    /** Every association, compactly: the logs may name any of them, ended long ago or not. */
    const anchors = new Map<number, AnchorAssoc>();
    const anchor = (a: Assoc) => {
      let x = anchors.get(a.id);
      if (!x) anchors.set(a.id, (x = anchorOf(a)));
      return x;
    };
    const keep = (cmd: Cmd, doneTime: number | undefined) => {
      const qid = cmd.q.qid;
      if (qid === undefined || !cmd.q.assoc) return;
      if (!named.has(`${qid}:c${cmd.cid}`) && !named.has(`${qid}:t${cmd.cid & 0xfff}`)) return;
      candidates.push({
        assoc: anchor(cmd.q.assoc), qid, cid: cmd.cid, frame: cmd.submit.frame, time: cmd.submit.time, doneTime, opcode: ctx.model.opName(cmd),
        dataChanging: cmd.dataChanging,
      });
    };
    return {
      commandCompleted(cmd, p) {
        if (named.size > 0 && p.time - cmd.submit.time >= MIN_TIMEOUT_S) keep(cmd, p.time);
      },
      commandUnanswered(cmd) {
        if (named.size > 0) keep(cmd, undefined);
      },
      lateCompletion(cmd) {
        // The host had closed the queue: it never saw the completion, and a timeout may name the command.
        if (named.size > 0 && !candidates.some((c) => c.frame === cmd.submit.frame && c.qid === cmd.q.qid)) keep(cmd, undefined);
      },
      associationEnded(a) {
        anchors.set(a.id, anchorOf(a));
      },
      finish() {
        ctx.output.kernelLog = conclude(ctx, candidates, [...anchors.values()].sort((x, y) => x.id - y.id));
      },
    };
  },
};

function conclude(ctx: RuleContext, candidates: Candidate[], assocs: AnchorAssoc[]): KernelLogReport {
  const model = ctx.model;
  const captureStart = assocs[0]?.first.time ?? Math.max(model.lastTime, 0);
  const warnings: string[] = [];
  const alignment: KernelLogAlignment[] = [];
  const placed: Placed[] = [];
  const unplaced: KernelEvent[] = [];
  const groups = groupsOf([...ctx.kernelLogs]);
  const aligned = new Map<LogGroup, KernelLogAlignment>();
  for (const g of groups) {
    const a = align(g, assocs, captureStart, ctx.dmesgOffsetMs / 1000);
    alignment.push(a);
    if (a.method !== 'none') aligned.set(g, a);
  }
  // Two boots of one log cannot both be this capture: keep the better placed one.
  for (const g of groups) {
    const a = aligned.get(g);
    if (!a || a.method !== 'anchors') continue;
    const rival = groups.find((o) => o !== g && o.source === g.source && better(aligned.get(o), a));
    if (rival) {
      aligned.delete(g);
      a.method = 'none';
      a.message = `another boot of this log (boot ${rival.boot}) aligns better with the capture: not used`;
      a.offsetS = null;
    }
  }
  for (const g of groups) {
    const a = aligned.get(g);
    if (!a) {
      unplaced.push(...g.events);
      continue;
    }
    const paths = devicePaths(g);
    const single = singlePath(assocs);
    for (const e of g.events) {
      const time = logSeconds(e, captureStart) + a.offsetS!;
      const assoc = tie(e, time, assocs, e.device ? paths.get(e.device) : undefined, single);
      placed.push({ e, time, afterFrame: model.frames?.frameBefore(time) ?? null, assoc, command: undefined });
    }
  }
  placed.sort((x, y) => x.time - y.time || x.e.source - y.e.source || x.e.line - y.e.line);
  for (const p of placed) {
    if (p.e.kind !== 'io-timeout') continue;
    p.command = match(p, candidates);
    if (!p.command) warnings.push(`${ctx.kernelLogs[p.e.source].file} line ${p.e.line}: the timeout names queue ${p.e.qid} ${p.e.cid !== undefined ? `CID ${hex(p.e.cid)}` : `tag ${p.e.tag}`}, which the capture shows no command for before that time`);
  }
  const episodes = recoveryEpisodes(placed);
  const retries = ctx.findings.stored().filter(isRetryFinding);
  for (const ep of episodes) {
    // The trigger timing out again while recovery runs is the same story, not a second command failed at once.
    for (const t of ep.during) if (t.command && t.command !== ep.trigger?.command) duringRecovery(ctx, ep, t, retries);
  }
  for (const f of retries) enrich(ctx, f, episodes, placed);

  for (const log of ctx.kernelLogs) if (log.events.length === 0) warnings.push(`${log.file}: no NVMe line (nvme, nvmet) in ${log.lines} lines: nothing to match`);
  for (const a of alignment) {
    const boots = alignment.filter((x) => x.source === a.source).length;
    const where = `${ctx.kernelLogs[a.source].file}${boots > 1 ? ` (boot ${a.boot})` : ''}`;
    if (a.method === 'none') warnings.push(`${where}: ${a.message}`);
    else if (a.method === 'wall-clock' && a.residualMs !== null && a.residualMs > ANCHOR_BOUND_S * 1000) {
      const needed = median(a.anchors.map((x) => x.offsetS));
      const skew = needed - (a.offsetS ?? 0);
      warnings.push(`${where}: its clock and the capture's disagree by about ${Math.round(skew * 1000)} ms at the anchors; --dmesg-offset ${Math.round(needed * 1000)} would correct it`);
    }
  }
  const events: KernelLogEvent[] = [
    ...placed.map((p) => event(p.e, p.time, p.afterFrame, p.assoc, p.command)),
    ...unplaced.map((e) => event(e, null, null, undefined, undefined)),
  ];
  return {
    sources: ctx.kernelLogs.map((l) => ({ file: l.file, format: l.format, lines: l.lines, events: l.events.length })),
    alignment, events: events.slice(0, EVENT_CAP), eventsNotListed: Math.max(0, events.length - EVENT_CAP), warnings,
  };
}

function better(x: KernelLogAlignment | undefined, y: KernelLogAlignment): boolean {
  if (!x || x.method !== 'anchors') return false;
  if (x.anchors.length !== y.anchors.length) return x.anchors.length > y.anchors.length;
  return (x.residualMs ?? Infinity) < (y.residualMs ?? Infinity) || ((x.residualMs ?? Infinity) === (y.residualMs ?? Infinity) && x.boot > y.boot);
}

/** When every association is on one path, a host line without its `new ctrl` can only be about that path. */
function singlePath(assocs: AnchorAssoc[]): { subnqn: string; addr: string } | undefined {
  const first = assocs[0];
  if (!first || first.subnqn === undefined) return undefined;
  return assocs.every((a) => a.subnqn === first.subnqn && a.controller === first.controller) ? { subnqn: first.subnqn, addr: first.controller } : undefined;
}

/**
 * The association a line is about: for a host device, the newest association of
 * its path that had started by then; for a target controller number, the newest
 * association with that controller id that had started by then.
 */
function tie(e: KernelEvent, time: number, assocs: AnchorAssoc[], path: { subnqn: string; addr: string } | undefined, single: { subnqn: string; addr: string } | undefined): AnchorAssoc | undefined {
  let best: AnchorAssoc | undefined;
  for (const a of assocs) {
    if (a.first.time > time + SLACK_S) continue;
    if (e.side === 'target') {
      if (e.ctrl === undefined || a.cntlid !== e.ctrl) continue;
    } else {
      const p = path ?? single;
      if (!e.device || !p || !onPath(a, p)) continue;
    }
    if (!best || a.first.time > best.first.time) best = a;
  }
  return best;
}

/** The command a timeout line names: same queue and identifier, on its association, submitted before it and not answered by then. */
function match(p: Placed, candidates: Candidate[]): Candidate | undefined {
  const e = p.e;
  let best: Candidate | undefined;
  for (const c of candidates) {
    if (c.qid !== e.qid) continue;
    if (e.cid !== undefined ? c.cid !== e.cid : (c.cid & 0xfff) !== e.tag) continue;
    if (p.assoc && c.assoc.id !== p.assoc.id) continue;
    if (c.time > p.time + SLACK_S || (c.doneTime !== undefined && c.doneTime < p.time - SLACK_S)) continue;
    if (!best || c.time > best.time) best = c;
  }
  return best;
}

/** Per host device, in time order: error recovery starts, the timeout or keep-alive failure before it, the timeouts after it. */
function recoveryEpisodes(placed: Placed[]): Episode[] {
  const episodes: Episode[] = [];
  const state = new Map<string, { episode: Episode | undefined; trigger: Placed | undefined }>();
  for (const p of placed) {
    const e = p.e;
    if (e.side !== 'host' || !e.device) continue;
    const key = `${e.source}:${e.boot}:${e.device}`;
    let s = state.get(key);
    if (!s) state.set(key, (s = { episode: undefined, trigger: undefined }));
    if (e.kind === 'io-timeout' || e.kind === 'keep-alive-failed') {
      if (s.episode) {
        if (e.kind === 'io-timeout') s.episode.during.push(p);
      } else s.trigger ??= p;
    } else if (e.kind === 'error-recovery') {
      if (!s.episode) {
        s.episode = { start: p, trigger: s.trigger, assoc: s.trigger?.assoc ?? p.assoc, during: [] };
        episodes.push(s.episode);
      }
    } else if (e.kind === 'reconnected' || e.kind === 'new-ctrl' || e.kind === 'removing-ctrl') {
      s.episode = undefined;
      s.trigger = undefined;
    }
  }
  return episodes;
}

function line(p: Placed): KernelLine {
  return { source: p.e.source, line: p.e.line, time: round6(p.time), afterFrame: p.afterFrame, text: p.e.text };
}

function duringRecovery(ctx: RuleContext, ep: Episode, t: Placed, retries: RetryFinding[]): void {
  const c = t.command!;
  const retry = retries.find((f) => f.details.originalFrame === c.frame && f.details.originalQid === c.qid && f.details.originalCid === c.cid);
  const details = {
    opcode: c.opcode, qid: c.qid, cid: c.cid, submitFrame: c.frame, timeout: line(t), recoveryStarted: line(ep.start),
    retry: retry ? { ruleId: retry.ruleId, frame: retry.details.retryFrame } : null,
  };
  ctx.findings.add({
    ruleId: 'timeout-during-recovery', severity: c.dataChanging && retry?.ruleId === 'retry-before-kato' ? 'error' : 'warning',
    message: MESSAGES.timeoutDuringRecovery(details), frames: retry ? [c.frame, retry.details.retryFrame] : [c.frame],
    time: t.time, assoc: c.assoc.id, qid: c.qid, cid: c.cid, details,
  });
}

/** Adds the log's evidence to a retry finding: trigger, the original's timeout, and the target giving up. */
function enrich(ctx: RuleContext, f: RetryFinding, episodes: Episode[], placed: Placed[]): void {
  const d = f.details;
  const ep = episodes.find((x) => x.assoc?.id === d.originalAssoc && x.start.time <= f.time + SLACK_S);
  const own = placed.find((p) => p.command && p.command.frame === d.originalFrame && p.command.cid === d.originalCid);
  const gaveUp = placed.find((p) => p.e.kind === 'keep-alive-expired' && p.assoc?.id === d.originalAssoc);
  if (!ep && !own && !gaveUp) return;
  const E = MESSAGES.evidence;
  const trigger = ep?.trigger;
  d.kernelLog = {
    trigger: trigger ? { ...line(trigger), command: trigger.command ? { frame: trigger.command.frame, qid: trigger.command.qid, cid: trigger.command.cid } : null } : null,
    originalTimeout: own ? line(own) : null,
    duringRecovery: own !== undefined && ep !== undefined && ep.during.includes(own),
  };
  if (trigger) {
    const c = trigger.command;
    d.trigger = trigger.e.kind === 'keep-alive-failed' || (c && c.qid === 0 && c.opcode === 'Keep Alive')
      ? `keep-alive timeout (kernel log line ${trigger.e.line})`
      : c ? `I/O timeout of ${c.opcode} CID ${hex(c.cid)} (frame ${c.frame}; kernel log line ${trigger.e.line})` : `I/O timeout (kernel log line ${trigger.e.line})`;
    d.evidence.push({ step: 'kernel-log', frame: trigger.afterFrame, time: trigger.time, what: E.kernel('recovery trigger', trigger.e.text, trigger.e.line) });
  }
  if (ep) d.evidence.push({ step: 'kernel-log', frame: ep.start.afterFrame, time: ep.start.time, what: E.kernel('error recovery starts', ep.start.e.text, ep.start.e.line) });
  if (own && own !== trigger) d.evidence.push({ step: 'kernel-log', frame: own.afterFrame, time: own.time, what: E.kernel('the original times out', own.e.text, own.e.line) });
  if (gaveUp) {
    const retryTime = f.time;
    d.controllerGaveUpAt = { ...line(gaveUp), timerSeconds: gaveUp.e.seconds ?? 0, marginMs: Math.round((retryTime - gaveUp.time) * 1e6) / 1e3 };
    d.evidence.push({ step: 'kernel-log', frame: gaveUp.afterFrame, time: gaveUp.time, what: E.kernel('the target gives up on the controller', gaveUp.e.text, gaveUp.e.line) });
  }
  settle(f);
}

function event(e: KernelEvent, time: number | null, afterFrame: number | null, assoc: AnchorAssoc | undefined, command: Candidate | undefined): KernelLogEvent {
  return {
    source: e.source, line: e.line, side: e.side, kind: e.kind, text: e.text, time: time === null ? null : round6(time), afterFrame,
    assoc: assoc?.id ?? null, command: command ? { frame: command.frame, qid: command.qid, cid: command.cid } : null,
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[s.length >> 1] ?? 0;
}
