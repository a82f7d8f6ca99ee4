import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/api/analyze-capture.js';
import { isRetryFinding } from '../src/correlate/types.js';
import { renderText } from '../src/report/text-report.js';
import { concat } from '../src/test-support/builders.js';
import { synthesizeFleet, synthesizeStorm } from '../src/test-support/synth.js';
import { schemaErrors } from './schema-validate.js';
import { FindingCollector, RULE_CAP } from '../src/correlate/finding-collector.js';
import { renderMarkdown } from '../src/report/markdown.js';
import { githubAnnotations } from '../src/report/github.js';
import { RETRY_BEFORE_KATO } from '../src/correlate/findings/retry.js';

/** A reconnect storm of 2,000 associations (an association a second; every 100th leaves a write the next resubmits). */
function storm(associations: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  synthesizeStorm({ associations, format: 'pcap' }, (c) => chunks.push(c));
  return concat(chunks);
}

async function* once(bytes: Uint8Array) {
  yield bytes;
}

describe('reconnect storm', () => {
  const bytes = storm(2000);

  it('lists the associations with findings, the first and the last, and counts the rest; every retry is still found', async () => {
    const r = await analyzeCapture(once(bytes), { name: 'storm.pcap' });
    expect(schemaErrors(JSON.parse(JSON.stringify(r)))).toEqual([]);
    expect(r.summary.associations).toBe(2000);
    const [path] = r.paths;
    expect(r.paths).toHaveLength(1);
    expect(path).toMatchObject({ associations: 2000, withFindings: 38 });
    // Associations 100, 200, … 1900 leave a write unanswered; 101, 201, … resubmit it before KATO.
    const retries = r.findings.filter(isRetryFinding);
    expect(retries).toHaveLength(19);
    expect(retries.every((f) => f.ruleId === 'retry-before-kato' && f.details.originalAssoc + 1 === f.details.retryAssoc)).toBe(true);
    expect(retries.map((f) => f.details.originalAssoc)).toEqual(Array.from({ length: 19 }, (_, i) => (i + 1) * 100));
    const ids = r.associations.map((a) => a.id);
    const withFindings = new Set(r.findings.map((f) => f.assoc).filter((a): a is number => a !== null));
    const originals = new Set(retries.map((f) => f.details.originalAssoc));
    for (const id of [...withFindings, ...originals]) expect(ids, `association ${id}`).toContain(id);
    expect(ids[0]).toBe(1);
    expect(ids.at(-1)).toBe(2000);
    expect(ids.length + r.associationsNotListed).toBe(2000);
    expect(r.associationsNotListed).toBe(2000 - ids.length);
    expect(ids.length).toBeLessThan(50);
    // One recovery story a break: 1999 reconnects (and the last association's own end).
    const rec = r.recovery.byPath[0];
    expect(rec.episodes).toBe(2000);
    expect(rec.retries.beforeKato).toBe(19);
    expect(rec.triggers['I/O timeout']).toBe(19);
    expect(rec.restoredAfterMs.p50).toBeGreaterThan(900);
    expect(rec.restoredAfterMs.p50).toBeLessThan(1100);
    expect(r.recovery.episodes.length + r.recovery.episodesNotListed).toBe(2000);
    expect(r.recovery.episodes.filter((e) => e.retries.beforeKato > 0)).toHaveLength(19);
    // A report a person can read.
    const text = renderText(r, { color: false });
    expect(text.split('\n').length).toBeLessThan(200);
    expect(JSON.stringify(r).length).toBeLessThan(1_000_000);
    // One incident a break with a retry; the first ones told in full, their commands named whole.
    expect(r.incidents.map((i) => i.assoc)).toEqual(Array.from({ length: 19 }, (_, i) => (i + 1) * 100));
    const first = retries[0];
    expect(r.incidents[0].commands.map((c) => [c.cid, c.retry?.frame])).toEqual([[first.details.originalCid, first.details.retryFrame]]);
    expect(text).toContain(`Incident 1  error  association ${first.details.originalAssoc} broke`);
    expect(text).toContain(`│ 0x${first.details.originalCid.toString(16).padStart(4, '0')} │`);
    expect(text).toContain('15 more incidents');
    expect(text).not.toMatch(/\w…/);
    const t = r.summary.findings;
    expect(text).toContain(`${t.error} error, ${t.warning} warning, ${t.info} info`);
  });

  it('--all-associations lists every one', async () => {
    const r = await analyzeCapture(once(bytes), { name: 'storm.pcap', allAssociations: true });
    expect(r.associations.map((a) => a.id)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect(r.associationsNotListed).toBe(0);
  });
});

describe('a rule past its report-wide cap', () => {
  // A target serving many hosts can see more retries than the report lists: the rest are one count line.
  it('retries past the cap are one count line the schema accepts and every report reads', async () => {
    const report = await analyzeCapture('fixtures/early-retry.pcap');
    const retry = report.findings.find(isRetryFinding)!;
    const collector = new FindingCollector();
    for (let k = 0; k < RULE_CAP + 20; k++) {
      const place = { frames: retry.frames, time: retry.time + k, assoc: retry.assoc, qid: retry.qid, cid: retry.cid };
      collector.add(RETRY_BEFORE_KATO, place, { ...retry.details, retryFrame: retry.details.retryFrame + k }, { dataChanging: true });
    }
    const findings = collector.result(retry.time + 200);
    const count = findings.find((f) => f.ruleId === 'retry-before-kato' && 'suppressed' in f.details);
    expect(count?.details).toEqual({ suppressed: 20 });
    const capped = { ...report, findings };
    expect(schemaErrors(JSON.parse(JSON.stringify(capped)))).toEqual([]);
    expect(capped.findings.filter(isRetryFinding)).toHaveLength(RULE_CAP);
    // The count line is no retry: no report reads a retry's details from it.
    for (const out of [renderText(capped, { color: false }), renderMarkdown(capped), githubAnnotations('early-retry.pcap', capped)]) {
      expect(out).toContain('retry-before-kato');
      expect(out).not.toMatch(/undefined|NaN/);
    }
  });
});

describe('day-long keep-alives', () => {
  it('keep-alive statistics come as percentiles and a late count, with no list of keep-alives', async () => {
    const chunks: Uint8Array[] = [];
    synthesizeFleet({ controllers: 4, hours: 1, format: 'pcap' }, (c) => chunks.push(c));
    const r = await analyzeCapture(once(concat(chunks)), { name: 'fleet.pcap' });
    expect(r.associations).toHaveLength(4);
    for (const a of r.associations) {
      expect(a.keepAlive.sent).toBe(1440);
      expect(a.keepAlive.intervalMs.p50).toBeCloseTo(2500, -1);
      expect(a.keepAlive.intervalMs.p99).toBeLessThan(2600);
      expect(a.keepAlive.rttMs.max).toBeLessThan(1);
      expect(a.keepAlive.late).toBe(0);
    }
    expect(r.findings.filter((f) => f.ruleId.startsWith('keep-alive'))).toEqual([]);
  });
});
