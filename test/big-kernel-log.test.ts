import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/api/analyze-capture.js';
import { isRetryFinding } from '../src/correlate/types.js';

const fixtures = join(__dirname, '..', 'fixtures');
const src = join(__dirname, '..', 'src');

/**
 * A host journal kept for weeks: the lab's log of early-retry.pcap, then 500,000 timeout lines just
 * after the capture, 500,000 hours later, and one 50 MB line. Read streamed: the report is
 * complete, its lists are capped and counted, and what the real lines prove is still found.
 */
function bigLog(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ntt-biglog-')), 'journal.txt');
  const fd = openSync(file, 'w');
  writeSync(fd, readFileSync(join(fixtures, 'kernel-logs', 'early-retry.dmesg.txt')));
  const block = (from: number, n: number) => {
    let text = '';
    for (let i = 0; i < n; i++) text += `[${(from + i * 0.000001).toFixed(6).padStart(12)}] nvme nvme0: queue 5: timeout request 0x${(i & 0xfff).toString(16)} type 4\n`;
    return text;
  };
  for (let k = 0; k < 50; k++) writeSync(fd, block(76.8 + k * 0.01, 10_000));
  for (let k = 0; k < 50; k++) writeSync(fd, block(10_000 + k, 10_000));
  writeSync(fd, `[20000.000000] nvme nvme0: ${'x'.repeat(50 * 2 ** 20)}\n`);
  closeSync(fd);
  return file;
}

describe('big kernel logs', () => {
  it('a 1,000,000-line log and a 50 MB line: a complete report, capped lists, the real timeouts still matched', async () => {
    const log = bigLog();
    const r = await analyzeCapture(join(fixtures, 'early-retry.pcap'), { dmesg: [log] });
    const k = r.kernelLog!;
    expect(k.sources[0]).toMatchObject({ lines: 18 + 1_000_000 + 1, longLines: 1 });
    expect(k.sources[0].events).toBe(16 + 1_000_000 + 1);
    expect(k.alignment[0].method).toBe('anchors');
    expect(k.eventsOutsideCapture).toBe(500_001);
    expect(k.events.length).toBe(5000);
    expect(k.events.length + k.eventsNotListed).toBe(k.sources[0].events);
    const matched = k.events.filter((e) => e.command !== null).map((e) => e.command!.frame);
    expect(matched).toEqual([111, 112]);
    expect(r.findings.filter(isRetryFinding).every((f) => f.details.kernelLog?.originalTimeout)).toBe(true);
    expect(k.warnings.length).toBeLessThanOrEqual(25);
    expect(k.warnings.join('\n')).toContain('more timeout lines name no captured command');
    expect(k.warnings.join('\n')).toContain('1 line(s) longer than 8192 characters');
    expect(JSON.stringify(r).length).toBeLessThan(5_000_000);
  });

  it('no source spreads a list into arguments (push(...x), Math.max(...x)): past ~100,000 elements it overflows the stack', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
          readFileSync(path, 'utf8').split('\n').forEach((line, i) => {
            if (/^\s*(\*|\/\/)/.test(line)) return;
            if (/\b(push|unshift|max|min|fromCharCode|concat)\(\.\.\.|\.apply\(/.test(line)) offenders.push(`${path}:${i + 1}: ${line.trim()}`);
          });
        }
      }
    };
    walk(src);
    expect(offenders).toEqual([]);
  });
});
