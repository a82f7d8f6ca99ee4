import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/api/analyze-capture.js';
import { CaptureError } from '../src/common/errors.js';
import { renderText } from '../src/report/text-report.js';
import type { Report } from '../src/report/types.js';
import { isFindingOf } from '../src/correlate/types.js';
import { capsuleResp, connectCmd, icReq, icResp, ioCmd, pcapFile, pcapngFile } from '../src/test-support/builders.js';
import { readPackets } from '../src/test-support/rewrite.js';
import { schemaErrors } from './schema-validate.js';
import { Scenario } from '../src/test-support/scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'nvme-tcp-timeline-damaged-'));

/** Damaged inputs produce the rarer report shapes: they must still match the published schema. */
function expectSchema(report: Report): void {
  expect(schemaErrors(JSON.parse(JSON.stringify(report)))).toEqual([]);
}

async function* once(bytes: Uint8Array) {
  yield bytes;
}

function analyzeBytes(bytes: Uint8Array, name = 'input.pcap') {
  return analyzeCapture(once(bytes), { name });
}

describe('damaged captures', () => {
  it('cut at any byte: what was read is reported, with the damage, never an exception', async () => {
    const whole = new Uint8Array(readFileSync('fixtures/early-retry.pcap'));
    const full = await analyzeBytes(whole);
    for (let cut = 24; cut < whole.length; cut += 4999) {
      const r = await analyzeBytes(whole.subarray(0, cut));
      expect(r.capture.frames).toBeLessThanOrEqual(full.capture.frames);
      expectSchema(r);
      if (r.problems.capture) {
        expect(r.problems.capture.kind).toBe('truncated');
        expect(r.problems.capture.afterFrame).toBe(r.capture.frames);
      }
      // A cut capture may lose a retry, never invent an error the whole one lacks.
      const errors = r.findings.filter((f) => f.severity === 'error').map((f) => f.ruleId);
      for (const e of errors) expect(full.findings.some((f) => f.ruleId === e)).toBe(true);
    }
  });

  it('snaplen 128 (editcap -s 128): fields that were captured are decoded, cut commands are undecidable, nothing is invented', async () => {
    const cut = join(dir, 'early-retry-s128.pcap');
    execFileSync('editcap', ['-s', '128', 'fixtures/early-retry.pcap', cut]);
    const r = await analyzeCapture(cut);
    expect(r.problems.truncatedFrames).toBeGreaterThan(100);
    expect(r.associations.map((a) => a.katoMs)).toEqual([30000, 30000]);
    const rules = new Set(r.findings.map((f) => f.ruleId));
    for (const never of ['protocol-violation', 'cid-reuse-in-flight', 'digest-mismatch', 'unknown-pdu']) expect(rules.has(never as never), never).toBe(false);
    const gaps = r.findings.filter(isFindingOf('capture-gap'));
    expect(gaps.every((f) => f.details.cause === 'snaplen')).toBe(true);
    // The read's retry survives the cut (its header fits in 128 bytes) and is marked uncertain.
    const retry = r.findings.filter(isFindingOf('retry-before-kato'));
    expect(retry.map((f) => [f.details.opcode, f.details.originalFrame, f.details.retryFrame, f.details.uncertain])).toEqual([['Read', 112, 161, true]]);
    expect(r.findings.filter(isFindingOf('unanswered-command')).filter((f) => f.details.outcome === 'undecidable').length).toBeGreaterThan(5);
    expectSchema(r);
  });

  it('unsupported link types are refused with the file named (exit 3)', async () => {
    const bytes = pcapFile(147, [{ time: 1, data: new Uint8Array(60) }]);
    await expect(analyzeBytes(bytes, 'user.pcap')).rejects.toThrow(new CaptureError('user.pcap', undefined, 'unsupported link type 147 (supported: 0, 1, 12, 14, 101, 108, 113, 228, 229, 276)'));
  });

  it('non-NVMe traffic on port 4420 is skipped as such, without invented PDUs', async () => {
    const s = new Scenario();
    const c = s.connection('10.0.0.1', '10.0.0.2');
    for (let i = 0; i < 20; i++) {
      c.host(new TextEncoder().encode(`GET /index${i}.html HTTP/1.1\r\nHost: example\r\n\r\n`));
      c.ctrl(new TextEncoder().encode(`HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello`));
    }
    const r = await analyzeBytes(s.pcap());
    expect(r.summary.pdus).toBe(0);
    expect(r.summary.commands).toBe(0);
    expect(new Set(r.findings.map((f) => f.ruleId))).toEqual(new Set(['unknown-pdu']));
  });

  it('NVMe/TCP over TLS without a key log is recognised and said once per connection, not hunted through as garbage', async () => {
    const s = new Scenario();
    const c = s.connection('10.0.0.1', '10.0.0.2');
    const hello = new Uint8Array(300).fill(0xab);
    hello.set([0x16, 0x03, 0x01, 0x01, 0x27, 0x01]);
    c.host(hello).ctrl(new Uint8Array([0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, ...new Uint8Array(122)]));
    for (let i = 0; i < 10; i++) c.host(new Uint8Array(500).fill(i)).ctrl(new Uint8Array(700).fill(i));
    const r = await analyzeBytes(s.pcap());
    expect(r.findings.map((f) => [f.ruleId, f.severity])).toEqual([['tls-not-decrypted', 'info']]);
    expect(r.findings[0].message).toBe('connection 1: TLS 1.3, not decrypted: give --tls-keylog FILE (the SSLKEYLOGFILE of tlshd on the host or the target)');
    expect(r.tls).toMatchObject({ connections: 1, decrypted: 0, byDecryption: { 'no-keylog': 1 } });
    expect(r.problems.streams.filter((p) => p.kind !== 'tls')).toEqual([]);
    expectSchema(r);
    expect(r.summary.pdus).toBe(0);
  });

  it('capture drops: a capture-gap with stream offset and size, framing resynchronised, verdicts near it uncertain', async () => {
    const s = new Scenario();
    const admin = s.connection('10.0.0.1', '10.0.0.2').initialize();
    admin.host(connectCmd(0, 0, 5000, 'h', 'sub')).ctrl(capsuleResp({ cid: 0, dw0: 1 }));
    const io = s.connection('10.0.0.1', '10.0.0.2').initialize();
    io.host(connectCmd(0, 1, 0, 'h', 'sub', 1)).ctrl(capsuleResp({ cid: 0 }));
    io.host(ioCmd(2, 1, 10, 8));
    io.ctrl(capsuleResp({ cid: 1 }), { drop: true }); // the capture missed this response
    io.host(ioCmd(2, 2, 20, 8), { ack: true });
    io.ctrl(capsuleResp({ cid: 2 }));
    const r = await analyzeBytes(s.pcap());
    const gap = r.findings.find((f) => f.ruleId === 'capture-gap')!;
    expect(gap.details).toMatchObject({ bytes: 24, dir: 'c2h', streamOffset: 152 });
    const lost = r.findings.find(isFindingOf('unanswered-command'))!;
    expect(lost.details.outcome).toBe('undecidable');
    expect(r.opcodes.find((o) => o.opcode === 'Read')).toMatchObject({ completed: 1, unanswered: 1 });
    expectSchema(r);
  });
});

describe('terminal safety', () => {
  it('control characters from the capture are escaped in text output', async () => {
    const s = new Scenario();
    const c = s.connection('10.0.0.1', '10.0.0.2');
    c.host(icReq()).ctrl(icResp());
    c.host(connectCmd(0, 0, 5000, 'nqn.evil\u001b]0;pwned\u0007\u001b[2J', 'nqn.sub\r\nFAKE LINE'));
    c.ctrl(capsuleResp({ cid: 0, dw0: 1 }));
    const report = await analyzeBytes(s.pcap());
    const text = renderText(report, { color: false });
    expect(text).toContain('nqn.evil\\x1b]0;pwned\\x07\\x1b[2J');
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(text).toContain('nqn.sub\\x0d\\x0aFAKE LINE');
  });
});

describe('determinism', () => {
  it('pcap, pcapng and gzip of the same traffic give the same report, apart from the file fields', async () => {
    const packets = await readPackets('fixtures/early-retry.pcap');
    const pcap = pcapFile(1, packets);
    const variants = [pcap, pcapngFile([{ interfaces: [{ linkType: 1 }], packets }]), gzipSync(pcap)];
    const strip = (r: Report) => JSON.stringify({ ...r, capture: { ...r.capture, file: '', format: '', compressed: false, bytes: 0 } });
    const [a, b, c] = await Promise.all(variants.map((v) => analyzeBytes(v)));
    expect(strip(b)).toBe(strip(a));
    expect(strip(c)).toBe(strip(a));
    expect(JSON.stringify(await analyzeBytes(pcap))).toBe(JSON.stringify(a));
  });
});

describe('a capture that began mid-stream on another port', () => {
  it('says how many TCP connections were not decoded and how to decode them; --port does', async () => {
    const s = new Scenario();
    const c = s.connection('10.0.0.1', '10.0.0.2', { ctrlPort: 5555, handshake: false });
    for (let cid = 1; cid <= 3; cid++) c.host(ioCmd(2, cid, cid * 8, 8)).ctrl(capsuleResp({ cid }));
    const bytes = s.pcap();
    const without = await analyzeBytes(bytes);
    expect(without.summary).toMatchObject({ tcpConnections: 1, nvmeConnections: 0, commands: 0 });
    expect(renderText(without, { color: false })).toContain(
      '1 other TCP connection not decoded: NVMe/TCP is recognised on ports 4420, 8009 or by its ICReq; --port P decodes connections already open when the capture began');
    const withPort = await analyzeCapture(once(bytes), { name: 'input.pcap', ports: [4420, 8009, 5555] });
    expect(withPort.summary).toMatchObject({ tcpConnections: 1, nvmeConnections: 1, commands: 3 });
    expect(renderText(withPort, { color: false })).not.toContain('not decoded');
  });
});
