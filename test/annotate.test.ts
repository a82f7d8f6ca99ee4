import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/api/analyze-capture.js';
import { tsharkPdus } from './tshark.js';

/**
 * --annotate: the capture as pcapng with a packet comment on each frame a finding names,
 * read back by tshark. CI installs tshark (npm test's system packages).
 */
const fixtures = join(__dirname, '..', 'fixtures');
const cli = join(__dirname, '..', 'bin', 'nvme-tcp-timeline.js');
const dir = mkdtempSync(join(tmpdir(), 'ntt-annotate-'));

function tshark(args: string[]): string {
  return execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 28 });
}

/** frame → comments, as tshark shows them. */
function comments(file: string): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const line of tshark(['-r', file, '-Y', 'frame.comment', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=\u0001', '-e', 'frame.number', '-e', 'frame.comment']).split('\n')) {
    if (!line) continue;
    const [frame, text] = line.split('\t');
    out.set(Number(frame), text.split('\u0001'));
  }
  return out;
}

/** Every frame's time, lengths and protocols: what must not change. */
function frames(file: string): string {
  return tshark(['-r', file, '-T', 'fields', '-e', 'frame.number', '-e', 'frame.time_epoch', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.protocols']);
}

async function annotate(input: string): Promise<{ out: string; expected: Map<number, number> }> {
  const out = join(dir, `${input.split('/').pop()}.annotated.pcapng`);
  const run = spawnSync(process.execPath, [cli, 'analyze', input, '--annotate', out, '--fail-on', 'none', '--quiet'], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  const report = await analyzeCapture(input);
  const expected = new Map<number, number>();
  for (const f of report.findings) for (const frame of f.frames) expected.set(frame, (expected.get(frame) ?? 0) + 1);
  return { out, expected };
}

describe('--annotate', () => {
  const pcap = join(fixtures, 'early-retry.pcap');

  it('pcap in: exactly the findings\' frames carry comments, and the capture reads as before', async () => {
    const { out, expected } = await annotate(pcap);
    const got = comments(out);
    expect([...got.keys()].sort((a, b) => a - b)).toEqual([...expected.keys()].sort((a, b) => a - b));
    for (const [frame, n] of expected) expect(got.get(frame)!.length, `frame ${frame}`).toBe(n);
    expect(got.get(111)).toContainEqual(expect.stringMatching(/^nvme-tcp-timeline \[error\] retry-before-kato: Write SLBA 2100 NLB 1 \(frame 111\) resubmitted in frame 161 .* — original$/));
    expect(got.get(161)).toContainEqual(expect.stringMatching(/\[error\] retry-before-kato: .* — retry$/));
    expect(got.get(109)).toContainEqual(expect.stringMatching(/— last controller contact$/));
    expect(frames(out)).toBe(frames(pcap));
    expect(tsharkPdus(out)).toEqual(tsharkPdus(pcap));
  });

  it('pcapng with several interfaces and an existing comment: interfaces, link types, times and the old comment are kept', async () => {
    const merged = join(dir, 'merged.pcapng');
    // Two interfaces (two captures merged), then a comment of the user's own on one frame.
    execFileSync('mergecap', ['-F', 'pcapng', '-I', 'none', '-w', merged, pcap, join(fixtures, 'clean-io.pcap')]);
    const commented = join(dir, 'commented.pcapng');
    execFileSync('editcap', ['-a', '5:seen by the lab', merged, commented]);
    const { out, expected } = await annotate(commented);
    expect(tshark(['-r', out, '-T', 'fields', '-e', 'frame.interface_id']).split('\n').filter(Boolean).sort().filter((v, i, a) => a.indexOf(v) === i)).toEqual(['0', '1']);
    expect(frames(out)).toBe(frames(commented));
    const got = comments(out);
    expect(got.get(5)).toContain('seen by the lab');
    for (const frame of expected.keys()) expect(got.get(frame)?.some((c) => c.startsWith('nvme-tcp-timeline ')), `frame ${frame}`).toBe(true);
    expect([...got.keys()].filter((f) => f !== 5).sort((a, b) => a - b)).toEqual([...expected.keys()].sort((a, b) => a - b));
    expect(tsharkPdus(out)).toEqual(tsharkPdus(commented));
  });

  it('gzip and nanosecond pcap in: the same comments, timestamps to the nanosecond', async () => {
    const gz = join(dir, 'early-retry.pcap.gz');
    writeFileSync(gz, gzipSync(readFileSync(pcap)));
    const { out } = await annotate(gz);
    expect(comments(out)).toEqual(comments((await annotate(pcap)).out));
    const nanos = join(dir, 'early-retry-ns.pcap');
    execFileSync('editcap', ['-F', 'nsecpcap', pcap, nanos]);
    const ns = await annotate(nanos);
    expect(tshark(['-r', ns.out, '-T', 'fields', '-e', 'frame.time_epoch', '-c', '3'])).toBe(tshark(['-r', nanos, '-T', 'fields', '-e', 'frame.time_epoch', '-c', '3']));
    expect(frames(ns.out)).toBe(frames(nanos));
  });

  it('refuses standard input and more than one capture', () => {
    const r = spawnSync(process.execPath, [cli, 'analyze', pcap, pcap, '--annotate', join(dir, 'x.pcapng')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--annotate writes one capture');
  });
});
