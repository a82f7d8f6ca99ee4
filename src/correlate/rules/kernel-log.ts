import { frameLabel } from '../../common/frame-ref.js';
import { median, msOf } from '../../common/numbers.js';
import { hex } from '../../common/text.js';
import { MAX_LINE_CHARS } from '../../kernel-log/parse.js';
import type { DevicePath, KernelEvent, KernelEventFields } from '../../kernel-log/types.js';
import { align, anchorOf, ANCHOR_BOUND_S, groupsOf, logSeconds, onPath, round6, type AnchorAssoc, type LogGroup } from '../kernel-align.js';
import { TIMEOUT_DURING_RECOVERY } from '../findings/timeout-during-recovery.js';
import { EVIDENCE as E } from '../phrases.js';
import type { Assoc, Cmd } from '../model.js';
import {
  isRetryFinding, type KernelLine, type KernelLogAlignment, type KernelLogEvent, type KernelLogReport, type RetryFinding,
} from '../types.js';
import { deriveFromEvidence } from './retries.js';
import type { RuleContext, RuleFamily } from './rule.js';

/** A command answered faster than this cannot have hit a Linux timeout: it is not kept as a candidate. */
const MIN_TIMEOUT_S = 0.5;
/** Kernel events listed in the report before the rest are only counted. */
const EVENT_CAP = 5000;
/** Warnings about single lines listed before the rest are only counted. */
const LINE_WARNINGS_CAP = 20;
/** How far a tie may reach past an association's start: the alignment's own tolerance. */
const SLACK_S = ANCHOR_BOUND_S;
/** Lines further than this outside the capture's time span can name nothing in it: counted, not kept. */
const OUTSIDE_S = 600;

/** A command a timeout line may name: kept small, only for the (queue, CID or tag) pairs the logs name. */
interface Candidate {
  assoc: AnchorAssoc;
  /** Undefined: a queue whose Connect the capture does not hold (an I/O queue, as far as it shows). */
  qid: number | undefined;
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
  /** The command's queue was numbered by this line, not by the capture. */
  qidFromLog: boolean;
}

/** Which host a device belongs to, as its anchor lines showed: it follows that host across reconnects. */
interface HostId {
  hostnqn: string | undefined;
  hostAddress: string;
}

/** One break in service of a host device: the line that started error recovery, and what it was triggered by. */
interface Episode {
  start: Placed;
  trigger: Placed | undefined;
  assoc: AnchorAssoc | undefined;
  /** Timeouts logged after `start`, before the device was back, that name a captured command. */
  during: Placed[];
}

/** Candidates by the tag they carry (CID & 0xfff): a timeout line looks at its own few, never at all of them. */
type CandidateIndex = Map<number, Candidate[]>;

/**
 * timeout-during-recovery, and what the host's and target's kernel logs add
 * to the retry verdicts: the line that started recovery, the original's own
 * timeout, and when the target's keep-alive timer gave up on the controller.
 */
export const kernelLog: RuleFamily = {
  name: 'kernel-log',
  create(ctx) {
    if (ctx.kernelLogs.length === 0) return {};
    const named = new Set<string>();
    for (const log of ctx.kernelLogs) for (const key of log.named) named.add(key);
    const candidates: CandidateIndex = new Map();
    /** Every association, compactly: the logs may name any of them, ended long ago or not. */
    const anchors = new Map<number, AnchorAssoc>();
    const anchor = (a: Assoc) => {
      let x = anchors.get(a.id);
      if (!x) anchors.set(a.id, (x = anchorOf(a)));
      return x;
    };
    const isNamed = (cmd: Cmd) => {
      // A queue the capture cannot number counts as an I/O queue (a Keep Alive would have shown the admin queue).
      const queue = cmd.q.qid ?? 'io';
      return named.has(`${queue}:c${cmd.cid}`) || named.has(`${queue}:t${cmd.cid & 0xfff}`);
    };
    const keep = (cmd: Cmd, doneTime: number | undefined) => {
      if (!cmd.q.assoc || !isNamed(cmd)) return;
      const tag = cmd.cid & 0xfff;
      let list = candidates.get(tag);
      if (!list) candidates.set(tag, (list = []));
      if (doneTime === undefined && list.some((c) => c.frame === cmd.submit.frame && c.cid === cmd.cid)) return;
      list.push({
        assoc: anchor(cmd.q.assoc), qid: cmd.q.qid, cid: cmd.cid, frame: cmd.submit.frame, time: cmd.submit.time, doneTime, opcode: ctx.model.opName(cmd),
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
        if (named.size > 0) keep(cmd, undefined);
      },
      associationEnded(a) {
        anchors.set(a.id, anchorOf(a));
      },
      captureEnded() {
        ctx.output.kernelLog = conclude(ctx, candidates, [...anchors.values()].sort((x, y) => x.id - y.id));
      },
    };
  },
};

function conclude(ctx: RuleContext, candidates: CandidateIndex, assocs: AnchorAssoc[]): KernelLogReport {
  const model = ctx.model;
  const captureStart = assocs[0]?.first.time ?? Math.max(model.lastTime, 0);
  const captureEnd = Math.max(model.lastTime, captureStart);
  const groups = groupsOf(ctx.kernelLogs);
  const { alignment, aligned } = alignGroups(ctx, groups, candidates, assocs, captureStart);
  const warnings: string[] = [];
  const notes: string[] = [];
  const lineWarnings = new CappedLines(warnings, LINE_WARNINGS_CAP);
  const single = singlePath(assocs);
  const hosts = new Map<LogGroup, Map<string, HostId>>();
  for (const [g, a] of aligned) hosts.set(g, deviceHosts(g, a, assocs));
  const episodes = new EpisodeTracker();
  const own = new Map<Candidate, Placed>();
  const gaveUp = new Map<number, Placed>();
  const listed: KernelLogEvent[] = [];
  let total = 0;
  let outside = 0;
  for (const log of ctx.kernelLogs) {
    let fromThisLog = 0;
    const list = (ev: KernelLogEvent) => {
      if (fromThisLog++ < EVENT_CAP) listed.push(ev);
    };
    const byBoot = new Map(log.groups.map((g) => [g.boot, g]));
    // Streamed: a line is placed, used and let go; only what it proves (and the first lines, for the listing) stays.
    log.replay((e) => {
      total++;
      const g = byBoot.get(e.boot)!;
      const a = aligned.get(g);
      if (!a) return list(event(e, null, null, undefined, undefined, false));
      const time = logSeconds(e, captureStart) + a.offsetS!;
      if (time < captureStart - OUTSIDE_S || time > captureEnd + OUTSIDE_S) {
        outside++;
        return;
      }
      const host = e.device ? hosts.get(g)!.get(e.device) : undefined;
      const assoc = tie(e, time, assocs, e.device ? g.paths.get(e.device) ?? single : undefined, host);
      const p: Placed = { e, time, afterFrame: model.frames?.frameBefore(time) ?? null, assoc, command: undefined, qidFromLog: false };
      if (e.kind === 'io-timeout') {
        timeoutCommand(p, candidates, host, `${log.file} line ${e.line}`, notes, lineWarnings);
        if (p.command && !own.has(p.command)) own.set(p.command, p);
      }
      if (e.kind === 'keep-alive-expired' && assoc && !gaveUp.has(assoc.id)) gaveUp.set(assoc.id, p);
      episodes.step(p);
      list(event(e, time, p.afterFrame, assoc, p.command, p.qidFromLog));
    });
  }
  if (lineWarnings.more > 0) warnings.push(`${lineWarnings.more} more timeout lines name no captured command (not listed)`);
  addToFindings(ctx, episodes, own, gaveUp);

  fileWarnings(ctx, alignment, outside, warnings, notes);
  // Placed lines in time order, then the ones no alignment placed.
  listed.sort((x, y) => (x.time === null ? 1 : 0) - (y.time === null ? 1 : 0) || (x.time ?? 0) - (y.time ?? 0) || x.source - y.source || x.line - y.line);
  const events = listed.slice(0, EVENT_CAP);
  return {
    sources: ctx.kernelLogs.map((l) => ({ file: l.file, format: l.format, lines: l.lines, events: l.events, longLines: l.longLines })),
    alignment, events, eventsNotListed: total - events.length, eventsOutsideCapture: outside, warnings, notes,
  };
}

/** What the placed lines add: timeouts during recovery as findings, the retry findings' kernel evidence. */
function addToFindings(ctx: RuleContext, episodes: EpisodeTracker, own: Map<Candidate, Placed>, gaveUp: Map<number, Placed>): void {
  const retries = ctx.findings.stored().filter(isRetryFinding);
  for (const ep of episodes.all) {
    // The trigger timing out again while recovery runs is the same story, not a second command failed at once.
    for (const t of ep.during) if (t.command !== ep.trigger?.command) duringRecovery(ctx, ep, t, retries);
  }
  for (const f of retries) enrich(ctx, f, episodes.all, own, gaveUp);
}

/** Warnings up to a cap, the rest counted. */
class CappedLines {
  private listed = 0;
  more = 0;

  constructor(private readonly into: string[], private readonly cap: number) {}

  add(text: string): void {
    if (this.listed < this.cap) {
      this.listed++;
      this.into.push(text);
    } else this.more++;
  }
}

/** A timeout line: the captured command it names (by queue and CID or tag), or why none. */
function timeoutCommand(p: Placed, candidates: CandidateIndex, host: HostId | undefined, where: string, notes: string[], warnings: CappedLines): void {
  const e = timeoutOf(p.e);
  const m = match(p, candidates, host);
  const what = `queue ${e.qid} ${e.cid !== undefined ? `CID ${hex(e.cid)}` : `tag ${e.tag}`}`;
  if (m.command) {
    p.command = m.command;
    p.qidFromLog = m.command.qid === undefined;
    if (p.qidFromLog) notes.push(`${where}: ${what} is frame ${frameLabel(m.command.frame)}'s queue, which the capture cannot number (it holds no Connect for it): qid ${e.qid} learnt from the log`);
  } else if (m.fits > 1) {
    warnings.add(`${where}: the timeout names ${what}; ${m.fits} captured commands ${m.across ? 'of as many associations (the line is tied to none: several hosts share the path)' : 'on queues the capture cannot number'} fit it: not matched`);
  } else warnings.add(`${where}: the timeout names ${what}, which the capture shows no command for before that time`);
}

/** What the logs as files and their alignment say: no NVMe line, long lines, lines outside the capture, a wall clock off. */
function fileWarnings(ctx: RuleContext, alignment: KernelLogAlignment[], outside: number, warnings: string[], notes: string[]): void {
  for (const log of ctx.kernelLogs) {
    if (log.events === 0) warnings.push(`${log.file}: no NVMe line (nvme, nvmet) in ${log.lines} lines: nothing to match`);
    if (log.longLines > 0) warnings.push(`${log.file}: ${log.longLines} line(s) longer than ${MAX_LINE_CHARS} characters: only their start was read`);
  }
  if (outside > 0) notes.push(`${outside} NVMe line(s) lie more than ${OUTSIDE_S} s outside the capture's time span: counted, not listed`);
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
}

/** Places every boot of every log on the capture's clock; of two boots of one log that both fit, only the better one. */
function alignGroups(ctx: RuleContext, groups: LogGroup[], candidates: CandidateIndex, assocs: AnchorAssoc[], captureStart: number) {
  const alignment: KernelLogAlignment[] = [];
  const aligned = new Map<LogGroup, KernelLogAlignment>();
  for (const g of groups) {
    // Ties between placements go to the one under which more of the log's timeout lines name a command.
    const support = (offsetS: number) => g.probes.filter((e) => fits(e, logSeconds(e, captureStart) + offsetS, candidates)).length;
    const a = align(g, assocs, captureStart, ctx.dmesgOffsetMs / 1000, support);
    alignment.push(a);
    if (a.method !== 'none') aligned.set(g, a);
  }
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
  return { alignment, aligned };
}

/** Each host device's host, from the association its chosen anchor lines were paired with (or the NQN its `new ctrl` printed). */
function deviceHosts(g: LogGroup, a: KernelLogAlignment, assocs: AnchorAssoc[]): Map<string, HostId> {
  const hosts = new Map<string, HostId>();
  const byId = new Map(assocs.map((x) => [x.id, x]));
  for (const anchor of a.anchors) {
    const e = g.anchors.find((x) => x.line === anchor.line);
    const paired = byId.get(anchor.assoc);
    if (!e?.device || !paired || hosts.has(e.device)) continue;
    hosts.set(e.device, { hostnqn: ('hostnqn' in e ? e.hostnqn : undefined) ?? paired.hostnqn, hostAddress: paired.hostAddress });
  }
  return hosts;
}

function sameHost(a: AnchorAssoc, h: HostId): boolean {
  return a.hostnqn !== undefined && h.hostnqn !== undefined ? a.hostnqn === h.hostnqn : a.hostAddress === h.hostAddress;
}

function better(x: KernelLogAlignment | undefined, y: KernelLogAlignment): boolean {
  if (!x || x.method !== 'anchors') return false;
  if (x.anchors.length !== y.anchors.length) return x.anchors.length > y.anchors.length;
  return (x.residualMs ?? Infinity) < (y.residualMs ?? Infinity) || ((x.residualMs ?? Infinity) === (y.residualMs ?? Infinity) && x.boot > y.boot);
}

/** When every association goes to one controller address (one subsystem), a host line without its `new ctrl` can only be about that path. */
function singlePath(assocs: AnchorAssoc[]): DevicePath | undefined {
  const first = assocs[0];
  if (!first) return undefined;
  const subnqn = assocs.find((a) => a.subnqn !== undefined)?.subnqn;
  const one = assocs.every((a) => a.controller === first.controller && (a.subnqn === undefined || a.subnqn === subnqn));
  return one ? { subnqn, addr: first.controller } : undefined;
}

/**
 * The association a line is about: for a host device, the newest association of its path and of
 * its own host that had started by then (none when several hosts share the path and the device's
 * host is unknown); for a target controller number, the newest association with that controller id.
 */
function tie(e: KernelEvent, time: number, assocs: AnchorAssoc[], path: DevicePath | undefined, host: HostId | undefined): AnchorAssoc | undefined {
  let best: AnchorAssoc | undefined;
  let hostsSeen: HostId | undefined;
  let severalHosts = false;
  for (const a of assocs) {
    if (a.first.time > time + SLACK_S) continue;
    if (e.side === 'target') {
      if (e.ctrl === undefined || a.cntlid !== e.ctrl) continue;
    } else {
      if (!e.device || !path || !onPath(a, path)) continue;
      if (host && !sameHost(a, host)) continue;
      if (!host) {
        if (hostsSeen && !sameHost(a, hostsSeen)) severalHosts = true;
        hostsSeen ??= { hostnqn: a.hostnqn, hostAddress: a.hostAddress };
      }
    }
    if (!best || a.first.time > best.first.time) best = a;
  }
  return severalHosts ? undefined : best;
}

/** Whether command `c` can be the one timeout line `e` (placed at `time`) names: identifier, queue, outstanding then. */
function names(line: KernelEvent, time: number, c: Candidate): 'queue' | 'unnumbered' | false {
  const e = timeoutOf(line);
  if (e.cid !== undefined ? c.cid !== e.cid : (c.cid & 0xfff) !== e.tag) return false;
  if (c.time > time + SLACK_S || (c.doneTime !== undefined && c.doneTime < time - SLACK_S)) return false;
  if (c.qid === e.qid) return 'queue';
  // A queue the capture cannot number may be the I/O queue the line names; never the admin queue.
  return c.qid === undefined && e.qid !== 0 ? 'unnumbered' : false;
}

function tagOf(line: KernelEvent): number {
  const e = timeoutOf(line);
  return e.cid !== undefined ? e.cid & 0xfff : e.tag ?? -1;
}

function fits(e: KernelEvent, time: number, candidates: CandidateIndex): boolean {
  return (candidates.get(tagOf(e)) ?? []).some((c) => names(e, time, c) !== false);
}

/**
 * The command a timeout line names: same queue and identifier, on the line's association (or its
 * host's), submitted before it and not answered by then; the newest such. On a queue the capture
 * cannot number, only a unique candidate is taken: with two, nothing is guessed.
 */
function match(p: Placed, candidates: CandidateIndex, host: HostId | undefined): { command?: Candidate; fits: number; across?: 'associations' } {
  let best: Candidate | undefined;
  const unnumbered: Candidate[] = [];
  const associations = new Set<number>();
  for (const c of candidates.get(tagOf(p.e)) ?? []) {
    if (p.assoc ? c.assoc.id !== p.assoc.id : host !== undefined && !sameHost(c.assoc, host)) continue;
    const how = names(p.e, p.time, c);
    if (how === 'queue') {
      associations.add(c.assoc.id);
      if (!best || c.time > best.time) best = c;
    } else if (how === 'unnumbered') unnumbered.push(c);
  }
  // A line tied to no association may name a command on any: only one association's may fit.
  if (best && !p.assoc && associations.size > 1) return { fits: associations.size, across: 'associations' };
  if (best) return { command: best, fits: 1 };
  return unnumbered.length === 1 ? { command: unnumbered[0], fits: 1 } : { fits: unnumbered.length };
}

/** Per host device, in log order: error recovery starts, the timeout or keep-alive failure before it, the timeouts after it. */
class EpisodeTracker {
  readonly all: Episode[] = [];
  private readonly state = new Map<string, { episode: Episode | undefined; trigger: Placed | undefined }>();

  step(p: Placed): void {
    const e = p.e;
    if (e.side !== 'host' || !e.device) return;
    const key = `${e.source}:${e.boot}:${e.device}`;
    let s = this.state.get(key);
    if (!s) this.state.set(key, (s = { episode: undefined, trigger: undefined }));
    if (e.kind === 'io-timeout' || e.kind === 'keep-alive-failed') {
      if (s.episode) {
        if (e.kind === 'io-timeout' && p.command) s.episode.during.push(p);
      } else s.trigger ??= p;
    } else if (e.kind === 'error-recovery') {
      if (!s.episode) {
        s.episode = { start: p, trigger: s.trigger, assoc: s.trigger?.assoc ?? p.assoc, during: [] };
        this.all.push(s.episode);
      }
    } else if (e.kind === 'reconnected' || e.kind === 'new-ctrl' || e.kind === 'removing-ctrl') {
      s.episode = undefined;
      s.trigger = undefined;
    }
  }
}

function line(p: Placed): KernelLine {
  return { source: p.e.source, line: p.e.line, time: round6(p.time), afterFrame: p.afterFrame, text: p.e.text };
}

const NOT_A_TIMEOUT: KernelEventFields['io-timeout'] = Object.freeze({});

/** What a timeout line names (queue, tag, CID, opcode); nothing for a line of another kind. */
function timeoutOf(e: KernelEvent): KernelEventFields['io-timeout'] {
  return e.kind === 'io-timeout' ? e : NOT_A_TIMEOUT;
}

/** The command's queue id: the capture's, or the one its timeout line named. */
function qidOf(p: Placed): number {
  return p.command?.qid ?? timeoutOf(p.e).qid ?? 0;
}

function duringRecovery(ctx: RuleContext, ep: Episode, t: Placed, retries: RetryFinding[]): void {
  const c = t.command!;
  const qid = qidOf(t);
  const retry = retries.find((f) => f.details.originalFrame === c.frame && f.details.originalQid === (c.qid ?? null) && f.details.originalCid === c.cid);
  const details = {
    opcode: c.opcode, qid, cid: c.cid, submitFrame: c.frame, timeout: line(t), recoveryStarted: line(ep.start),
    retry: retry ? { ruleId: retry.ruleId, frame: retry.details.retryFrame } : null,
  };
  const place = { frames: retry ? [c.frame, retry.details.retryFrame] : [c.frame], time: t.time, assoc: c.assoc.id, qid, cid: c.cid };
  ctx.findings.add(TIMEOUT_DURING_RECOVERY, place, details, { dataChanging: c.dataChanging });
}

/** Adds the log's evidence to a retry finding: trigger, the original's timeout, and the target giving up. */
function enrich(ctx: RuleContext, f: RetryFinding, episodes: Episode[], own: Map<Candidate, Placed>, gaveUps: Map<number, Placed>): void {
  const d = f.details;
  const ep = episodes.find((x) => x.assoc?.id === d.originalAssoc && x.start.time <= f.time + SLACK_S);
  let mine: Placed | undefined;
  for (const [c, p] of own) if (c.frame === d.originalFrame && c.cid === d.originalCid) mine = p;
  const gaveUp = gaveUps.get(d.originalAssoc);
  if (!ep && !mine && !gaveUp) return;
  const trigger = ep?.trigger;
  d.kernelLog = {
    trigger: trigger ? { ...line(trigger), command: trigger.command ? { frame: trigger.command.frame, qid: qidOf(trigger), cid: trigger.command.cid } : null } : null,
    originalTimeout: mine ? line(mine) : null,
    duringRecovery: mine !== undefined && ep !== undefined && ep.during.includes(mine),
  };
  if (trigger) {
    const c = trigger.command;
    d.trigger = trigger.e.kind === 'keep-alive-failed' || (c && qidOf(trigger) === 0 && c.opcode === 'Keep Alive')
      ? `keep-alive timeout (kernel log line ${trigger.e.line})`
      : c ? `I/O timeout of ${c.opcode} CID ${hex(c.cid)} (frame ${frameLabel(c.frame)}; kernel log line ${trigger.e.line})` : `I/O timeout (kernel log line ${trigger.e.line})`;
    d.evidence.push({ step: 'kernel-log', frame: trigger.afterFrame, time: trigger.time, what: E.kernel('recovery trigger', trigger.e.text, trigger.e.line) });
  }
  if (ep) d.evidence.push({ step: 'kernel-log', frame: ep.start.afterFrame, time: ep.start.time, what: E.kernel('error recovery starts', ep.start.e.text, ep.start.e.line) });
  if (mine && mine !== trigger) d.evidence.push({ step: 'kernel-log', frame: mine.afterFrame, time: mine.time, what: E.kernel('the original times out', mine.e.text, mine.e.line) });
  if (gaveUp) {
    const retryTime = f.time;
    d.controllerGaveUpAt = { ...line(gaveUp), timerSeconds: (gaveUp.e.kind === 'keep-alive-expired' ? gaveUp.e.seconds : undefined) ?? 0, marginMs: msOf(retryTime - gaveUp.time) };
    d.evidence.push({ step: 'kernel-log', frame: gaveUp.afterFrame, time: gaveUp.time, what: E.kernel('the target gives up on the controller', gaveUp.e.text, gaveUp.e.line) });
  }
  deriveFromEvidence(f);
}

function event(e: KernelEvent, time: number | null, afterFrame: number | null, assoc: AnchorAssoc | undefined, command: Candidate | undefined, qidFromLog: boolean): KernelLogEvent {
  return {
    source: e.source, line: e.line, side: e.side, kind: e.kind, text: e.text, time: time === null ? null : round6(time), afterFrame,
    assoc: assoc?.id ?? null, command: command ? { frame: command.frame, qid: command.qid ?? timeoutOf(e).qid ?? 0, cid: command.cid, qidFromLog } : null,
  };
}

