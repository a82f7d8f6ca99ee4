import { describe, expect, it } from 'vitest';
import { analyzeCapture, type AnalyzeOptions } from '../api/analyze-capture.js';
import { isRetryFinding, type Finding, type RetryDetails } from './types.js';
import {
  c2hData, capsuleCmd, capsuleResp, h2cData, ioCmd, propertySetCC, r2t, termReq,
} from '../test-support/builders.js';
import { connectAssociation, Scenario } from '../test-support/scenario.js';

const WRITE = 0x01;
const READ = 0x02;
const KEEP_ALIVE = 0x18;

async function analyze(s: Scenario, options: AnalyzeOptions = {}) {
  const bytes = s.pcap();
  async function* one() {
    yield bytes;
  }
  return analyzeCapture(one(), { name: 'scenario.pcap', ...options });
}

/** The details of a retry finding (fails the test for any other finding). */
function retry(f: Finding | undefined): RetryDetails {
  if (!f || !isRetryFinding(f)) throw new Error(`not a retry finding: ${f?.ruleId}`);
  return f.details;
}

function rules(findings: Finding[]): string[] {
  return findings.map((f) => `${f.ruleId}:${f.severity}`);
}

/** Old association: a write and a read sent into a dead link, the host tears down. */
function deadLink(s: Scenario, katoMs: number) {
  const a1 = connectAssociation(s, { katoMs, cntlid: 1 });
  const io = a1.io[0];
  io.host(ioCmd(WRITE, 0x10, 2100, 8)).ctrl(capsuleResp({ cid: 0x10 }));
  s.wait(100);
  io.host(ioCmd(WRITE, 0x11, 2100, 8)); // sent into the cut
  io.host(ioCmd(READ, 0x12, 2200, 8));
  s.wait(4000);
  io.fin(true);
  a1.admin.fin(true);
  return a1;
}

describe('retry verdicts', () => {
  it('flags a retry before KATO: the write as error, the read as warning, with the proof', async () => {
    const s = new Scenario();
    deadLink(s, 30000);
    s.wait(5000);
    const a2 = connectAssociation(s, { katoMs: 30000, cntlid: 2 });
    a2.io[0].host(ioCmd(WRITE, 0x20, 2100, 8)).host(ioCmd(READ, 0x21, 2200, 8));
    const r = await analyze(s);
    const retries = r.findings.filter((f) => f.ruleId.startsWith('retry'));
    expect(rules(retries).sort()).toEqual(['retry-before-kato:error', 'retry-before-kato:warning']);
    const write = retries.find((f) => f.severity === 'error')!;
    expect(write.details).toMatchObject({ opcode: 'Write', slba: 2100, nlb: 8, katoMs: 30000, katoSource: 'connect', requiredMs: 30000, rule: 'kato+cqt', fencedBy: null, originalAssoc: 1, retryAssoc: 2, samePath: true });
    expect(retry(write).gapMs).toBeGreaterThan(9000);
    expect(retry(write).gapMs).toBeLessThan(9200);
    expect(write.frames).toContain(retry(write).originalFrame);
    expect(write.frames).toContain(retry(write).retryFrame);
    expect(write.wiresharkFilter).toBe(`frame.number in {${write.frames.join(' ')}}`);
    expect(r.associations.map((a) => a.id)).toEqual([1, 2]);
  });

  it('reports a retry after KATO as info only', async () => {
    const s = new Scenario();
    deadLink(s, 3000);
    s.wait(1000);
    const a2 = connectAssociation(s, { katoMs: 3000, cntlid: 2 });
    a2.io[0].host(ioCmd(WRITE, 0x20, 2100, 8));
    const r = await analyze(s);
    expect(rules(r.findings.filter((f) => f.ruleId.startsWith('retry')))).toEqual(['retry-after-kato:info']);
  });

  it('honours --rule: tp4129 waits 2×KATO + CQT (3× with TBKAS)', async () => {
    const s = new Scenario();
    deadLink(s, 3000);
    s.wait(3000); // about 7.1 s after the last controller contact
    connectAssociation(s, { katoMs: 3000, cntlid: 2 }).io[0].host(ioCmd(WRITE, 0x20, 2100, 8));
    const r = await analyze(s, { rule: 'tp4129', cqtMs: 1000 });
    const f = r.findings.find((x) => x.ruleId.startsWith('retry'))!;
    expect(f.ruleId).toBe('retry-after-kato');
    expect(f.details).toMatchObject({ requiredMs: 7000, cqtMs: 1000, cqtSource: '--cqt' });
    const strict = await analyze(s, { rule: 'tp4129', cqtMs: 2000 });
    expect(strict.findings.find((x) => x.ruleId.startsWith('retry'))!.ruleId).toBe('retry-before-kato');
  });

  it('does not flag a retry once the old controller was disabled (CC.EN=0 acknowledged)', async () => {
    const s = new Scenario();
    const a1 = connectAssociation(s, { katoMs: 30000, cntlid: 1 });
    a1.io[0].host(ioCmd(WRITE, 0x11, 500, 8));
    s.wait(3000);
    a1.io[0].fin(true);
    a1.admin.host(propertySetCC(9, 0x460000)).ctrl(capsuleResp({ cid: 9 }));
    s.wait(1000);
    connectAssociation(s, { katoMs: 30000, cntlid: 2 }).io[0].host(ioCmd(WRITE, 0x20, 500, 8));
    const r = await analyze(s);
    const f = r.findings.filter((x) => x.ruleId.startsWith('retry'));
    expect(rules(f)).toEqual(['retry-after-fence:info']);
    expect(retry(f[0]).fencedBy).toMatchObject({ kind: 'cc-disable' });
  });

  it('finds duplicate execution: completed after the host closed the queue, then resubmitted', async () => {
    const s = new Scenario();
    const a1 = connectAssociation(s, { katoMs: 30000, cntlid: 1 });
    const io = a1.io[0];
    io.host(ioCmd(WRITE, 0x11, 700, 8));
    s.wait(3000);
    io.fin(true);
    io.ctrl(capsuleResp({ cid: 0x11 })); // the controller ran it; the host had given up
    a1.admin.host(propertySetCC(9, 0x460000)).ctrl(capsuleResp({ cid: 9 }));
    s.wait(500);
    connectAssociation(s, { katoMs: 30000, cntlid: 2 }).io[0].host(ioCmd(WRITE, 0x20, 700, 8));
    const r = await analyze(s);
    expect(rules(r.findings.filter((x) => x.ruleId !== 'unanswered-command'))).toEqual(['duplicate-execution:error', 'retry-after-fence:info']);
    expect(r.findings.some((x) => x.ruleId === 'retry-before-kato')).toBe(false);
  });

  it('matches a retry on another path of the same host', async () => {
    const s = new Scenario();
    const p1 = connectAssociation(s, { ctrl: '10.0.0.2', katoMs: 10000, cntlid: 1 });
    const p2 = connectAssociation(s, { ctrl: '10.0.0.3', katoMs: 10000, cntlid: 7 });
    p1.io[0].host(ioCmd(WRITE, 0x30, 900, 16));
    s.wait(2000);
    p2.io[0].host(ioCmd(WRITE, 0x31, 900, 16));
    const r = await analyze(s);
    const f = r.findings.find((x) => x.ruleId === 'retry-before-kato')!;
    expect(f.details).toMatchObject({ samePath: false, originalAssoc: 1, retryAssoc: 2 });
    expect(r.associations.map((a) => a.controller)).toEqual(['10.0.0.2:4420', '10.0.0.3:4420']);
  });

  it('infers associations when the capture holds no Connect, with KATO from --kato or the Linux default', async () => {
    const s = new Scenario();
    // Connections already open when the capture started: no SYN, no ICReq, no Connect.
    const admin = s.connection('10.0.0.1', '10.0.0.2', { handshake: false });
    const io = s.connection('10.0.0.1', '10.0.0.2', { handshake: false });
    admin.host(capsuleCmd({ opcode: KEEP_ALIVE, cid: 1 })).ctrl(capsuleResp({ cid: 1 }));
    io.host(ioCmd(READ, 3, 10, 1)).ctrl(c2hData(3, 0, new Uint8Array(512), { success: true }));
    io.host(ioCmd(WRITE, 4, 20, 1));
    s.wait(2000);
    io.fin(true);
    admin.fin(true);
    s.wait(100);
    connectAssociation(s, { katoMs: 5000, cntlid: 3 }).io[0].host(ioCmd(WRITE, 9, 20, 1));
    for (const [options, source, kato] of [[{}, 'assumed', 5000], [{ katoMs: 1000 }, '--kato', 1000]] as const) {
      const r = await analyze(s, options);
      expect(r.associations[0]).toMatchObject({ inferred: true, katoSource: source, katoMs: kato });
      expect(r.associations[0].queues.map((q) => [q.qid, q.qidSource])).toEqual([[0, 'keep-alive'], [null, 'unknown']]);
      const f = r.findings.find((x) => x.ruleId.startsWith('retry'))!;
      expect(f.ruleId).toBe(kato === 5000 ? 'retry-before-kato' : 'retry-after-kato');
      expect(retry(f).katoSource).toBe(source);
      expect(retry(f).retryAssocKatoMs).toBe(5000);
      if (source === 'assumed') expect(f.message).toContain('KATO 5000 ms assumed: the Linux default, give --kato');
      else expect(f.message).toMatch(/KATO 1000 ms from --kato\); the new association's Connect declares KATO 5000 ms; the controller never acknowledged it/);
    }
  });

  it('knows the admin queue of a capture without Connect by its Property Get/Set too', async () => {
    const s = new Scenario();
    const admin = s.connection('10.0.0.1', '10.0.0.2', { handshake: false });
    admin.host(capsuleCmd({ opcode: 0x7f, cid: 1, fctype: 4, cdw11: 0x1c })).ctrl(capsuleResp({ cid: 1 }));
    const r = await analyze(s);
    expect(r.associations[0].queues.map((q) => [q.qid, q.qidSource])).toEqual([[0, 'property-access']]);
  });

  it('flags write data that leaves the old connection after its retry', async () => {
    const s = new Scenario();
    const a1 = connectAssociation(s, { katoMs: 30000, cntlid: 1 });
    a1.io[0].host(capsuleCmd({ opcode: WRITE, cid: 5, nsid: 1, cdw10: 40, cdw12: 7, dataLength: 4096 }));
    a1.io[0].ctrl(r2t(5, 1, 0, 4096));
    s.wait(2000);
    connectAssociation(s, { katoMs: 30000, cntlid: 2 }).io[0].host(ioCmd(WRITE, 6, 40, 8));
    a1.io[0].host(h2cData(5, 1, 0, new Uint8Array(4096)));
    const r = await analyze(s);
    expect(rules(r.findings).filter((x) => !x.startsWith('unanswered'))).toEqual(['retry-before-kato:error', 'stale-data-after-retry:error']);
  });
});

describe('ports', () => {
  it('finds NVMe/TCP on any port by its ICReq, and on --port when the capture starts mid-stream', async () => {
    const s = new Scenario();
    connectAssociation(s, { ctrlPort: 5555, katoMs: 7000 }).io[0].host(ioCmd(READ, 1, 0, 1)).ctrl(c2hData(1, 0, new Uint8Array(512), { success: true }));
    const r = await analyze(s);
    expect(r.associations.map((a) => [a.controller, a.katoMs])).toEqual([['10.0.0.2:5555', 7000]]);
    expect(r.summary.commands).toBe(4); // admin Connect, Property Set, I/O Connect, Read

    const mid = new Scenario();
    const c = mid.connection('10.0.0.1', '10.0.0.2', { ctrlPort: 6666, handshake: false });
    c.host(ioCmd(READ, 1, 0, 1)).ctrl(capsuleResp({ cid: 1 }));
    expect((await analyze(mid)).summary.pdus).toBe(0);
    expect((await analyze(mid, { ports: [6666] })).summary.pdus).toBe(2);
  });
});

describe('other rules', () => {
  it('finds CID reuse, error status, TermReq, unknown responses, resets and digest mismatches', async () => {
    const s = new Scenario();
    const a = connectAssociation(s, { katoMs: 5000 });
    const io = a.io[0];
    io.host(ioCmd(READ, 1, 0, 1)).host(ioCmd(READ, 1, 8, 1)); // CID 1 reused in flight
    io.ctrl(capsuleResp({ cid: 1, sc: 0x80, dnr: true })); // LBA out of range
    io.ctrl(capsuleResp({ cid: 0x77 })); // nothing to answer
    const bad = c2hData(2, 0, new Uint8Array(64), { ddgst: true, success: true });
    bad[40] ^= 0xff;
    io.host(ioCmd(READ, 2, 0, 1)).ctrl(bad);
    io.ctrl(termReq(false, 2));
    io.host(ioCmd(WRITE, 3, 0, 1));
    io.rst(false);
    const r = await analyze(s);
    expect(rules(r.findings).sort()).toEqual([
      'cid-reuse-in-flight:error', 'connection-reset:warning', 'digest-mismatch:error', 'error-status:warning',
      'protocol-violation:error', 'term-req:error', 'unanswered-command:warning',
    ]);
    expect(r.findings.find((f) => f.ruleId === 'error-status')!.details).toMatchObject({ status: 'LBA Out of Range', dnr: true });
  });

  it('streams every command with its steps to onCommand and keeps none in the report', async () => {
    const s = new Scenario();
    const a = connectAssociation(s, { katoMs: 5000 });
    a.io[0].host(capsuleCmd({ opcode: WRITE, cid: 5, nsid: 1, cdw10: 40, cdw12: 7, dataLength: 4096 }));
    a.io[0].ctrl(r2t(5, 1, 0, 4096)).host(h2cData(5, 1, 0, new Uint8Array(4096))).ctrl(capsuleResp({ cid: 5 }));
    const seen: string[] = [];
    const r = await analyze(s, { onCommand: (c) => seen.push(`${c.opcodeName}:${c.outcome}:${c.steps.map((x) => x.kind).join(',')}`) });
    expect(seen).toContain('Write:completed:submit,r2t,h2c-data,completion');
    expect(JSON.stringify(r)).not.toContain('"steps"');
  });
});
