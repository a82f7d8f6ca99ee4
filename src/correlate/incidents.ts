/**
 * Incidents: each break in service of a path (a recovery episode) told once, with the findings it
 * is made of and one row per command it caught. Built from what the report already holds — the
 * episodes and the findings — so the findings stay exactly as they are for machines, and the
 * memory is that of the findings (already capped), not of the capture.
 */
import { maxOf, minOf } from '../common/numbers.js';
import { count } from '../common/text.js';
import { frameRangeFilter } from './finding-collector.js';
import { requiredWaitMs } from './rules/retries.js';
import {
  isCountLine, isRetryFinding, reaches, worse, type AssociationSummary, type RetryFinding, type Finding, type Incident, type IncidentCommand, type KernelLine,
  type RecoveryEpisode, type RetryRule, type Severity,
} from './types.js';

/** Commands listed per incident; the rest are counted. */
export const INCIDENT_COMMANDS_LISTED = 200;

/**
 * Ends that are a failure by themselves. Others (a host disconnect, a CC shutdown, an "I/O timeout"
 * that may only be a completion the capture lost) are an incident only when a warning or an error
 * comes with them.
 */
const FAILURES = new Set(['keep-alive timeout', 'controller close', 'TermReq']);

/** Findings about the association that broke which belong to its story (others, such as an old error status, stay apart). */
const OF_THE_BREAK = new Set<Finding['ruleId']>(['unanswered-command', 'connection-reset', 'keep-alive-timeout', 'timeout-during-recovery', 'term-req']);

export function buildIncidents(episodes: readonly RecoveryEpisode[], findings: readonly Finding[], associations: readonly AssociationSummary[], rule: RetryRule): Incident[] {
  const incidents: Incident[] = [];
  const byAssoc = new Map(associations.map((a) => [a.id, a]));
  // Each finding's index under the association whose break it belongs to: one pass, not one per episode.
  const membersOf = new Map<number, number[]>();
  findings.forEach((f, i) => {
    const assoc = breakOf(f);
    if (assoc === null) return;
    const list = membersOf.get(assoc);
    if (list) list.push(i);
    else membersOf.set(assoc, [i]);
  });
  for (const e of [...episodes].sort((a, b) => (a.teardown?.time ?? a.lastControllerContact?.time ?? 0) - (b.teardown?.time ?? b.lastControllerContact?.time ?? 0) || a.endedAssoc - b.endedAssoc)) {
    const members = membersOf.get(e.endedAssoc) ?? [];
    const serious = members.some((k) => reaches(findings[k].severity, 'warning'));
    if (!serious && !FAILURES.has(e.trigger)) continue;
    incidents.push(incidentOf(incidents.length + 1, e, members, findings, byAssoc.get(e.endedAssoc), rule));
  }
  return incidents;
}

/** The association whose break a finding is part of, if any: the original's for retries and what followed them. */
function breakOf(f: Finding): number | null {
  if (isCountLine(f)) return null;
  if (isRetryFinding(f)) return f.details.originalAssoc;
  if (f.ruleId === 'duplicate-execution' || f.ruleId === 'original-alive-after-retry') return f.details.originalAssoc;
  return OF_THE_BREAK.has(f.ruleId) ? f.assoc : null;
}

/** The commands an incident's findings name, one row each, and what those findings say of the recovery. */
class CommandRows {
  private readonly rows = new Map<string, IncidentCommand>();
  recoveryStart: KernelLine | null = null;
  deadline: Incident['deadline'] = null;
  controllerTimer: Incident['controllerTimer'];

  /** The row of the command submitted in `frame` with `cid`, made from `fill` the first time. */
  private row(frame: number, cid: number, fill: () => Omit<IncidentCommand, 'frame' | 'cid'>): IncidentCommand {
    const key = `${frame}/${cid}`;
    let c = this.rows.get(key);
    if (!c) {
      const { qid, ...rest } = fill();
      this.rows.set(key, (c = { qid, cid, ...rest, frame }));
    }
    return c;
  }

  /** A retry finding: it carries the most about its command (retry, verdict, arrival, the recovery's start, the deadline). */
  retry(f: RetryFinding): void {
    const d = f.details;
    const c = this.row(d.originalFrame, d.originalCid, () => blank(d.originalQid, d.opcode, d.slba, d.nlb, d.originalTime));
    c.retry = { frame: d.retryFrame, time: f.time, assoc: d.retryAssoc, gapMs: d.gapMs };
    c.verdict = f.ruleId === 'retry-before-kato' ? 'before-kato' : f.ruleId === 'retry-after-kato' ? 'after-kato' : 'after-fence';
    c.arrival = d.arrival && { frame: d.arrival.frame, time: d.arrival.time };
    if (d.reachedController !== undefined) c.reachedController = d.reachedController;
    c.severity = worse(c.severity, f.severity);
    if (d.kernelLog?.duringRecovery) c.timedOutDuringRecovery = true;
    this.recoveryStart ??= d.kernelLog?.trigger ? lineOf(d.kernelLog.trigger) : null;
    const heard = d.controllerLastCommand;
    if (heard && !this.controllerTimer) {
      const retryAt = f.time;
      this.controllerTimer = { frame: heard.frame, lastCommandTime: heard.time, runsOutFrom: retryAt + heard.timerEndsAfterRetryMs.from / 1000, runsOutTo: retryAt + heard.timerEndsAfterRetryMs.to / 1000 };
    }
    if (!this.deadline) {
      const contact = d.lastControllerContactTime;
      this.deadline = { rule: d.rule, requiredMs: d.requiredMs, katoMs: d.katoMs, cqtMs: d.cqtMs, time: contact === null ? null : contact + d.requiredMs / 1000 };
    }
  }

  /** Any other member finding about a command: what it adds to the command's row. */
  other(f: Finding): void {
    if (isCountLine(f)) return;
    switch (f.ruleId) {
      case 'unanswered-command': {
        if (f.cid === null) return;
        const d = f.details;
        this.row(d.submitFrame, f.cid, () => blank(f.qid, d.opcode, null, null, f.time));
        return;
      }
      case 'timeout-during-recovery': {
        const d = f.details;
        const c = this.row(d.submitFrame, d.cid, () => blank(d.qid, d.opcode, null, null, f.time));
        c.timedOutDuringRecovery = true;
        c.severity = worse(c.severity, f.severity);
        this.recoveryStart ??= lineOf(d.recoveryStarted);
        return;
      }
      case 'duplicate-execution': {
        const d = f.details;
        const c = this.row(d.originalFrame, d.originalCid, () => blank(d.originalQid, d.opcode, d.slba, d.nlb, d.originalTime));
        c.ranTwice = true;
        c.lateCompletion = d.lateCompletionFrame !== null && d.lateCompletionTime !== null ? { frame: d.lateCompletionFrame, time: d.lateCompletionTime } : null;
        c.severity = worse(c.severity, f.severity);
        return;
      }
      case 'original-alive-after-retry': {
        const d = f.details;
        const c = this.row(d.originalFrame, d.originalCid, () => blank(d.originalQid, d.opcode, d.slba, d.nlb, d.originalTime));
        c.aliveAfterRetry = true;
        c.severity = worse(c.severity, f.severity);
        return;
      }
      default:
    }
  }

  /** Every row, in submission order. */
  all(): IncidentCommand[] {
    return [...this.rows.values()].sort((x, y) => x.frame - y.frame || x.cid - y.cid);
  }
}

function incidentOf(id: number, e: RecoveryEpisode, members: number[], findings: readonly Finding[], a: AssociationSummary | undefined, rule: RetryRule): Incident {
  const rows = new CommandRows();
  let severity: Severity = 'info';
  const frames: number[] = [];
  const times: number[] = [];
  for (const i of members) {
    const f = findings[i];
    severity = worse(severity, f.severity);
    for (const x of f.frames) frames.push(x);
    times.push(f.time);
  }
  // Retries first: they carry the most about each command.
  for (const i of members) if (isRetryFinding(findings[i])) rows.retry(findings[i] as RetryFinding);
  for (const i of members) if (!isRetryFinding(findings[i])) rows.other(findings[i]);
  let deadline = rows.deadline;
  if (!deadline && a && e.lastControllerContact) {
    const requiredMs = requiredWaitMs(rule, a);
    deadline = { rule, requiredMs, katoMs: a.katoMs, cqtMs: a.cqtMs, time: e.lastControllerContact.time + requiredMs / 1000 };
  }
  const all = rows.all();
  for (const stamp of [e.lastControllerContact, e.teardown, e.restored]) {
    if (!stamp) continue;
    frames.push(stamp.frame);
    times.push(stamp.time);
  }
  const incident: Incident = {
    id, severity, verdict: '', path: e.path, assoc: e.endedAssoc, tookOver: e.tookOver, trigger: e.trigger,
    lastControllerContact: e.lastControllerContact, teardown: e.teardown, recoveryStart: rows.recoveryStart, attempts: e.attempts,
    restored: e.restored, restoredAfterMs: e.restoredAfterMs, deadline, counts: countsOf(all),
    commands: all.slice(0, INCIDENT_COMMANDS_LISTED), commandsNotListed: Math.max(0, all.length - INCIDENT_COMMANDS_LISTED),
    findings: members, wiresharkFilter: frameRangeFilter(frames), firstFrame: minOf(frames), lastFrame: maxOf(frames), firstTime: minOf(times), lastTime: maxOf(times),
  };
  if (rows.controllerTimer) {
    incident.controllerTimer = rows.controllerTimer;
    frames.push(rows.controllerTimer.frame);
    incident.wiresharkFilter = frameRangeFilter(frames);
  }
  incident.verdict = verdictOf(incident, all);
  return incident;
}

function countsOf(all: readonly IncidentCommand[]): Incident['counts'] {
  const n = (test: (c: IncidentCommand) => boolean) => all.filter(test).length;
  return {
    commands: all.length, retried: n((c) => c.retry !== null),
    beforeKato: n((c) => c.verdict === 'before-kato'), afterKato: n((c) => c.verdict === 'after-kato'),
    afterFence: n((c) => c.verdict === 'after-fence'), notRetried: n((c) => c.verdict === 'not-retried'),
    timedOutDuringRecovery: n((c) => c.timedOutDuringRecovery), ranTwice: n((c) => c.ranTwice), aliveAfterRetry: n((c) => c.aliveAfterRetry),
  };
}

function blank(qid: number | null, opcode: string, slba: number | null, nlb: number | null, time: number): Omit<IncidentCommand, 'frame' | 'cid'> {
  return {
    qid, opcode, slba, nlb, time, arrival: null, timedOutDuringRecovery: false, retry: null, verdict: 'not-retried',
    ranTwice: false, lateCompletion: null, aliveAfterRetry: false, severity: 'info',
  };
}

function lineOf(k: KernelLine): KernelLine {
  return { source: k.source, line: k.line, time: k.time, afterFrame: k.afterFrame, text: k.text };
}

/** "24 writes", "2 commands (1 write, 1 read)". */
export function commandKinds(commands: readonly IncidentCommand[]): string {
  const kinds = new Map<string, number>();
  for (const c of commands) kinds.set(c.opcode.toLowerCase(), (kinds.get(c.opcode.toLowerCase()) ?? 0) + 1);
  if (kinds.size === 1) {
    const [[kind, n]] = [...kinds];
    return `${n} ${kind}${n === 1 ? '' : 's'}`;
  }
  return `${count(commands.length, 'command')} (${[...kinds].sort((x, y) => y[1] - x[1]).map(([k, n]) => `${n} ${k}`).join(', ')})`;
}

function verdictOf(i: Incident, commands: readonly IncidentCommand[]): string {
  const c = i.counts;
  const head = `association ${i.assoc} broke (${i.trigger})`;
  if (c.retried === 0) {
    const restored = i.tookOver === null ? 'not restored before the capture ended' : `association ${i.tookOver} took over${i.restoredAfterMs === null ? '' : ` ${(i.restoredAfterMs / 1000).toFixed(3)} s after the last controller contact`}`;
    return `${head}: ${restored}; ${c.commands ? `${commandKinds(commands)} left without completion, none retried` : 'no command caught'}`;
  }
  const parts: string[] = [];
  const early = commands.filter((x) => x.verdict === 'before-kato');
  if (early.length) parts.push(`${commandKinds(early)} resubmitted before KATO`);
  const after = commands.filter((x) => x.verdict === 'after-kato');
  const fenced = commands.filter((x) => x.verdict === 'after-fence');
  // The first part names the commands; the others only count them.
  if (after.length) parts.push(parts.length ? `${after.length} after KATO` : `${commandKinds(after)} resubmitted after KATO`);
  if (fenced.length) parts.push(parts.length ? `${fenced.length} after a fence` : `${commandKinds(fenced)} resubmitted after a fence`);
  if (c.ranTwice) parts.push(`${c.ranTwice} ran twice`);
  if (c.timedOutDuringRecovery) parts.push(`${c.timedOutDuringRecovery} timed out during recovery`);
  return `${head}: ${parts.join('; ')}`;
}
