import { frameLabel, frameTag } from '../common/frame-ref.js';
import { count, escapeControl, hex } from '../common/text.js';
import { COMMAND_COLUMNS, commandCells, incidentStory, toldByIncidents } from './incident-story.js';
import { firstTeardown, isCountLine, isLineStep, isRetryFinding, SEVERITY_RANK, worse, type Finding, type Incident, type RetryFinding, type Severity } from '../correlate/types.js';
import type { Report } from './types.js';
import { tlsSummary } from './tls-summary.js';
import { sameTrafficLines } from './same-traffic.js';
import { NOISY_RULES } from '../correlate/findings/index.js';
import { append } from '../common/numbers.js';

/** Rules that can fire once per command, segment or connection: counted in one table row each, not listed. */
const SUMMARISED = NOISY_RULES;
/** Other findings listed one by one before the rest are counted. */
const LISTED_MAX = 10;

export interface MarkdownOptions {
  /** The command line that produced the report, shown at the end. */
  commandLine?: string;
}

/**
 * Text every capture-derived string goes through: what can open emphasis, code,
 * a link, an image, a table cell, strikethrough or a tag is backslash-escaped or
 * an entity; so are a block marker at the start and autolink triggers. An NQN
 * stays readable in the raw text and cannot change the document's structure.
 * Newlines become spaces.
 */
export function mdText(text: string): string {
  return escapeControl(text.replace(/[\r\n]+/g, ' '))
    .replace(/[\\`*_[\]|~!]/g, (c) => `\\${c}`)
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/:\/\//g, ':\\/\\/').replace(/\bwww\./gi, (w) => `${w.slice(0, 3)}\\.`)
    .replace(/^(\s*)([#+\-=>]|\d+(?=[.)]))/, (_m, space: string, lead: string) => `${space}${/^\d/.test(lead) ? lead + '\\' : '\\' + lead}`);
}

/** A code span that no backtick inside can end early. */
export function mdCode(text: string): string {
  const safe = escapeControl(text.replace(/[\r\n]+/g, ' '));
  const fence = '`'.repeat(Math.max(1, ...[...safe.matchAll(/`+/g)].map((m) => m[0].length + 1)));
  return `${fence}${fence.length > 1 ? ' ' : ''}${safe}${fence.length > 1 ? ' ' : ''}${fence}`;
}

function row(cells: (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** "2 commands resubmitted before KATO: 1 write, 1 read" — the line a maintainer reads first. */
export function verdictLine(report: Report): string {
  const early = report.findings.filter(isRetryFinding).filter((f) => f.ruleId === 'retry-before-kato');
  const others = report.findings.filter(isRetryFinding).length - early.length;
  // What the incidents tell (ran twice, timed out during recovery) is said as such, not counted again as "other errors".
  const told = toldByIncidents(report);
  const ranTwice = report.incidents.reduce((total, i) => total + i.counts.ranTwice, 0);
  const errors = report.findings.filter((f, k) => f.severity === 'error' && f.ruleId !== 'retry-before-kato' && !told.has(k)).length;
  const tail = [others ? `${others} after KATO or a fence` : '', ranTwice ? `${ranTwice} ran twice` : '', errors ? `${errors} other error finding${errors === 1 ? '' : 's'}` : ''].filter(Boolean).join('; ');
  if (early.length === 0) return `No command resubmitted before KATO${tail ? ` (${tail})` : ''}.`;
  // Commands that change data (severity error) first: they are the ones that can corrupt it.
  const kinds = new Map<string, { n: number; changes: boolean }>();
  for (const f of early) {
    const kind = f.details.opcode.toLowerCase();
    const k = kinds.get(kind) ?? { n: 0, changes: f.severity === 'error' };
    k.n++;
    kinds.set(kind, k);
  }
  const parts = [...kinds].sort((a, b) => Number(b[1].changes) - Number(a[1].changes) || b[1].n - a[1].n || (a[0] < b[0] ? -1 : 1)).map(([k, v]) => `${v.n} ${k}`);
  return `${early.length} command${early.length === 1 ? '' : 's'} resubmitted before KATO: ${parts.join(', ')}${tail ? ` (${tail})` : ''}.`;
}

/** A report for a GitHub/GitLab issue or a mailing list: short enough to paste. */
export function renderMarkdown(report: Report, options: MarkdownOptions = {}): string {
  const t0 = report.capture.firstTime ?? 0;
  const rel = (t: number) => `${(t - t0).toFixed(6)} s`;
  const out: string[] = [];
  out.push(`**${mdText(verdictLine(report))}**`, '');
  const s = report.summary;
  out.push(`Capture ${mdCode(report.capture.file)}: ${report.capture.format}${report.capture.compressed ? ' (gzip)' : ''}, ${count(report.capture.frames, 'frame')}, ` +
    `${count(s.associations, 'association')}, ${count(s.commands, 'command')}; findings: ${s.findings.error} error, ${s.findings.warning} warning, ${s.findings.info} info.`);
  const twin = sameTrafficLines(report);
  if (twin.length) out.push('', ...twin.map((line) => `- ${mdText(line)}`));
  for (const line of tlsSummary(report.tls)) out.push('', mdText(line) + '.');
  if (report.problems.capture) out.push('', `> The capture is damaged at byte ${report.problems.capture.byteOffset}: ${mdText(report.problems.capture.message)}; everything before it was analysed.`);

  for (const i of report.incidents) out.push('', ...incidentSection(i, report.findings, rel));
  // Findings an incident tells are not told again.
  const inIncidents = toldByIncidents(report);
  const findings = report.findings.filter((_, k) => !inIncidents.has(k));
  const retries = findings.filter(isRetryFinding).sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || a.time - b.time);
  for (const f of retries) out.push('', ...retrySection(f, rel));

  const others = findings.filter((f) => !isRetryFinding(f) && !SUMMARISED.has(f.ruleId) && !('suppressed' in f.details));
  if (others.length) {
    out.push('', '### Other findings', '', row(['severity', 'rule', 'time', 'frames', 'finding']), row(['---', '---', '---', '---', '---']));
    for (const f of others.slice(0, LISTED_MAX)) out.push(row([f.severity, f.ruleId, rel(f.time), f.frames.slice(0, 8).map(frameLabel).join(' '), mdText(f.message)]));
    if (others.length > LISTED_MAX) out.push('', `${others.length - LISTED_MAX} more in the JSON report.`);
  }
  const counted = countByRule(findings.filter((f) => SUMMARISED.has(f.ruleId)));
  if (counted.length) {
    out.push('', '### Counted', '', row(['rule', 'severity', 'count', 'first frames']), row(['---', '---', '---', '---']));
    for (const c of counted) out.push(row([c.rule, c.severity, c.count, c.frames.map(frameLabel).join(' ')]));
  }

  append(out, associationSection(report));
  append(out, kernelSections(report));
  out.push('', '---', `${mdText(`${report.tool.name} ${report.tool.version}`)}${options.commandLine ? ` · ${mdCode(options.commandLine)}` : ''}`);
  return out.join('\n') + '\n';
}

/** The associations table (the first 20; the JSON report has every one). */
function associationSection(report: Report): string[] {
  const out: string[] = [];
  if (!report.associations.length) return out;
  out.push('', '### Associations', '', row(['#', 'path', 'cntlid', 'KATO', 'from frame', 'last controller contact', 'teardown']), row(['---', '---', '---', '---', '---', '---', '---']));
  const shown = report.associations.slice(0, 20);
  for (const a of shown) {
    const down = firstTeardown(a.queues);
    out.push(row([
      a.id, mdText(a.path), a.cntlid ?? '?', `${a.katoMs} ms (${a.katoSource})`, frameLabel(a.firstFrame),
      a.lastControllerContact ? `frame ${frameLabel(a.lastControllerContact.frame)}` : '-', down ? `${down.from} ${down.kind.toUpperCase()} frame ${frameLabel(down.frame)}` : '-',
    ]));
  }
  if (report.associations.length > shown.length) out.push('', `${report.associations.length - shown.length} more associations in the JSON report.`);
  return out;
}

/** How each kernel log and trace lined up with the capture. */
function kernelSections(report: Report): string[] {
  const out: string[] = [];
  const k = report.kernelLog;
  if (k) {
    out.push('', '### Kernel logs', '');
    for (const [i, src] of k.sources.entries()) {
      const a = k.alignment.find((x) => x.source === i && x.method !== 'none') ?? k.alignment.find((x) => x.source === i);
      out.push(`- ${mdCode(src.file)} (${src.format}): ${a ? mdText(`${a.method === 'none' ? 'not aligned' : `aligned by ${a.method}`}: ${a.message}`) : 'no NVMe line'}`);
    }
  }
  const t = report.kernelTrace;
  if (t) {
    out.push('', '### Kernel traces', '');
    for (const [i, src] of t.sources.entries()) {
      const a = t.alignment[i];
      out.push(`- ${mdCode(src.file)} (${src.format}): ${mdText(`${a.method === 'none' ? 'not aligned' : 'aligned by anchors'}: ${a.message}`)}`);
    }
    const r = t.retries;
    if (r.traced > 0) out.push(`- ${mdText(`retries traced: ${r.traced} (requeued ${r.requeued}, failed over ${r.failedOver}, different request ${r.differentRequest}, not tied ${r.unknown}); executed twice by the target: ${t.executedTwice}`)}`);
  }
  return out;
}

/**
 * An incident: its verdict, its story, one Wireshark filter for all of it, one row per command, and
 * each command's evidence chain on one line, folded (GitHub and GitLab render <details>).
 */
function incidentSection(i: Incident, findings: readonly Finding[], rel: (t: number) => string): string[] {
  const out = [`### Incident ${i.id} · ${i.severity} · ${mdText(i.verdict)}`, '', mdText(i.path), ''];
  out.push(row(['time', 'where', 'what']), row(['---', '---', '---']));
  for (const step of incidentStory(i)) out.push(row([rel(step.time), step.where || '-', mdText(step.what)]));
  out.push('', `Wireshark: ${mdCode(i.wiresharkFilter)}`);
  if (i.commands.length === 0) return out;
  out.push('', row(COMMAND_COLUMNS), row(COMMAND_COLUMNS.map(() => '---')));
  for (const c of i.commands) out.push(row(commandCells(c, rel).map(mdText)));
  if (i.commandsNotListed) out.push('', `${count(i.commandsNotListed, 'more command')} in the JSON report.`);
  // Each command's chain from its retry finding, then what came after it: every frame its findings name.
  const chains = new Map<string, string[]>();
  for (const k of i.findings) {
    const f = findings[k];
    if (!isRetryFinding(f)) continue;
    const d = f.details;
    chains.set(`${d.originalFrame}/${d.originalCid}`, d.evidence.map((e) => `${e.step} ${e.frame === null ? '-' : isLineStep(e.step) ? `after ${frameTag(e.frame)}` : `${frameTag(e.frame)}`}`));
  }
  for (const k of i.findings) {
    const f = findings[k];
    if (isCountLine(f) || (f.ruleId !== 'duplicate-execution' && f.ruleId !== 'original-alive-after-retry')) continue;
    const chain = chains.get(`${f.details.originalFrame}/${f.details.originalCid}`);
    if (!chain) continue;
    const named = chain.join(' ');
    const extra = f.frames.filter((x) => !named.includes(`${frameTag(x)}`));
    chain.push(f.ruleId + (extra.length ? ` ${extra.map((x) => `${frameTag(x)}`).join(' ')}` : ''));
  }
  // A few commands: each retry's evidence table, folded; a burst: one line a command.
  if (i.commands.length <= CHAINS_MAX) {
    for (const k of i.findings) {
      const f = findings[k];
      if (!isRetryFinding(f)) continue;
      const d = f.details;
      out.push('', `<details><summary>${mdText(`Evidence: ${d.opcode}${d.slba !== null ? ` SLBA ${d.slba} NLB ${d.nlb}` : ''} (${f.ruleId})`)}</summary>`, '');
      append(out, evidenceTable(f, rel));
      out.push('', `Wireshark: ${mdCode(f.wiresharkFilter)}`, '', '</details>');
    }
    return out;
  }
  if (chains.size) {
    out.push('', `<details><summary>Evidence, one command a line (${chains.size})</summary>`, '');
    for (const c of i.commands) {
      const chain = chains.get(`${c.frame}/${c.cid}`);
      if (chain) out.push(`- ${mdText(`${hex(c.cid)} ${c.opcode}: ${runs(chain).join(' → ')}`)}`);
    }
    out.push('', '</details>');
  }
  return out;
}

/** Repeated steps once, with a count: "kernel-log after #41 ×3". */
function runs(steps: string[]): string[] {
  const out: string[] = [];
  for (let k = 0; k < steps.length; ) {
    let n = 1;
    while (steps[k + n] === steps[k]) n++;
    out.push(n > 1 ? `${steps[k]} ×${n}` : steps[k]);
    k += n;
  }
  return out;
}

/** Commands of an incident up to which each retry's evidence is a table of its own. */
const CHAINS_MAX = 3;

/** A retry's evidence chain as a table, one step a row. */
function evidenceTable(f: RetryFinding, rel: (t: number) => string): string[] {
  const out = [row(['step', 'frame', 'time', 'what']), row(['---', '---', '---', '---'])];
  for (const e of f.details.evidence) {
    out.push(row([e.step, e.frame === null ? '-' : isLineStep(e.step) ? `after ${frameLabel(e.frame)}` : frameLabel(e.frame), rel(e.time), mdText(e.what)]));
  }
  return out;
}

function retrySection(f: RetryFinding, rel: (t: number) => string): string[] {
  const d = f.details;
  const out = [`### ${f.severity} · ${f.ruleId} · ${mdText(`${d.opcode}${d.slba !== null ? ` SLBA ${d.slba} NLB ${d.nlb}` : ''}`)}`, '', mdText(f.message), ''];
  append(out, evidenceTable(f, rel));
  out.push('', `Wireshark: ${mdCode(f.wiresharkFilter)} · associations ${d.originalAssoc} → ${d.retryAssoc}` +
    ` · KATO ${d.katoMs} ms (${d.katoSource}) · gap ${d.gapMs === null ? '-' : `${(d.gapMs / 1000).toFixed(3)} s`} · trigger ${mdText(d.trigger)}`);
  return out;
}

function countByRule(findings: Finding[]): { rule: string; severity: Severity; count: number; frames: number[] }[] {
  const by = new Map<string, { rule: string; severity: Severity; count: number; frames: number[] }>();
  for (const f of findings) {
    let e = by.get(f.ruleId);
    if (!e) by.set(f.ruleId, (e = { rule: f.ruleId, severity: f.severity, count: 0, frames: [] }));
    const n = 'suppressed' in f.details ? f.details.suppressed : 1;
    e.count += n;
    e.severity = worse(e.severity, f.severity);
    if (e.frames.length < 6 && f.frames.length) e.frames.push(f.frames[0]);
  }
  return [...by.values()].sort((a, b) => (a.rule < b.rule ? -1 : 1));
}
