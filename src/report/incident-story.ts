import { frameLabel, frameTag } from '../common/frame-ref.js';
/**
 * An incident told in a few steps and one row per command: the words every report format uses
 * (text, Markdown, CI annotations), so they tell the same story.
 */
import { maxOf, minOf } from '../common/numbers.js';
import { count, hex } from '../common/text.js';
import { commandKinds } from '../correlate/incidents.js';
import type { Incident, IncidentCommand, Stamp } from '../correlate/types.js';
import type { Report } from './types.js';

export interface StoryStep {
  time: number;
  /** "frame 41", "frames 17–40", "kernel log line 3". */
  where: string;
  what: string;
}

const s3 = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

function frames(list: number[]): string {
  if (list.length === 0) return '';
  const lo = minOf(list);
  const hi = maxOf(list);
  return lo === hi ? `frame ${frameLabel(lo)}` : `frames ${frameLabel(lo)}–${frameLabel(hi)}`;
}

function cidRange(commands: readonly IncidentCommand[]): string {
  const cids = commands.map((c) => c.cid);
  if (cids.length === 1) return `CID ${hex(cids[0])}`;
  // A few are named; a burst's contiguous CIDs are a range.
  return cids.length <= 4 ? `CIDs ${cids.map((c) => hex(c)).join(', ')}` : `CIDs ${hex(minOf(cids))}–${hex(maxOf(cids))}`;
}

/** Whether the commands got there: from the target-side capture when one watched (--same-traffic), else from the controller's ACKs. */
function arrivalWords(all: Incident['commands']): string {
  const watched = all.filter((c) => c.reachedController !== undefined);
  if (watched.length) {
    const reached = watched.filter((c) => c.reachedController).length;
    const them = all.length === 1 ? 'it' : 'them';
    return reached === 0 ? `; the target-side capture never shows ${them} arriving` : `; the target-side capture shows ${reached === all.length ? (all.length === 1 ? 'it' : 'all') : reached} arriving`;
  }
  const acked = all.filter((c) => c.arrival).length;
  return acked ? `; the controller acknowledged ${acked === all.length ? 'all' : acked}` : '';
}

/** The incident's timeline, in time order: what went out, the last contact, the recovery, the take-over, the retries, the late completions. */
export function incidentStory(i: Incident): StoryStep[] {
  const steps: StoryStep[] = [];
  const all = i.commands;
  if (all.length) {
    const first = minOf(all.map((c) => c.time));
    steps.push({
      time: first, where: frames(all.map((c) => c.frame)),
      what: `${commandKinds(all)} sent on association ${i.assoc} (${cidRange(all)})${arrivalWords(all)}; ${i.counts.commands === i.counts.retried ? 'none' : 'not all'} completed on it`,
    });
  }
  if (i.lastControllerContact) steps.push({ time: i.lastControllerContact.time, where: `frame ${frameLabel(i.lastControllerContact.frame)}`, what: `last packet from the controller of association ${i.assoc}` });
  if (i.recoveryStart) {
    const during = i.counts.timedOutDuringRecovery;
    steps.push({
      time: i.recoveryStart.time, where: `kernel log line ${i.recoveryStart.line}`,
      what: `error recovery starts: "${i.recoveryStart.text}"${during ? `; ${count(during, 'more command')} timed out during it (failed at once, not after KATO)` : ''}`,
    });
  }
  if (i.teardown) steps.push({ time: i.teardown.time, where: `frame ${frameLabel(i.teardown.frame)}`, what: `${i.teardown.from} ${i.teardown.kind.toUpperCase()} on association ${i.assoc} (${i.trigger})` });
  const tries = i.attempts.unanswered + i.attempts.refused;
  if (i.restored && i.tookOver !== null) {
    steps.push({
      time: i.restored.time, where: `frame ${frameLabel(i.restored.frame)}`,
      what: `association ${i.tookOver} takes over${i.restoredAfterMs === null ? '' : `, ${s3(i.restoredAfterMs)} after the last controller contact`}${tries ? ` (${count(tries, 'failed attempt')} before)` : ''}`,
    });
  } else if (i.tookOver === null) {
    steps.push({ time: i.lastTime, where: '', what: `nothing took over before the capture ended${tries ? ` (${count(tries, 'failed attempt')})` : ''}` });
  }
  const retried = all.filter((c) => c.retry);
  if (retried.length) {
    const firstRetry = minOf(retried.map((c) => c.retry!.time));
    steps.push(retryStep(i, retried, firstRetry));
    if (i.controllerTimer) steps.push(timerStep(i.controllerTimer, retried.length, firstRetry));
  }
  const late = all.filter((c) => c.lateCompletion);
  if (late.length) {
    const stamps = late.map((c) => c.lateCompletion as Stamp);
    steps.push({
      time: minOf(stamps.map((x) => x.time)), where: frames(stamps.map((x) => x.frame)),
      what: `the old controller completes ${count(late.length, 'original')} after ${late.length === 1 ? 'its' : 'their'} retry${i.counts.ranTwice ? `: ${i.counts.ranTwice} ran twice` : ''}`,
    });
  }
  return steps.sort((a, b) => a.time - b.time);
}

/** The incident's retries as one step: when, how long after the last contact, their verdicts and the rule's wait. */
function retryStep(i: Incident, retried: IncidentCommand[], first: number): StoryStep {
  const gaps = retried.map((c) => c.retry!.gapMs).filter((g): g is number => g !== null);
  const d = i.deadline;
  const gap = gaps.length ? `${s3(minOf(gaps))}${maxOf(gaps) - minOf(gaps) >= 1 ? `–${s3(maxOf(gaps))}` : ''} after the last contact` : '';
  const verdict = [['before-kato', 'before KATO'], ['after-kato', 'after KATO'], ['after-fence', 'after a fence']]
    .map(([v, words]) => [retried.filter((c) => c.verdict === v).length, words] as const).filter(([n]) => n > 0).map(([n, words]) => `${n} ${words}`).join(', ');
  return {
    time: first, where: frames(retried.map((c) => c.retry!.frame)),
    what: `${retried.length} ${retried.length === 1 ? 'retry' : 'retries'} on association ${retried[0].retry!.assoc}, ${gap}: ${verdict}` +
      (d ? ` (the rule ${d.rule} requires ${s3(d.requiredMs)}: KATO ${d.katoMs} ms${d.cqtMs ? ` + CQT ${d.cqtMs} ms` : ''})` : ''),
  };
}

/** With a target-side capture: the last command reaching the old controller, and when its keep-alive timer runs out against the first retry. */
function timerStep(timer: NonNullable<Incident['controllerTimer']>, retries: number, first: number): StoryStep {
  const [a, b] = [timer.runsOutFrom - first, timer.runsOutTo - first];
  const side = (x: number) => (x >= 0 ? 'after' : 'before');
  const near = Math.min(Math.abs(a), Math.abs(b)) * 1000;
  const far = Math.max(Math.abs(a), Math.abs(b)) * 1000;
  const span = a === b ? `${s3(Math.abs(a) * 1000)} ${side(a)}` : side(a) === side(b) ? `${s3(near)}–${s3(far)} ${side(a)}` : `between ${s3(Math.abs(a) * 1000)} before and ${s3(b * 1000)} after`;
  return {
    time: timer.lastCommandTime, where: `frame ${frameLabel(timer.frame)}`,
    what: `the last command the target-side capture shows reaching the old controller: its keep-alive timer runs out ${span} the ${retries === 1 ? 'retry' : 'first retry'}`,
  };
}

/** One command of an incident as table cells: CID, command, sent, arrived, timed out, retry, verdict, afterwards. */
export const COMMAND_COLUMNS = ['CID', 'command', 'sent', 'acked', 'timed out', 'retry', 'verdict', 'afterwards'];

export function commandCells(c: IncidentCommand, rel: (t: number) => string): string[] {
  const range = c.slba === null ? '' : ` ${c.slba}+${c.nlb ?? '?'}`;
  return [
    hex(c.cid), `${c.opcode}${range}`, `${frameTag(c.frame)}`, c.arrival ? frameTag(c.arrival.frame) : c.reachedController === false ? 'never' : '-', c.timedOutDuringRecovery ? 'in recovery' : '-',
    c.retry ? `${frameTag(c.retry.frame)} a${c.retry.assoc} ${rel(c.retry.time)}` : '-', c.verdict,
    c.ranTwice ? `ran twice${c.lateCompletion ? ` ${frameTag(c.lateCompletion.frame)}` : ''}` : c.aliveAfterRetry ? 'alive after retry' : '-',
  ];
}

/** One line for CI: the verdict and the counts that matter ("24 commands, 24 retried before KATO, 14 ran twice"). */
export function incidentSummary(i: Incident): string {
  const c = i.counts;
  const parts = [count(c.commands, 'command')];
  if (c.beforeKato) parts.push(`${c.beforeKato} retried before KATO`);
  if (c.afterKato) parts.push(`${c.afterKato} after KATO`);
  if (c.afterFence) parts.push(`${c.afterFence} after a fence`);
  if (c.notRetried) parts.push(`${c.notRetried} not retried`);
  if (c.timedOutDuringRecovery) parts.push(`${c.timedOutDuringRecovery} timed out during recovery`);
  if (c.ranTwice) parts.push(`${c.ranTwice} ran twice`);
  return `${i.verdict} [${parts.join(', ')}; ${count(i.findings.length, 'finding')}]`;
}

/** Indexes of the findings some incident tells: every report tells them there, not again on their own. */
export function toldByIncidents(report: Report): Set<number> {
  return new Set(report.incidents.flatMap((i) => i.findings));
}
