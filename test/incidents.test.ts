import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import MarkdownIt from 'markdown-it';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/api/analyze-capture.js';
import type { Report } from '../src/report/types.js';
import { githubAnnotations } from '../src/report/github.js';
import { renderJunit } from '../src/report/junit.js';
import { renderMarkdown } from '../src/report/markdown.js';
import { renderText } from '../src/report/text-report.js';
import { incidentStory } from '../src/report/incident-story.js';
import { capsuleResp, ioCmd } from '../src/test-support/builders.js';
import { breakAndRetry, burst, Lab } from '../src/test-support/incident-lab.js';
import { connectAssociation, Scenario } from '../src/test-support/scenario.js';
import { schemaErrors } from './schema-validate.js';

const READ = 0x02;
const dir = mkdtempSync(join(tmpdir(), 'incidents-'));
let n = 0;

async function report(lab: Lab): Promise<Report & { path: string }> {
  const base = join(dir, `s${n++}`);
  writeFileSync(`${base}.pcap`, lab.s.pcap());
  writeFileSync(`${base}.dmesg.txt`, lab.log.join('\n') + '\n');
  const r = await analyzeCapture(`${base}.pcap`, { dmesg: [`${base}.dmesg.txt`], name: `${base}.pcap` });
  expect(schemaErrors(r)).toEqual([]);
  return Object.assign(r, { path: `${base}.pcap` });
}

function burstReport(): Promise<Report & { path: string }> {
  return report(burst());
}

/** Terminal lines at 120 columns: a longer line takes more than one. */
function screenLines(text: string, columns = 120): number {
  return text.split('\n').reduce((total, line) => total + Math.max(1, Math.ceil([...line].length / columns)), 0);
}

/** Every frame a frame-range filter holds. */
function inFilter(filter: string): (frame: number) => boolean {
  const ranges = /^frame\.number in \{([\d., ]+)\}$/.exec(filter)![1].split(', ').map((r) => r.split('..').map(Number));
  return (f) => ranges.some(([a, b = a]) => f >= a && f <= b);
}

describe('incidents: the 24-write burst', () => {
  it('one incident, one row per command, made of every finding; severity its worst finding\'s', async () => {
    const r = await burstReport();
    expect(r.incidents).toHaveLength(1);
    const [i] = r.incidents;
    expect(i).toMatchObject({
      id: 1, severity: 'error', assoc: 1, tookOver: 2, trigger: 'I/O timeout',
      counts: { commands: 24, retried: 24, beforeKato: 24, afterKato: 0, afterFence: 0, notRetried: 0, timedOutDuringRecovery: 23, ranTwice: 14 },
      deadline: { rule: 'kato+cqt', requiredMs: 30000, katoMs: 30000 },
    });
    expect(i.verdict).toBe('association 1 broke (I/O timeout): 24 writes resubmitted before KATO; 14 ran twice; 23 timed out during recovery');
    expect(i.recoveryStart?.text).toBe('nvme nvme0: queue 1: timeout request 0x40 type 4');
    expect(i.commands.map((c) => c.cid)).toEqual(Array.from({ length: 24 }, (_, k) => 0x40 + k));
    expect(i.commands.filter((c) => c.ranTwice).map((c) => c.cid)).toEqual(Array.from({ length: 14 }, (_, k) => 0x40 + k));
    expect(i.commands.every((c) => c.retry?.assoc === 2 && c.arrival !== null)).toBe(true);
    // Every finding of this capture is about the break: the incident names them all, and they stay in findings.
    expect(i.findings).toEqual(r.findings.map((_, k) => k));
    expect(r.findings.length).toBeGreaterThan(80);
    expect(i.severity).toBe(r.findings.some((f) => f.severity === 'error') ? 'error' : 'warning');
  });

  it('text: incidents first, the whole report in at most 80 lines at 120 columns, no command row wrapped', async () => {
    const r = await burstReport();
    const text = renderText(r, { color: false, width: 120 });
    const lines = text.split('\n');
    expect(screenLines(text)).toBeLessThanOrEqual(80);
    // The incident itself is laid out for the width; the association blocks after it are what they were.
    expect(lines.slice(0, lines.findIndex((l) => l.startsWith('Kernel log'))).filter((l) => [...l].length > 120)).toEqual([]);
    expect(lines[3]).toMatch(/^Incident 1 {2}error {2}association 1 broke/);
    // One row per command, each on one line: 24 rows start with a CID.
    expect(lines.filter((l) => /^ {2}│ 0x00[45]/.test(l))).toHaveLength(24);
    expect(text).toContain('24 retry-before-kato');
    expect(text).toMatch(/findings make up the incident above/);
    expect(text).not.toContain('Findings  ');
  });

  it('Markdown: verdict first, the incident\'s section with a working filter and folded evidence, at most 100 lines and 12 KB', async () => {
    const r = await burstReport();
    const md = renderMarkdown(r);
    expect(md.split('\n').length).toBeLessThanOrEqual(100);
    expect(Buffer.byteLength(md)).toBeLessThanOrEqual(12_000);
    expect(md.split('\n')[0]).toBe('**24 commands resubmitted before KATO: 24 write (14 ran twice).**');
    const html = new MarkdownIt({ html: true }).render(md);
    expect(html).toContain('<h3>Incident 1 · error · association 1 broke (I/O timeout)');
    expect(html).toContain('<details><summary>Evidence, one command a line (24)</summary>');
    // Table rows: the story (header + a row a step), the commands (header + 24), the associations (header + 2).
    expect((html.match(/<tr>/g) ?? []).length).toBe(1 + incidentStory(r.incidents[0]).length + 1 + 24 + 1 + 2);
    // One filter for the whole incident: short, accepted by tshark, holding every frame a finding names.
    const filter = /Wireshark: `([^`]+)`/.exec(md)![1];
    expect(filter).toBe(r.incidents[0].wiresharkFilter);
    expect(filter.length).toBeLessThan(80);
    const holds = inFilter(filter);
    for (const f of r.findings) for (const frame of f.frames) expect(holds(frame), `frame ${frame} of ${f.ruleId}`).toBe(true);
    const shown = execFileSync('tshark', ['-r', r.path, '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const frames = shown.trim().split('\n').map(Number);
    for (const f of r.findings) for (const frame of f.frames) expect(frames).toContain(frame);
  });

  it('CI: one GitHub annotation for the incident with its counts; JUnit\'s failure message tells the incident', async () => {
    const r = await burstReport();
    const annotations = githubAnnotations('burst.pcap', r).trimEnd().split('\n');
    expect(annotations).toHaveLength(1);
    expect(annotations[0]).toMatch(/^::error title=incident 1,file=burst\.pcap::association 1 broke \(I\/O timeout\): 24 writes resubmitted before KATO; 14 ran twice; 23 timed out during recovery \[24 commands, 24 retried before KATO, 23 timed out during recovery, 14 ran twice; \d+ findings\]/);
    const xml = renderJunit([{ file: 'burst.pcap', report: r, seconds: 1 }], 'error');
    expect(xml).toMatch(/<failure message="incident 1: association 1 broke \(I\/O timeout\): 24 writes resubmitted before KATO/);
  });
});

describe('incidents: other shapes', () => {
  it('two incidents on one path: each break its own story, in time order', async () => {
    const lab = new Lab();
    const p1 = lab.connect('10.0.0.2', 1, 0);
    lab.s.wait(500);
    const { next: p2 } = breakAndRetry(lab, p1, 0x40, 2);
    lab.s.wait(20000);
    breakAndRetry(lab, p2, 0x60, 3, { opcode: READ });
    const r = await report(lab);
    expect(r.incidents.map((i) => [i.id, i.assoc, i.tookOver, i.counts.commands, i.severity])).toEqual([[1, 1, 2, 2, 'error'], [2, 2, 3, 3, 'warning']]);
    expect(r.incidents[1].verdict).toBe('association 2 broke (I/O timeout): 3 reads resubmitted before KATO; 2 timed out during recovery');
    const text = renderText(r, { color: false, width: 120 });
    expect(text.indexOf('Incident 1')).toBeLessThan(text.indexOf('Incident 2'));
    expect(new Set([...r.incidents[0].findings, ...r.incidents[1].findings]).size).toBe(r.incidents[0].findings.length + r.incidents[1].findings.length);
  });

  it('an incident on each of two paths at once', async () => {
    const lab = new Lab();
    const a = lab.connect('10.0.0.2', 1, 0);
    const b = lab.connect('10.0.0.3', 7, 1);
    lab.s.wait(500);
    const ca = lab.send(a, 0x40, 2);
    const cb = lab.send(b, 0x50, 4);
    lab.s.wait(4000);
    lab.timeouts(a, ca);
    lab.timeouts(b, cb);
    lab.teardown(a);
    lab.teardown(b);
    lab.s.wait(2000);
    lab.reconnect(a, ca);
    lab.reconnect(b, cb);
    const r = await report(lab);
    expect(r.incidents.map((i) => [i.assoc, i.path.endsWith('10.0.0.2:4420'), i.counts.beforeKato])).toEqual([[1, true, 2], [2, false, 4]]);
    expect(r.incidents[0].commands.map((c) => c.cid)).toEqual(ca);
    expect(r.incidents[1].commands.map((c) => c.cid)).toEqual(cb);
    const md = renderMarkdown(r);
    expect(md).toContain('### Incident 1 ·');
    expect(md).toContain('### Incident 2 ·');
  });

  it('findings but no incident: the report reads as before', async () => {
    const s = new Scenario();
    const a = connectAssociation(s, { katoMs: 30000, cntlid: 1 });
    a.io[0].host(ioCmd(READ, 0x10, 0, 8)).ctrl(capsuleResp({ cid: 0x10, sct: 0, sc: 0x80 }));
    s.wait(100);
    a.io[0].fin(true);
    a.admin.fin(true);
    const r = await analyzeCapture((async function* () { yield s.pcap(); })(), { name: 'x.pcap' });
    expect(r.incidents).toEqual([]);
    expect(r.findings.map((f) => f.ruleId)).toEqual(['error-status']);
    const text = renderText(r, { color: false, width: 120 });
    expect(text).not.toContain('Incident');
    expect(text).toContain('Findings  0 error, 1 warning, 0 info');
    expect(githubAnnotations('x.pcap', r)).toMatch(/^::warning title=error-status,/);
  });
});

describe('incidents on the command line', () => {
  it('timeline marks each command\'s incident after the commands; --json as one line per incident', async () => {
    const r = await burstReport();
    const { spawnSync } = await import('node:child_process');
    const bin = join(__dirname, '..', 'bin', 'nvme-tcp-timeline.js');
    const dmesg = r.path.replace(/\.pcap$/, '.dmesg.txt');
    const text = spawnSync(process.execPath, [bin, 'timeline', r.path, '--dmesg', dmesg], { encoding: 'utf8' }).stdout.split('\n');
    const at = text.findIndex((l) => l.startsWith('incident 1 (error)  association 1 broke (I/O timeout): 24 writes resubmitted before KATO'));
    expect(at).toBeGreaterThan(0);
    const rows = text.slice(at + 1).filter((l) => l.startsWith('  a1 q1 cid '));
    expect(rows).toHaveLength(24);
    expect(rows[0]).toMatch(/^ {2}a1 q1 cid 0x0040 frame \d+: before-kato → retry frame \d+ on association 2 \+[\d.]+s, ran twice$/);
    expect(rows[1]).toMatch(/ran twice, timed out during recovery$/);
    const json = spawnSync(process.execPath, [bin, 'timeline', r.path, '--json', '--cid', '0x41'], { encoding: 'utf8' }).stdout.trim().split('\n').map((l) => JSON.parse(l));
    const incident = json.find((o) => 'incident' in o);
    expect(incident.incident).toMatchObject({ id: 1, severity: 'error', assoc: 1, tookOver: 2 });
    expect(incident.incident.commands.map((c: { cid: number }) => c.cid)).toEqual([0x41]);
  });
});
