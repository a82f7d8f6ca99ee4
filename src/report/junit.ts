import { reaches, type Severity } from '../correlate/types.js';
import type { Report } from './types.js';
import { incidentSummary } from './incident-story.js';
import { append } from '../common/numbers.js';

export interface JunitCase {
  file: string;
  report?: Report;
  /** Capture could not be read: the message. */
  error?: string;
  /** Seconds the analysis took: what a CI dashboard should show as this test's time. */
  seconds?: number;
}

/** One test suite, one test case per capture; findings at/above the threshold are its failures. */
export function renderJunit(cases: JunitCase[], failOn: Severity): string {
  const lines: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  let failures = 0;
  let errors = 0;
  const body: string[] = [];
  for (const c of cases) {
    const name = xml(c.file);
    if (c.error !== undefined) {
      errors++;
      body.push(`    <testcase classname="nvme-tcp-timeline" name="${name}">`);
      body.push(`      <error message="${xml(c.error)}"/>`);
      body.push('    </testcase>');
      continue;
    }
    const failing = (c.report?.findings ?? []).filter((f) => reaches(f.severity, failOn));
    const time = c.seconds ?? 0;
    body.push(`    <testcase classname="nvme-tcp-timeline" name="${name}" time="${time}">`);
    if (failing.length) {
      failures++;
      const text = failing.map((f) => `[${f.severity}] ${f.ruleId}: ${f.message}\n  frames: ${f.frames.join(' ')}\n  filter: ${f.wiresharkFilter}`).join('\n');
      // The incidents first: the message a CI dashboard shows is the story, not a count.
      const incidents = (c.report?.incidents ?? []).filter((i) => reaches(i.severity, failOn));
      const message = incidents.length
        ? `${incidents.map((i) => `incident ${i.id}: ${incidentSummary(i)}`).join('; ')} (${failing.length} finding(s) at or above ${failOn})`
        : `${failing.length} finding(s) at or above ${failOn}`;
      body.push(`      <failure message="${xml(message)}" type="${xml(failing[0].ruleId)}">${xml(text)}</failure>`);
    }
    body.push('    </testcase>');
  }
  lines.push(`<testsuites tests="${cases.length}" failures="${failures}" errors="${errors}">`);
  lines.push(`  <testsuite name="nvme-tcp-timeline check" tests="${cases.length}" failures="${failures}" errors="${errors}">`);
  append(lines, body);
  lines.push('  </testsuite>');
  lines.push('</testsuites>');
  return lines.join('\n') + '\n';
}

function xml(text: string): string {
  // XML 1.0 cannot carry most control characters at all: show them escaped.
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
