import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/api/analyze-capture.js';
import { capsuleCmd, capsuleResp, ioCmd } from '../src/test-support/builders.js';
import { connectAssociation, HOSTNQN, Scenario, SUBNQN } from '../src/test-support/scenario.js';
import { schemaErrors } from './schema-validate.js';

/**
 * Shapes of real captures the kernel-log matching must get right: a capture at the target's port
 * with two hosts on one subsystem (and the log of one of them), and a capture that starts after
 * the Connect, so the wire cannot number the queue a timeout line names.
 */
const dir = mkdtempSync(join(tmpdir(), 'ntt-shapes-'));
const WRITE = 0x01;
const KEEP_ALIVE = 0x18;
const OTHER_HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-0000000000bb';

async function* once(bytes: Uint8Array) {
  yield bytes;
}

async function report(s: Scenario, log: string) {
  const file = join(dir, `log-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(file, log);
  const r = await analyzeCapture(once(s.pcap()), { name: 'scenario.pcap', dmesg: [file] });
  expect(schemaErrors(JSON.parse(JSON.stringify(r)))).toEqual([]);
  return r;
}

const raw = (t: number, boot: number, text: string) => `[${(t - boot).toFixed(6).padStart(12)}] ${text}`;
const iso = (t: number, text: string) => `${new Date(Math.floor(t * 1000)).toISOString().replace(/\.(\d{3})Z$/, `,$1${String(Math.floor((t * 1e6) % 1000)).padStart(3, '0')}+00:00`)} ${text}`;

describe('two hosts on one subsystem, the log of one of them', () => {
  it('each timeout goes to its own host\'s command, across that host\'s reconnect, never to the other host\'s', async () => {
    const s = new Scenario();
    const ctrl = '10.0.0.2';
    const a1 = connectAssociation(s, { host: '10.0.0.1', ctrl, katoMs: 30000, cntlid: 1 });
    const ready1 = s.time;
    s.wait(1000);
    const b2 = connectAssociation(s, { host: '10.0.0.5', ctrl, katoMs: 30000, cntlid: 2, hostnqn: OTHER_HOSTNQN });
    s.wait(100);
    // Both hosts have the same CIDs outstanding at once: only the host tells the lines' commands apart.
    const frames: number[] = [];
    for (const cid of [0x41, 0x42, 0x43]) {
      a1.io[0].host(ioCmd(WRITE, cid, 100 + cid, 8));
      frames.push(s.packets.length);
      b2.io[0].host(ioCmd(WRITE, cid, 900 + cid, 8));
    }
    s.wait(4000);
    a1.io[0].fin(true);
    a1.admin.fin(true);
    s.wait(5000);
    const a3 = connectAssociation(s, { host: '10.0.0.1', ctrl, katoMs: 30000, cntlid: 3 });
    const ready3 = s.time;
    s.wait(1700);
    b2.io[0].fin(true);
    b2.admin.fin(true);
    const b4 = connectAssociation(s, { host: '10.0.0.5', ctrl, katoMs: 30000, cntlid: 4, hostnqn: OTHER_HOSTNQN });
    s.wait(100);
    a3.io[0].host(ioCmd(WRITE, 0x44, 500, 8));
    const later = s.packets.length;
    b4.io[0].host(ioCmd(WRITE, 0x44, 1500, 8));
    s.wait(5000);
    const boot = ready1 - 300;
    const log = [
      raw(ready1, boot, `nvme nvme0: new ctrl: NQN "${SUBNQN}", addr ${ctrl}:4420`),
      raw(ready1 + 4.1, boot, 'nvme nvme0: queue 1: timeout request 0x41 type 4'),
      raw(ready1 + 4.1, boot, 'nvme nvme0: starting error recovery'),
      raw(ready1 + 4.12, boot, 'nvme nvme0: queue 1: timeout request 0x42 type 4'),
      raw(ready1 + 4.13, boot, 'nvme nvme0: queue 1: timeout request 0x43 type 4'),
      raw(ready3, boot, 'nvme nvme0: Successfully reconnected (1 attempt)'),
      raw(ready3 + 4.8, boot, 'nvme nvme0: queue 1: timeout request 0x44 type 4'),
    ].join('\n');
    const r = await report(s, log);
    expect(r.associations.map((a) => [a.id, a.hostnqn])).toEqual([[1, HOSTNQN], [2, OTHER_HOSTNQN], [3, HOSTNQN], [4, OTHER_HOSTNQN]]);
    expect(r.kernelLog!.alignment[0]).toMatchObject({ method: 'anchors' });
    const timeouts = r.kernelLog!.events.filter((e) => e.kind === 'io-timeout');
    expect(timeouts.map((e) => [e.assoc, e.command?.frame ?? null])).toEqual([[1, frames[0]], [1, frames[1]], [1, frames[2]], [3, later]]);
    expect(r.kernelLog!.warnings).toEqual([]);
    // Two of the three timed out after recovery had started.
    expect(r.findings.filter((f) => f.ruleId === 'timeout-during-recovery').map((f) => [f.assoc, f.cid])).toEqual([[1, 0x42], [1, 0x43]]);
  });
});

describe('two hosts on one subsystem, and a log that never says which host it is', () => {
  it('a timeout line that fits a command of each host is not guessed', async () => {
    const s = new Scenario();
    const a = connectAssociation(s, { host: '10.0.0.1', ctrl: '10.0.0.2', katoMs: 30000, cntlid: 1 });
    const b = connectAssociation(s, { host: '10.0.0.5', ctrl: '10.0.0.2', katoMs: 30000, cntlid: 2, hostnqn: OTHER_HOSTNQN });
    s.wait(100);
    const sent = s.time;
    a.io[0].host(ioCmd(WRITE, 0x41, 100, 8));
    b.io[0].host(ioCmd(WRITE, 0x41, 900, 8));
    s.wait(5000);
    const r = await report(s, iso(sent + 3.2, 'nvme nvme0: queue 1: timeout request 0x41 type 4'));
    const [t] = r.kernelLog!.events.filter((e) => e.kind === 'io-timeout');
    expect(t.assoc).toBeNull();
    expect(t.command).toBeNull();
    expect(r.kernelLog!.warnings.join('\n')).toContain('2 captured commands of as many associations (the line is tied to none: several hosts share the path) fit it: not matched');
  });
});

/** A capture that starts after the Connect: an admin queue known by its keep-alives, and I/O queues the wire cannot number. */
function midStream(ioQueues: number) {
  const s = new Scenario();
  const admin = s.connection('10.0.0.1', '10.0.0.2', { handshake: false });
  admin.host(capsuleCmd({ opcode: KEEP_ALIVE, cid: 0x10 })).ctrl(capsuleResp({ cid: 0x10 }));
  const io = Array.from({ length: ioQueues }, () => s.connection('10.0.0.1', '10.0.0.2', { handshake: false }));
  for (const [i, q] of io.entries()) q.host(ioCmd(WRITE, 0x063, 10 + i, 8)).ctrl(capsuleResp({ cid: 0x063 }));
  s.wait(50);
  const sent = s.time;
  const frames = io.map((q, i) => {
    q.host(ioCmd(WRITE, 0x1064, 3000 + i, 8)); // generation 1, tag 0x064
    return s.packets.length;
  });
  s.wait(5000);
  admin.host(capsuleCmd({ opcode: KEEP_ALIVE, cid: 0x11 })).ctrl(capsuleResp({ cid: 0x11 }));
  return { s, sent, frames };
}

describe('a capture that starts after the Connect', () => {
  it('a timeout naming queue 1 matches the one outstanding command with that tag on the device\'s I/O queue, and says the qid came from the log', async () => {
    const { s, sent, frames } = midStream(1);
    const r = await report(s, iso(sent + 3.2, 'nvme nvme0: queue 1: timeout request 0x64 type 4'));
    expect(r.associations[0].inferred).toBe(true);
    const [t] = r.kernelLog!.events.filter((e) => e.kind === 'io-timeout');
    expect(t.command).toEqual({ frame: frames[0], qid: 1, cid: 0x1064, qidFromLog: true });
    expect(t.assoc).toBe(1);
    expect(r.kernelLog!.notes.join('\n')).toMatch(/queue 1 tag 100 is frame \d+'s queue, which the capture cannot number .*qid 1 learnt from the log/);
    expect(r.kernelLog!.warnings).toEqual([]);
  });

  it('refuses to guess when two queues of unknown number each hold a fitting command', async () => {
    const { s, sent } = midStream(2);
    const r = await report(s, iso(sent + 3.2, 'nvme nvme0: queue 1: timeout request 0x64 type 4'));
    const [t] = r.kernelLog!.events.filter((e) => e.kind === 'io-timeout');
    expect(t.command).toBeNull();
    expect(r.kernelLog!.warnings.join('\n')).toContain('2 captured commands on queues the capture cannot number fit it: not matched');
  });

  it('never matches a line about the admin queue to an I/O queue', async () => {
    const { s, sent } = midStream(1);
    const r = await report(s, iso(sent + 3.2, 'nvme nvme0: queue 0: timeout request 0x64 type 4'));
    expect(r.kernelLog!.events.find((e) => e.kind === 'io-timeout')!.command).toBeNull();
  });
});
