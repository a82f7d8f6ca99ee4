import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/api/analyze-capture.js';
import { isRetryFinding, type Finding } from '../src/correlate/types.js';
import type { TimeoutDuringRecoveryDetails } from '../src/correlate/findings/timeout-during-recovery.js';
import { capsuleResp, ioCmd } from '../src/test-support/builders.js';
import { connectAssociation, HOSTNQN, Scenario, SUBNQN } from '../src/test-support/scenario.js';
import { schemaErrors } from './schema-validate.js';

/**
 * --dmesg on the shared captures and their kernel logs (fixtures/kernel-logs, copied from the lab's
 * shared folder), and on scripted conversations with log lines written from the kernel's format strings.
 */
const fixtures = join(__dirname, '..', 'fixtures');
const NAMES = ['clean-io', 'ctrl-reset', 'digest', 'early-retry', 'kato-expiry-link-cut', 'large-io', 'target-port-removed'];
const dir = mkdtempSync(join(tmpdir(), 'ntt-dmesg-'));

function withLog(name: string) {
  return analyzeCapture(join(fixtures, `${name}.pcap`), { dmesg: [join(fixtures, 'kernel-logs', `${name}.dmesg.txt`)] });
}

async function* once(bytes: Uint8Array) {
  yield bytes;
}

function scenarioReport(s: Scenario, log: string, options: { dmesgOffsetMs?: number } = {}) {
  const file = join(dir, `log-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(file, log);
  return analyzeCapture(once(s.pcap()), { name: 'scenario.pcap', dmesg: [file], ...options });
}

describe('kernel logs of the shared captures', () => {
  for (const name of NAMES) {
    it(`${name}: aligned by anchors that agree within 50 ms, and with the lab's clock pairs`, async () => {
      const r = await withLog(name);
      expect(schemaErrors(JSON.parse(JSON.stringify(r)))).toEqual([]);
      const [a] = r.kernelLog!.alignment;
      expect(a.method).toBe('anchors');
      expect(a.anchors.length).toBeGreaterThanOrEqual(2);
      expect(a.residualMs).toBeLessThanOrEqual(50);
      // The lab wrote whole epoch seconds beside /proc/uptime (10 ms), read one after the other: the
      // offset lies in (E − U − 0.02, E − U + 1.02) for every pair. The .events file is read only here.
      for (const row of readFileSync(join(fixtures, 'kernel-logs', `${name}.events`), 'utf8').trim().split('\n')) {
        const [epoch, uptime, event] = row.split(' ');
        const base = Number(epoch) - Number(uptime);
        expect(a.offsetS!, `${name} ${event}`).toBeGreaterThan(base - 0.02);
        expect(a.offsetS!, `${name} ${event}`).toBeLessThan(base + 1.02);
      }
      expect(r.kernelLog!.warnings).toEqual([]);
    });
  }

  it('early-retry: both timeouts matched, the read\'s during recovery, both retries carry the log\'s trigger', async () => {
    const r = await withLog('early-retry');
    const timeouts = r.kernelLog!.events.filter((e) => e.kind === 'io-timeout');
    expect(timeouts.map((e) => e.command)).toEqual([{ frame: 111, qid: 1, cid: 0x41, qidFromLog: false }, { frame: 112, qid: 1, cid: 0x72, qidFromLog: false }]);
    const during = r.findings.filter((f) => f.ruleId === 'timeout-during-recovery');
    expect(during.map((f) => [f.severity, f.cid, (f.details as TimeoutDuringRecoveryDetails).retry?.ruleId])).toEqual([['warning', 0x72, 'retry-before-kato']]);
    const retries = r.findings.filter(isRetryFinding);
    expect(retries).toHaveLength(2);
    for (const f of retries) {
      expect(f.details.trigger).toBe('I/O timeout of Write CID 0x0041 (frame 111; kernel log line 6)');
      expect(f.details.kernelLog!.trigger).toMatchObject({ line: 6, command: { frame: 111, qid: 1, cid: 0x41 } });
      expect(f.details.evidence.filter((e) => e.step === 'kernel-log').length).toBeGreaterThanOrEqual(2);
    }
    const read = retries.find((f) => f.details.opcode === 'Read')!;
    const write = retries.find((f) => f.details.opcode === 'Write')!;
    expect(read.details.kernelLog).toMatchObject({ duringRecovery: true, originalTimeout: { line: 8 } });
    expect(write.details.kernelLog).toMatchObject({ duringRecovery: false, originalTimeout: { line: 6 } });
    expect(read.message).toContain('while error recovery was already running');
    expect(write.message).toContain('its own timeout started error recovery');
    // The chain stays in time order with the log lines inside it: timeouts, recovery, then the host's FIN.
    expect(write.details.evidence.map((e) => e.step)).toEqual(['last-controller-contact', 'original-sent', 'kernel-log', 'kernel-log', 'teardown', 'retry']);
  });

  it('kato-expiry-link-cut: the target\'s keep-alive expiry belongs to association 1, and both retries state their margin to it', async () => {
    const r = await withLog('kato-expiry-link-cut');
    const expiry = r.kernelLog!.events.find((e) => e.kind === 'keep-alive-expired')!;
    expect(expiry.assoc).toBe(1);
    const retries = r.findings.filter(isRetryFinding);
    expect(retries).toHaveLength(2);
    for (const f of retries) {
      expect(f.details.controllerGaveUpAt).toMatchObject({ timerSeconds: 3, line: 6 });
      const margin = f.details.controllerGaveUpAt!.marginMs;
      expect(Math.abs(margin - (f.time - expiry.time!) * 1000)).toBeLessThan(1);
      expect(margin).toBeGreaterThan(9000);
      expect(f.details.trigger).toBe('keep-alive timeout (kernel log line 8)');
    }
    // The keep-alive that started recovery timed out again during it: the same story, not another finding.
    expect(r.findings.filter((f) => f.ruleId === 'timeout-during-recovery')).toEqual([]);
  });
});

/** Two paths (nvme0 → 10.0.0.2, nvme1 → 10.0.0.3), each with a write left unanswered; returns the capture times that anchor a log. */
function twoControllers() {
  const s = new Scenario();
  const p0 = connectAssociation(s, { ctrl: '10.0.0.2', katoMs: 30000, cntlid: 1 });
  const ready0 = s.time;
  const p1 = connectAssociation(s, { ctrl: '10.0.0.3', katoMs: 30000, cntlid: 4 });
  const ready1 = s.time;
  s.wait(100);
  // The same CID on both paths: only the device ties a timeout line to the right one. A generation counter of 3.
  p0.io[0].host(ioCmd(1, 0x3041, 500, 8));
  const write0 = s.packets.length;
  p1.io[0].host(ioCmd(1, 0x3041, 600, 8));
  const write1 = s.packets.length;
  p0.io[0].host(ioCmd(2, 0x0042, 700, 8)).ctrl(capsuleResp({ cid: 0x0042 }));
  s.wait(5000);
  return { s, ready0, ready1, write0, write1, start: s.packets[0].time };
}

/** A raw dmesg line at capture time `t` for a machine that booted at `boot` (epoch seconds). */
function raw(t: number, boot: number, text: string): string {
  return `[${(t - boot).toFixed(6).padStart(12)}] ${text}`;
}

describe('kernel logs matched on scripted conversations', () => {
  it('a log of two controllers: each timeout goes to its own device\'s command, by the tag\'s low 12 bits', async () => {
    const { s, ready0, ready1, write0, write1 } = twoControllers();
    const boot = ready0 - 300;
    const log = [
      raw(ready0 - 0.03, boot, `nvmet: creating nvm controller 1 for subsystem ${SUBNQN} for NQN ${HOSTNQN}.`),
      raw(ready0, boot, `nvme nvme0: new ctrl: NQN "${SUBNQN}", addr 10.0.0.2:4420`),
      raw(ready1 - 0.03, boot, `nvmet: creating nvm controller 4 for subsystem ${SUBNQN} for NQN ${HOSTNQN}.`),
      raw(ready1, boot, `nvme nvme1: new ctrl: NQN "${SUBNQN}", addr 10.0.0.3:4420`),
      raw(ready1 + 3.5, boot, 'nvme nvme1: queue 1: timeout request 0x41 type 4'),
      raw(ready1 + 3.6, boot, 'nvme nvme0: I/O tag 65 (3041) type 4 opcode 0x1 (Write) QID 1 timeout'),
    ].join('\n');
    const r = await scenarioReport(s, log);
    expect(r.kernelLog!.alignment[0]).toMatchObject({ method: 'anchors' });
    const timeouts = r.kernelLog!.events.filter((e) => e.kind === 'io-timeout');
    expect(timeouts.map((e) => [e.text.slice(0, 10), e.assoc, e.command?.frame])).toEqual([
      ['nvme nvme1', 2, write1], ['nvme nvme0', 1, write0],
    ]);
  });

  it('a log from another boot is not laid on this capture; the boot that fits is', async () => {
    const { s, ready0, ready1, write0 } = twoControllers();
    const boot = ready0 - 300;
    const earlier = ready0 - 5000; // the same controllers, an earlier boot and another pace: its anchors disagree
    const log = [
      raw(ready0 - 3, earlier, `nvmet: creating nvm controller 1 for subsystem ${SUBNQN} for NQN ${HOSTNQN}.`),
      raw(ready0 + 4, earlier, `nvme nvme0: new ctrl: NQN "${SUBNQN}", addr 10.0.0.2:4420`),
      raw(ready0 + 9, earlier, 'nvme nvme0: queue 1: timeout request 0x41 type 4'),
      '-- Boot 0123456789abcdef --',
      raw(ready0 - 0.03, boot, `nvmet: creating nvm controller 1 for subsystem ${SUBNQN} for NQN ${HOSTNQN}.`),
      raw(ready0, boot, `nvme nvme0: new ctrl: NQN "${SUBNQN}", addr 10.0.0.2:4420`),
      raw(ready1 + 3.6, boot, 'nvme nvme0: queue 1: timeout request 0x41 type 4'),
    ].join('\n');
    const r = await scenarioReport(s, log);
    expect(r.kernelLog!.alignment.map((a) => [a.boot, a.method])).toEqual([[0, 'none'], [1, 'anchors']]);
    const timeouts = r.kernelLog!.events.filter((e) => e.kind === 'io-timeout');
    expect(timeouts.map((e) => [e.line, e.time === null, e.command?.frame ?? null])).toEqual([[7, false, write0], [3, true, null]]);
    expect(r.kernelLog!.warnings.join('\n')).toContain('(boot 0)');
  });

  it('a wall-clock log aligns directly; --dmesg-offset corrects a known clock difference, and a skew is reported', async () => {
    const { s, ready0, write0 } = twoControllers();
    const iso = (t: number) => new Date(t * 1000).toISOString().replace('Z', '+00:00').replace('.', ',').replace(/,(\d{3})\+/, ',$1000+');
    const skew = 2.5; // the logging machine's clock runs 2.5 s ahead of the capture's
    const lines = [
      `${iso(ready0 + skew)} nvme nvme0: new ctrl: NQN "${SUBNQN}", addr 10.0.0.2:4420`,
      `${iso(ready0 + 3.6 + skew)} nvme nvme0: queue 1: timeout request 0x41 type 4`,
    ].join('\n');
    const off = await scenarioReport(s, lines);
    expect(off.kernelLog!.alignment[0]).toMatchObject({ method: 'wall-clock' });
    expect(off.kernelLog!.warnings.join('\n')).toMatch(/disagree by about -2500 ms.*--dmesg-offset -2500/);
    const fixed = await scenarioReport(s, lines, { dmesgOffsetMs: -2500 });
    expect(fixed.kernelLog!.warnings).toEqual([]);
    expect(fixed.kernelLog!.events.find((e) => e.kind === 'io-timeout')!.command?.frame).toBe(write0);
    expect(fixed.kernelLog!.alignment[0].residualMs).toBeLessThan(5);
  });

  it('a log with no NVMe line is a warning in the report, not an error', async () => {
    const { s } = twoControllers();
    const r = await scenarioReport(s, '[    1.000000] Linux version 6.1.0\n');
    expect(r.kernelLog!.warnings.join('\n')).toContain('no NVMe line');
    expect(r.findings.some((f: Finding) => f.ruleId === 'timeout-during-recovery')).toBe(false);
  });
});

describe('--dmesg on the command line', () => {
  const cli = join(__dirname, '..', 'bin', 'nvme-tcp-timeline.js');
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  const capture = join(fixtures, 'early-retry.pcap');

  it('an unreadable, empty or non-log file is a usage error naming it (exit 2)', () => {
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '\n');
    const prose = join(dir, 'prose.txt');
    writeFileSync(prose, 'not a kernel log\n');
    for (const [file, words] of [[join(dir, 'missing.txt'), 'cannot read kernel log'], [empty, 'is empty'], [prose, 'no line has a kernel log timestamp']]) {
      const r = run('analyze', capture, '--dmesg', file, '--quiet');
      expect(r.status, file).toBe(2);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toContain(words);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(run('pdus', capture, '--dmesg', join(fixtures, 'kernel-logs', 'early-retry.dmesg.txt')).status).toBe(2);
  });

  it('analyze, check and timeline take it, repeated for host and target logs', () => {
    const log = join(fixtures, 'kernel-logs', 'early-retry.dmesg.txt');
    const host = join(dir, 'host.txt');
    const target = join(dir, 'target.txt');
    const lines = readFileSync(log, 'utf8').split('\n');
    writeFileSync(host, lines.filter((l) => !l.includes('nvmet')).join('\n'));
    writeFileSync(target, lines.filter((l) => l.includes('nvmet')).join('\n'));
    const a = run('analyze', capture, '--dmesg', host, '--dmesg', target, '--no-color', '--fail-on', 'none');
    expect(a.status).toBe(0);
    expect(a.stdout).toContain(`Kernel log ${host}`);
    expect(a.stdout).toContain(`Kernel log ${target}`);
    expect(a.stdout).toContain('timeout-during-recovery');
    const c = run('check', capture, '--dmesg', log, '--fail-on', 'warning');
    expect(c.status).toBe(1);
    expect(c.stdout).toContain('timeout-during-recovery');
    const t = run('timeline', capture, '--dmesg', log, '--assoc', '1', '--qid', '1');
    expect(t.stdout).toMatch(/kernel host after frame 117 \+4\.11\d+s: nvme nvme0: queue 1: timeout request 0x41 type 4 {2}→ command of frame 111/);
    // In time order with the TCP events of the association: the timeouts come before the host's FIN.
    expect(t.stdout.indexOf('timeout request 0x72')).toBeLessThan(t.stdout.indexOf('host FIN frame 118'));
  });
});
