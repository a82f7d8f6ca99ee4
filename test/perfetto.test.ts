import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/api/analyze-capture.js';
import type { CommandRecord } from '../src/correlate/types.js';

/** --perfetto on the shared captures: a Trace Event Format file that Perfetto and chrome://tracing open. */
const root = join(__dirname, '..');
const cli = join(root, 'bin', 'nvme-tcp-timeline.js');
const dir = mkdtempSync(join(tmpdir(), 'ntt-perfetto-'));

interface TraceEvent {
  name: string; ph: string; pid: number; tid: number; ts?: number; id?: string; cat?: string; dur?: number; args?: Record<string, unknown>;
}

function trace(capture: string, extra: string[] = []): TraceEvent[] {
  const out = join(dir, `${capture.replace(/\//g, '-')}.json`);
  const r = spawnSync(process.execPath, [cli, 'analyze', join(root, 'fixtures', `${capture}.pcap`), '--perfetto', out, '--quiet', '--fail-on', 'none', ...extra], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const parsed = JSON.parse(readFileSync(out, 'utf8'));
  expect(parsed.displayTimeUnit).toBe('ms');
  return parsed.traceEvents;
}

describe('--perfetto', () => {
  for (const capture of ['early-retry', 'kato-expiry-link-cut', 'large-io', 'ctrl-reset']) {
    it(`${capture}: every span closes, flows have both ends, every track is named, and the spans are the timeline's commands`, async () => {
      const events = trace(capture, ['--dmesg', join(root, 'fixtures', 'kernel-logs', `${capture}.dmesg.txt`)]);
      const begins = events.filter((e) => e.ph === 'b');
      const ends = new Map(events.filter((e) => e.ph === 'e').map((e) => [`${e.cat}|${e.id}`, e]));
      expect(ends.size).toBe(begins.length);
      for (const b of begins) {
        const e = ends.get(`${b.cat}|${b.id}`);
        expect(e, `${b.name} ${b.id}`).toBeDefined();
        expect(e!.ts!).toBeGreaterThanOrEqual(b.ts!);
        expect([e!.pid, e!.tid]).toEqual([b.pid, b.tid]);
      }
      expect(new Set(begins.map((b) => b.id)).size).toBe(begins.length);
      const flows = events.filter((e) => e.ph === 's' || e.ph === 'f');
      for (const id of new Set(flows.map((f) => f.id))) expect(flows.filter((f) => f.id === id).map((f) => f.ph).sort()).toEqual(['f', 's']);
      const processes = new Set(events.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => e.pid));
      const threads = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => `${e.pid}/${e.tid}`));
      for (const e of events.filter((x) => x.ph !== 'M')) {
        expect(processes.has(e.pid), `process ${e.pid}`).toBe(true);
        expect(threads.has(`${e.pid}/${e.tid}`), `thread ${e.pid}/${e.tid}`).toBe(true);
      }
      // The same commands, submission frame for submission frame, as the timeline streams them.
      const commands: CommandRecord[] = [];
      await analyzeCapture(join(root, 'fixtures', `${capture}.pcap`), { onCommand: (c) => void commands.push(c) });
      expect(begins.map((b) => `${b.tid}:${b.args!.submitFrame}:${b.name}`).sort()).toEqual(commands.map((c) => `${c.conn}:${c.submitFrame}:${c.opcodeName}`).sort());
      expect(begins.every((b) => Number.isInteger(b.ts) && b.ts! > 1.7e15)).toBe(true);
      // Each track's events come in time order, as the capture is read.
      const last = new Map<string, number>();
      for (const e of events.filter((x) => x.ts !== undefined)) {
        const track = `${e.pid}/${e.tid}`;
        expect(e.ts!, `${e.name} on ${track}`).toBeGreaterThanOrEqual(last.get(track) ?? -Infinity);
        last.set(track, e.ts!);
      }
    });
  }

  it('early-retry: the retries are arrows between slices, the safe time and the kernel lines are instants', () => {
    const events = trace('early-retry', ['--dmesg', join(root, 'fixtures', 'kernel-logs', 'early-retry.dmesg.txt')]);
    const flows = events.filter((e) => e.ph === 's');
    expect(flows).toHaveLength(2);
    for (const f of events.filter((e) => e.ph === 's' || e.ph === 'f')) {
      // Each end lies inside a slice of its own track (Perfetto binds flows to thread slices).
      expect(events.some((x) => x.ph === 'X' && x.pid === f.pid && x.tid === f.tid && x.ts! <= f.ts! && f.ts! <= x.ts! + x.dur!)).toBe(true);
    }
    const instants = events.filter((e) => e.ph === 'i').map((e) => e.name);
    expect(instants).toContain('retry-before-kato');
    expect(instants.filter((n) => n.startsWith('safe time (kato+cqt, 30000 ms)'))).toHaveLength(2);
    expect(instants).toContain('io-timeout');
    expect(instants).toContain('host FIN');
    // The incident: one instant on the broken association's findings track, carrying its verdict.
    const incident = events.filter((e) => e.name === 'incident 1');
    expect(incident.map((e) => [e.ph, e.pid, e.tid, (e.args as { verdict: string }).verdict])).toEqual([
      ['i', 1, 0, expect.stringMatching(/^association 1 broke \(I\/O timeout\): 2 commands \(1 write, 1 read\) resubmitted before KATO/)],
    ]);
    expect(events.find((e) => e.name === 'host FIN')!.tid).toBeGreaterThan(1_000_000);
  });

  it('with --dmesg and --trace: the log and the trace each on a named track of the kernel process, the cited trace lines as instants', () => {
    const twin = join(root, 'fixtures', 'twins');
    const events = trace('twins/twin-early-retry', ['--dmesg', join(twin, 'twin-early-retry.dmesg.txt'), '--trace', join(twin, 'twin-early-retry.trace.txt')]);
    const threads = events.filter((e) => e.name === 'thread_name' && e.pid === events.find((x) => x.cat === 'kernel-trace')!.pid);
    expect(threads.map((t) => t.args!.name)).toEqual([join(twin, 'twin-early-retry.dmesg.txt'), join(twin, 'twin-early-retry.trace.txt')]);
    const cited = events.filter((e) => e.cat === 'kernel-trace');
    expect(cited.map((e) => e.name)).toContain('block_rq_requeue');
    expect(cited.find((e) => e.args!.line === 287)!.args!.text).toContain('block_rq_requeue: 259,0 WS () 112800 + 8');
    const ts = cited.map((e) => e.ts!);
    expect(ts).toEqual([...ts].sort((a, b) => a - b));
  });

  it('pdus refuses it, and analyze takes one capture only', () => {
    const pdus = spawnSync(process.execPath, [cli, 'pdus', join(root, 'fixtures', 'clean-io.pcap'), '--perfetto', join(dir, 'x.json')], { encoding: 'utf8' });
    expect(pdus.status).toBe(2);
    expect(pdus.stderr).toContain('--perfetto');
    const two = spawnSync(process.execPath, [cli, 'analyze', join(root, 'fixtures', 'clean-io.pcap'), join(root, 'fixtures', 'digest.pcap'), '--perfetto', join(dir, 'y.json')], { encoding: 'utf8' });
    expect(two.status).toBe(2);
    expect(two.stderr).toContain('--perfetto writes the trace of one capture');
  });
});
