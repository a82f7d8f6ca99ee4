import { frameLabel } from '../common/frame-ref.js';
import type { Report } from './types.js';
import { incidentSummary, toldByIncidents } from './incident-story.js';

/** Annotations GitHub shows per capture before it starts dropping them: say how many were left out instead. */
const ANNOTATION_CAP = 50;
const COMMAND = { error: 'error', warning: 'warning', info: 'notice' } as const;

/** Escapes a workflow command's message, as the Actions runner reads it. */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Escapes a workflow command's property value (title, file): also ':' and ','. */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/**
 * `::error title=RULE,file=CAPTURE::message` lines: one per incident (its verdict and counts), then
 * one per finding that belongs to no incident.
 */
export function githubAnnotations(file: string, report: Report): string {
  const lines: string[] = [];
  for (const i of report.incidents) {
    lines.push(`::${COMMAND[i.severity]} title=${escapeProperty(`incident ${i.id}`)},file=${escapeProperty(file)}::${escapeData(`${incidentSummary(i)} (Wireshark filter: ${i.wiresharkFilter})`)}`);
  }
  const told = toldByIncidents(report);
  const findings = report.findings.filter((f, k) => !('suppressed' in f.details) && !told.has(k));
  for (const f of findings.slice(0, ANNOTATION_CAP)) {
    lines.push(`::${COMMAND[f.severity]} title=${escapeProperty(f.ruleId)},file=${escapeProperty(file)}::${escapeData(`${f.message} (frames ${f.frames.map(frameLabel).join(' ')}; Wireshark filter: ${f.wiresharkFilter})`)}`);
  }
  if (findings.length > ANNOTATION_CAP) {
    lines.push(`::notice title=nvme-tcp-timeline,file=${escapeProperty(file)}::${escapeData(`${findings.length - ANNOTATION_CAP} more findings in the report`)}`);
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}
