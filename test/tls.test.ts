import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/api/analyze-capture.js';
import { isFindingOf, type Finding } from '../src/correlate/types.js';
import { c2hData, capsuleResp, concat, h2cData, ioCmd, r2t } from '../src/test-support/builders.js';
import { fromFrame, readPackets } from '../src/test-support/rewrite.js';
import { differences, ourPdus, tsharkAvailable, tsharkTlsPdus } from './tshark.js';
import { schemaErrors } from './schema-validate.js';
import { connectAssociation, Scenario } from '../src/test-support/scenario.js';
import { tlsScenario, type TlsOptions } from '../src/test-support/tls-scenario.js';

const WRITE = 0x01;
const dir = mkdtempSync(join(tmpdir(), 'tls-test-'));
let n = 0;

/** A write acknowledged on association 1, the host resets the queue, and retries it 1 s later on association 2: before KATO. */
function earlyRetry(s: Scenario): void {
  const a1 = connectAssociation(s, { katoMs: 30000, cntlid: 1 });
  const io = a1.io[0];
  io.host(ioCmd(WRITE, 0x41, 2100, 8));
  io.ack(false);
  s.wait(3000);
  io.fin(true).rst(true);
  a1.admin.fin(true).rst(true);
  s.wait(1000);
  const a2 = connectAssociation(s, { katoMs: 30000, cntlid: 2 });
  a2.io[0].host(ioCmd(WRITE, 0x10, 2100, 8));
  a2.io[0].ctrl(capsuleResp({ cid: 0x10 }));
}

const READ = 0x02;

/** Reads and writes larger than a TLS record: records span segments and hold several PDUs, PDUs span records. */
function bulkIo(s: Scenario): void {
  const a = connectAssociation(s, { katoMs: 30000, cntlid: 1, ioQueues: 2 });
  const [q1, q2] = a.io;
  for (let i = 0; i < 4; i++) {
    q1.host(ioCmd(READ, 0x20 + i, 4096 * i, 128));
    // One send of four C2HData PDUs and the response: 64 KiB through four 16 KiB records.
    q1.ctrl(concat([0, 1, 2, 3].map((k) => c2hData(0x20 + i, k * 16384, new Uint8Array(16384).fill(k + i), { last: k === 3 }))));
    q1.ctrl(capsuleResp({ cid: 0x20 + i }));
    q2.host(ioCmd(WRITE, 0x40 + i, 8192 * i, 64));
    q2.ctrl(r2t(0x40 + i, i, 0, 32768));
    q2.host(h2cData(0x40 + i, i, 0, new Uint8Array(32768).fill(i), { last: true }), { ack: true });
    q2.ctrl(capsuleResp({ cid: 0x40 + i }));
  }
  q1.fin(true);
  q2.fin(true);
  a.admin.fin(true);
}

async function files(build: (s: Scenario) => void, options: TlsOptions = {}) {
  const { scenario, keyLog } = await tlsScenario(build, options);
  const base = join(dir, `c${n++}`);
  writeFileSync(`${base}.pcap`, scenario.pcap());
  writeFileSync(`${base}.keys`, keyLog);
  return { capture: `${base}.pcap`, keys: `${base}.keys` };
}

function plain(build: (s: Scenario) => void): string {
  const s = new Scenario();
  build(s);
  const file = join(dir, `p${n++}.pcap`);
  writeFileSync(file, s.pcap());
  return file;
}

/** A finding without what depends on the packets around it (frame numbers, times). */
function shape(f: Finding) {
  return { ruleId: f.ruleId, severity: f.severity, assoc: f.assoc, qid: f.qid, cid: f.cid };
}

beforeAll(() => {
  if (!tsharkAvailable()) throw new Error('tshark is not installed: `apt-get install -y tshark` (npm test installs it)');
});

function expectSchema(report: unknown): void {
  expect(schemaErrors(report)).toEqual([]);
}

describe('NVMe/TCP over TLS 1.3', () => {
  it('a retry-before-KATO story over TLS gives the findings it gives in plain text', async () => {
    const tls = await files(earlyRetry);
    const report = await analyzeCapture(tls.capture, { tlsKeylogs: [tls.keys] });
    const clear = await analyzeCapture(plain(earlyRetry));
    expect(report.findings.map(shape)).toEqual(clear.findings.map(shape));
    expect(report.findings.map((f) => f.ruleId)).toContain('retry-before-kato');
  });
});

describe('NVMe/TCP over TLS 1.3: PDUs agree with tshark decrypting with the same key log', () => {
  const suites: [string, TlsOptions][] = [
    ['TLS_AES_128_GCM_SHA256, PSK', { cipher: 'TLS_AES_128_GCM_SHA256' }],
    ['TLS_AES_256_GCM_SHA384, certificate', { cipher: 'TLS_AES_256_GCM_SHA384', auth: 'certificate' }],
    ['TLS_CHACHA20_POLY1305_SHA256, PSK', { cipher: 'TLS_CHACHA20_POLY1305_SHA256' }],
    ['TLS_AES_128_CCM_SHA256, PSK', { cipher: 'TLS_AES_128_CCM_SHA256' }],
  ];
  for (const [name, options] of suites) {
    it(name, async () => {
      const tls = await files(bulkIo, options);
      const theirs = tsharkTlsPdus(tls.capture, tls.keys, `${tls.capture}.plain.pcap`);
      const ours = await ourPdus(tls.capture, [4420], [tls.keys]);
      expect(theirs.size).toBeGreaterThan(30);
      expect(differences(ours, theirs)).toEqual([]);
      const report = await analyzeCapture(tls.capture, { tlsKeylogs: [tls.keys] });
      expectSchema(report);
      expect(report.summary.commands).toBe(2 + 2 + 4 + 4); // Connect and Property Set, two I/O Connects, the reads and the writes
      expect(report.findings).toEqual([]);
      expect(report.tls).toMatchObject({ connections: 3, decrypted: 3, byDecryption: { decrypted: 3 } });
      expect(report.tls!.list.map((c) => c.cipher)).toEqual([options.cipher, options.cipher, options.cipher]);
      expect(report.tls!.list.every((c) => c.undecryptedBytes === 0 && c.records > 0)).toBe(true);
    });
  }
});

describe('NVMe/TCP over TLS 1.3: what cannot be decrypted is said, per connection, and nothing else is lost', () => {
  it('without --tls-keylog: one note per connection, no PDU, no protocol finding', async () => {
    const tls = await files(bulkIo);
    const report = await analyzeCapture(tls.capture);
    expectSchema(report);
    expect(report.summary.pdus).toBe(0);
    expect(report.findings.map((f) => [f.ruleId, f.severity, f.details])).toEqual([1, 2, 3].map((conn) => ['tls-not-decrypted', 'info', expect.objectContaining({ conn, decryption: 'no-keylog', version: 'TLS 1.3', cipher: 'TLS_AES_128_GCM_SHA256' })]));
    expect(report.findings[0].message).toBe('connection 1: TLS 1.3, not decrypted: give --tls-keylog FILE (the SSLKEYLOGFILE of tlshd on the host or the target)');
    expect(report.tls).toMatchObject({ connections: 3, decrypted: 0, byDecryption: { 'no-keylog': 3 }, keyLog: null });
    expect(report.problems.streams).toEqual([]);
  });

  it('a key log of other sessions: no secret for these connections, a warning each; a key log with junk lines is read for what it holds', async () => {
    const tls = await files(earlyRetry);
    const other = await files(earlyRetry);
    const junk = `${tls.keys}.junk`;
    writeFileSync(junk, `# tlshd\nnot a key log line\n${readFileSync(other.keys, 'utf8')}CLIENT_RANDOM zz\n`);
    const report = await analyzeCapture(tls.capture, { tlsKeylogs: [junk] });
    expect(report.findings.map((f) => [f.ruleId, f.severity, 'conn' in f.details && f.details.conn])).toEqual([1, 2, 3, 4].map((conn) => ['tls-not-decrypted', 'warning', conn]));
    expect(report.findings[0].message).toMatch(/^connection 1: the key log holds no traffic secret for this connection \(ClientHello random [0-9a-f]{16}…\): TLS 1\.3, not decrypted$/);
    expect(report.tls!.keyLog).toEqual({ files: [junk], sessions: 4, secretLines: 16, otherLines: 4, ignoredLines: 2, firstIgnored: { file: junk, line: 2 } });
    // Both key logs together: every connection decrypted, the retry found.
    const both = await analyzeCapture(tls.capture, { tlsKeylogs: [junk, tls.keys] });
    expect(both.tls).toMatchObject({ connections: 4, decrypted: 4 });
    expect(both.findings.map((f) => f.ruleId)).toContain('retry-before-kato');
  });

  it('a wrong secret for the right session: authentication fails, said once per direction it stops, other connections go on', async () => {
    const tls = await files(earlyRetry);
    const lines = readFileSync(tls.keys, 'utf8').split('\n');
    // Damage the first connection's host-to-controller traffic secret.
    const i = lines.findIndex((l) => l.startsWith('CLIENT_TRAFFIC_SECRET_0'));
    lines[i] = lines[i].replace(/ ([0-9a-f])([0-9a-f]*)$/, (_m, a: string, b: string) => ` ${a === '0' ? '1' : '0'}${b}`);
    const damaged = `${tls.keys}.damaged`;
    writeFileSync(damaged, lines.join('\n'));
    const report = await analyzeCapture(tls.capture, { tlsKeylogs: [damaged] });
    const failed = report.findings.filter(isFindingOf('tls-not-decrypted'));
    expect(failed.map((f) => [f.severity, f.details.conn, 'decryption' in f.details && f.details.decryption])).toEqual([['warning', 1, 'auth-failed']]);
    expect(failed[0].message).toMatch(/^connection 1: record 0 did not authenticate with the logged traffic secret \(frame \d+\): the key log's secret does not match/);
    expect(report.tls).toMatchObject({ connections: 4, decrypted: 3, byDecryption: { decrypted: 3, 'auth-failed': 1 } });
    expect(report.problems.streams.map((p) => [p.conn, p.kind])).toEqual([[1, 'tls']]);
    expect(report.summary.associations).toBe(2);
  });

  // 46 segments carry the 64 KiB transfer in four 16,406-byte records: segment 4 lies inside the
  // first record, segment 11 across the end of the first and the start of the second.
  for (const [dropped, records, resyncs] of [[4, 1, 0], [11, 2, 1]] as const) {
    it(`a segment the capture missed (${dropped}) loses the ${records} record(s) it touched; the stream is found again and the rest decoded`, async () => {
      const build = (s: Scenario) => {
        const a = connectAssociation(s, { katoMs: 30000, cntlid: 1 });
        const q = a.io[0];
        q.host(ioCmd(READ, 0x20, 0, 128));
        q.ctrl(concat([0, 1, 2, 3].map((k) => c2hData(0x20, k * 16384, new Uint8Array(16384).fill(k), { last: k === 3 }))), { dropSegments: [dropped] });
        q.ctrl(capsuleResp({ cid: 0x20 }));
        for (let i = 0; i < 3; i++) q.host(ioCmd(READ, 0x30 + i, 0, 8)).ctrl(concat([c2hData(0x30 + i, 0, new Uint8Array(4096)), capsuleResp({ cid: 0x30 + i })]));
      };
      const tls = await files(build);
      const report = await analyzeCapture(tls.capture, { tlsKeylogs: [tls.keys] });
      expectSchema(report);
      const gap = report.findings.find((f) => f.ruleId === 'capture-gap')!;
      // The whole content of each record touched is lost to the PDU stream, no more, no less.
      expect(gap.details).toMatchObject({ cause: 'not-captured', dir: 'c2h', bytes: records * 16384 });
      const tlsProblem = report.problems.streams.find((p) => p.kind === 'tls')!;
      expect(tlsProblem.message).toMatch(resyncs ? /1448 bytes not captured: 2 record\(s\) skipped/ : /TLS record lost 1448 bytes/);
      expect(report.tls!.list[1]).toMatchObject({ conn: 2, decryption: 'decrypted', resyncs });
      expect(report.tls!.list[1].undecryptedBytes).toBe(records * (5 + 16384 + 17) - 1448);
      // Every command after the loss is decoded and completed.
      const done = await commandsOf(tls.capture, tls.keys);
      expect(done.filter((c) => c.cid >= 0x30).map((c) => [c.cid, c.outcome])).toEqual([[0x30, 'completed'], [0x31, 'completed'], [0x32, 'completed']]);
    });
  }

  it('a PSK the controller does not know: the handshake fails with the stack\'s own alert, said with or without a key log', async () => {
    const build = (s: Scenario) => {
      const c = s.connection('10.0.0.1', '10.0.0.2');
      c.fin(true).fin(false);
    };
    const tls = await files(build, { unknownPsk: true });
    expect(readFileSync(tls.keys, 'utf8')).toBe(''); // no session, no secret
    const other = await files(earlyRetry);
    for (const tlsKeylogs of [undefined, [other.keys]]) {
      const report = await analyzeCapture(tls.capture, { tlsKeylogs });
      expect(report.findings.map((f) => [f.ruleId, f.severity])).toEqual([['tls-not-decrypted', 'warning']]);
      expect(report.findings[0].message).toMatch(/^connection 1: the TLS handshake failed: the controller sent the alert \w+ before any ServerHello; NVMe\/TCP never ran on this connection$/);
      expect(report.tls).toMatchObject({ connections: 1, decrypted: 0, byDecryption: { 'handshake-failed': 1 } });
    }
  });

  it('a capture that begins after the handshake: recognised, said, not guessed at', async () => {
    const tls = await files(earlyRetry);
    const packets = await readPackets(tls.capture);
    const late = `${tls.capture}.late.pcap`;
    // From the ICReq's frame on the first admin connection: after both handshakes of the first association.
    writeFileSync(late, fromFrame(packets, 9));
    const report = await analyzeCapture(late, { tlsKeylogs: [tls.keys] });
    const notes = report.findings.filter((f) => f.ruleId === 'tls-not-decrypted');
    expect(notes.length).toBeGreaterThan(0);
    expect(notes.every((f) => 'decryption' in f.details && f.details.decryption === 'no-handshake')).toBe(true);
  });
});

async function commandsOf(capture: string, keys: string) {
  const out: { cid: number; outcome: string }[] = [];
  await analyzeCapture(capture, { tlsKeylogs: [keys], onCommand: (c) => void out.push({ cid: c.cid, outcome: c.outcome }) });
  return out;
}

describe('NVMe/TCP over TLS 1.3 from the command line', () => {
  const bin = join(__dirname, '..', 'bin', 'nvme-tcp-timeline.js');
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', COLUMNS: '160' } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('--tls-keylog on analyze, check, timeline and pdus; without it each says what to give', async () => {
    const tls = await files(earlyRetry);
    const plain = run(['analyze', tls.capture, '--fail-on', 'none']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('NVMe/TCP over TLS on 4 connections: 0 decrypted (TLS_AES_128_GCM_SHA256); 4 not decrypted: give --tls-keylog FILE (the SSLKEYLOGFILE of tlshd on the host or the target)');
    const keyed = run(['analyze', tls.capture, '--tls-keylog', tls.keys]);
    expect(keyed.code).toBe(1);
    expect(keyed.stdout).toContain('NVMe/TCP over TLS on 4 connections: 4 decrypted (TLS_AES_128_GCM_SHA256)');
    expect(keyed.stdout).toContain('retry-before-kato');
    expect(run(['check', tls.capture]).stdout).toMatch(/^PASS .* 0 error, 0 warning, 4 info/);
    expect(run(['check', tls.capture, '--tls-keylog', tls.keys]).stdout).toMatch(/^FAIL .*\(retry-before-kato\)/);
    expect(run(['timeline', tls.capture, '--tls-keylog', tls.keys, '--cid', '0x41']).stdout).toContain('Write SLBA 2100 NLB 8');
    const pdus = run(['pdus', tls.capture]);
    expect(pdus.stdout).toBe('');
    expect(pdus.stderr).toContain('4 of 4 NVMe/TCP connections use TLS and were not decrypted: give --tls-keylog FILE');
    expect(run(['pdus', tls.capture, '--tls-keylog', tls.keys]).stdout.split('\n').filter((l) => l.includes('CapsuleCmd')).length).toBe(8);
  });

  it('a key log that cannot be read or holds no key log line is a usage error naming it', async () => {
    const tls = await files(earlyRetry);
    const missing = run(['analyze', tls.capture, '--tls-keylog', `${tls.keys}.missing`]);
    expect([missing.code, missing.stderr]).toEqual([2, `nvme-tcp-timeline: cannot read TLS key log ${tls.keys}.missing: ENOENT\n`]);
    writeFileSync(`${tls.keys}.words`, 'these are not secrets\n');
    const words = run(['analyze', tls.capture, '--tls-keylog', `${tls.keys}.words`]);
    expect([words.code, words.stderr]).toEqual([2, `nvme-tcp-timeline: TLS key log ${tls.keys}.words holds no NSS key log line (LABEL <client random> <secret>)\n`]);
  });
});

describe('NVMe/TCP over TLS 1.3: damaged records never crash the decryption', () => {
  it('300 captures with flipped bytes, dropped and cut packets: analysed with the key log, no exception', async () => {
    const { prng } = await import('../src/test-support/mutate.js');
    const { pcapFile } = await import('../src/test-support/builders.js');
    const { CaptureError } = await import('../src/common/errors.js');
    const tls = await files(bulkIo);
    const packets = await readPackets(tls.capture);
    const failures: string[] = [];
    let decrypted = 0;
    for (let i = 0; i < 300; i++) {
      const rnd = prng(1000 + i);
      const int = (n: number) => Math.floor(rnd() * n);
      const damaged = packets.map((p) => ({ ...p, data: p.data.slice() }));
      for (let m = 0; m < 1 + int(4); m++) {
        const k = int(damaged.length);
        const kind = int(3);
        if (kind === 0) damaged[k].data[54 + int(Math.max(1, damaged[k].data.length - 54))] ^= 1 << int(8); // payload bit
        else if (kind === 1) damaged.splice(k, 1); // a segment the capture missed
        else damaged[k] = { ...damaged[k], data: damaged[k].data.slice(0, 54 + int(200)), origLen: damaged[k].data.length }; // snaplen
      }
      try {
        const report = await analyzeCapture((async function* () { yield pcapFile(1, damaged); })(), { name: `damaged-${i}.pcap`, tlsKeylogs: [tls.keys] });
        decrypted += report.tls?.decrypted ?? 0;
      } catch (error) {
        if (!(error instanceof CaptureError)) failures.push(`input ${i}: ${(error as Error).stack}`);
      }
    }
    expect(failures).toEqual([]);
    expect(decrypted).toBeGreaterThan(300); // most connections of most inputs still decrypt
  });
});
