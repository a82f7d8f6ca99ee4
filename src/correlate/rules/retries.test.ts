import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../api/analyze-capture.js';
import { listPdus } from '../../api/list-pdus.js';
import type { PduEvent } from '../../nvme-tcp/types.js';
import { capsuleResp, h2cData, ioCmd, r2t } from '../../test-support/builders.js';
import { connectAssociation, Scenario, type AssociationConns } from '../../test-support/scenario.js';
import { isRetryFinding, type Finding, type RetryFinding } from '../types.js';

const WRITE = 0x01;
const READ = 0x02;

async function* once(bytes: Uint8Array) {
  yield bytes;
}

async function analyze(s: Scenario) {
  return analyzeCapture(once(s.pcap()), { name: 'scenario.pcap' });
}

async function pdus(s: Scenario): Promise<PduEvent[]> {
  const out: PduEvent[] = [];
  await listPdus(once(s.pcap()), (p) => void out.push({ ...p }), { name: 'scenario.pcap' });
  return out;
}

function only<R extends Finding['ruleId']>(findings: Finding[], ruleId: R): Extract<Finding, { ruleId: R }> {
  const found = findings.filter((f) => f.ruleId === ruleId);
  expect(found.map((f) => f.ruleId), ruleId).toEqual([ruleId]);
  return found[0] as Extract<Finding, { ruleId: R }>;
}

function retryFinding(findings: Finding[]): RetryFinding {
  const r = findings.filter(isRetryFinding);
  expect(r).toHaveLength(1);
  return r[0];
}

/** A write on association 1, then the host gives up on its queue the way Linux does: FIN, then RST. */
function writeThenHostReset(s: Scenario, opts: { acked: boolean }): { a1: AssociationConns; writeFrame: number; ackFrame: number | null } {
  const a1 = connectAssociation(s, { katoMs: 30000, cntlid: 1 });
  const io = a1.io[0];
  const writeFrame = io.nextFrame;
  io.host(ioCmd(WRITE, 0x41, 2100, 8));
  let ackFrame: number | null = null;
  if (opts.acked) {
    ackFrame = io.nextFrame;
    io.ack(false); // the controller's TCP ACK: the capsule arrived
  }
  s.wait(3000);
  io.fin(true).rst(true);
  a1.admin.fin(true).rst(true);
  return { a1, writeFrame, ackFrame };
}

describe('retries: proof of arrival', () => {
  it('names the controller ACK that covers the original capsule', async () => {
    const s = new Scenario();
    const { writeFrame, ackFrame } = writeThenHostReset(s, { acked: true });
    s.wait(1000);
    connectAssociation(s, { katoMs: 30000, cntlid: 2 }).io[0].host(ioCmd(WRITE, 0x10, 2100, 8));
    const f = retryFinding((await analyze(s)).findings);
    expect(f.details.arrival).toMatchObject({ frame: ackFrame });
    expect(f.details.capsuleArrival).toMatchObject({ frame: ackFrame });
    expect(f.message).toContain(`the controller acknowledged it in frame ${ackFrame}`);
    expect(f.details.evidence.map((e) => e.step)).toEqual(['original-sent', 'arrival', 'last-controller-contact', 'teardown', 'retry']);
    expect(f.details.evidence[0].frame).toBe(writeFrame);
    expect(f.frames).toContain(ackFrame);
  });

  it('says when no ACK covers the original: it may never have reached the controller', async () => {
    const s = new Scenario();
    writeThenHostReset(s, { acked: false });
    s.wait(1000);
    connectAssociation(s, { katoMs: 30000, cntlid: 2 }).io[0].host(ioCmd(WRITE, 0x10, 2100, 8));
    const f = retryFinding((await analyze(s)).findings);
    expect(f.details.arrival).toBeNull();
    expect(f.details.capsuleArrival).toBeNull();
    expect(f.message).toContain('it may never have reached the controller');
    expect(f.details.evidence.map((e) => e.step)).not.toContain('arrival');
  });

  it('for a write that used R2T, arrival is the ACK of its last H2CData, not of the capsule', async () => {
    const s = new Scenario();
    const a1 = connectAssociation(s, { katoMs: 30000, cntlid: 1 });
    const io = a1.io[0];
    io.host(ioCmd(WRITE, 0x41, 2100, 8)).ctrl(r2t(0x41, 1, 0, 4096));
    const capsuleAck = io.nextFrame - 1; // the R2T segment acknowledges the capsule
    io.host(h2cData(0x41, 1, 0, new Uint8Array(4096)));
    s.wait(2000);
    io.fin(true).rst(true);
    s.wait(1000);
    connectAssociation(s, { katoMs: 30000, cntlid: 2 }).io[0].host(ioCmd(WRITE, 0x10, 2100, 8));
    const f = retryFinding((await analyze(s)).findings);
    expect(f.details.capsuleArrival).toMatchObject({ frame: capsuleAck });
    expect(f.details.arrival).toBeNull();
    expect(f.message).toContain('acknowledged its capsule');
  });
});

describe('retries: what the old controller did after the host let go', () => {
  it('a completion sent after the host\'s FIN and RST is decoded, and its resubmission is duplicate-execution', async () => {
    const s = new Scenario();
    const { a1 } = writeThenHostReset(s, { acked: true });
    s.wait(200);
    const lateFrame = a1.io[0].nextFrame;
    a1.io[0].ctrl(capsuleResp({ cid: 0x41 })); // in flight when the host reset: the host never saw it
    s.wait(800);
    const retryFrame = s.packets.length + 1 + 10; // handshakes and Connects come first
    connectAssociation(s, { katoMs: 30000, cntlid: 2 }).io[0].host(ioCmd(WRITE, 0x10, 2100, 8));
    const listed = await pdus(s);
    expect(listed.find((p) => p.frame === lateFrame)).toMatchObject({ typeName: 'CapsuleResp', cid: 0x41, dir: 'c2h' });
    const r = await analyze(s);
    const dup = only(r.findings, 'duplicate-execution');
    expect(dup.severity).toBe('error');
    expect(dup.details).toMatchObject({ lateCompletionFrame: lateFrame, opcode: 'Write', slba: 2100 });
    // The late completion is the controller's last contact: the retry came 0.8 s after it, well before KATO.
    const f = retryFinding(r.findings);
    expect(f.ruleId).toBe('retry-before-kato');
    expect(f.details.lastControllerContactFrame).toBe(lateFrame);
    expect(retryFrame).toBeGreaterThan(lateFrame);
  });

  it('an R2T for the original after its retry is original-alive-after-retry, and closes the chain', async () => {
    const s = new Scenario();
    const { a1 } = writeThenHostReset(s, { acked: true });
    s.wait(1000);
    const a2 = connectAssociation(s, { katoMs: 30000, cntlid: 2 });
    a2.io[0].host(ioCmd(WRITE, 0x10, 2100, 8));
    s.wait(250);
    const r2tFrame = a1.io[0].nextFrame;
    a1.io[0].ctrl(r2t(0x41, 3, 0, 4096));
    const r = await analyze(s);
    const alive = only(r.findings, 'original-alive-after-retry');
    expect(alive.severity).toBe('error');
    expect(alive.details.activity).toEqual([expect.objectContaining({ kind: 'r2t', frame: r2tFrame })]);
    expect(alive.details.activity[0].afterRetryMs).toBeGreaterThan(240);
    expect(alive.details.activity[0].afterRetryMs).toBeLessThan(300);
    expect(alive.frames).toContain(r2tFrame);
    const f = retryFinding(r.findings);
    expect(f.details.evidence.at(-1)).toMatchObject({ step: 'r2t-after-retry', frame: r2tFrame });
    expect(f.details.afterRetry).toHaveLength(1);
  });

  it('a read the controller answers after its retry is alive too, as a warning', async () => {
    const s = new Scenario();
    const a1 = connectAssociation(s, { katoMs: 30000, cntlid: 1 });
    a1.io[0].host(ioCmd(READ, 0x22, 300, 1));
    s.wait(2000);
    a1.io[0].fin(true).rst(true);
    s.wait(500);
    connectAssociation(s, { katoMs: 30000, cntlid: 2 }).io[0].host(ioCmd(READ, 0x10, 300, 1));
    s.wait(100);
    a1.io[0].ctrl(capsuleResp({ cid: 0x22 }));
    const r = await analyze(s);
    expect(only(r.findings, 'original-alive-after-retry')).toMatchObject({ severity: 'warning', details: { activity: [expect.objectContaining({ kind: 'completion' })] } });
    // The read ran twice too, though it changes nothing: duplicate-execution says so as info.
    expect(only(r.findings, 'duplicate-execution').severity).toBe('info');
  });

  it('nothing after the retry: no original-alive-after-retry', async () => {
    const s = new Scenario();
    writeThenHostReset(s, { acked: true });
    s.wait(1000);
    connectAssociation(s, { katoMs: 30000, cntlid: 2 }).io[0].host(ioCmd(WRITE, 0x10, 2100, 8));
    const r = await analyze(s);
    expect(r.findings.filter((f) => f.ruleId === 'original-alive-after-retry')).toEqual([]);
    expect(retryFinding(r.findings).details.afterRetry).toEqual([]);
  });
});

describe('retries: TCP endings', () => {
  it('an RST outside the controller\'s window ends nothing: the host\'s later bytes are still decoded', async () => {
    const s = new Scenario();
    const a1 = connectAssociation(s, { katoMs: 30000, cntlid: 1 });
    const io = a1.io[0];
    io.host(ioCmd(READ, 0x22, 300, 1)).ack(false);
    const rstFrame = io.nextFrame;
    io.rst(true, { seq: io.hostSeq - 100000 });
    const laterFrame = io.nextFrame;
    io.host(ioCmd(READ, 0x23, 301, 1)).ctrl(capsuleResp({ cid: 0x22 })).ctrl(capsuleResp({ cid: 0x23 }));
    const r = await analyze(s);
    const queue = r.associations[0].queues.find((q) => q.qid === 1)!;
    expect(queue.teardown.find((e) => e.kind === 'rst')).toMatchObject({ frame: rstFrame, from: 'host', outOfWindow: true });
    expect((await pdus(s)).filter((p) => p.frame >= laterFrame).map((p) => `${p.typeName} ${p.cid}`)).toEqual(['CapsuleCmd 35', 'CapsuleResp 34', 'CapsuleResp 35']);
  });

  it('a retransmission captured after the FIN fills the hole before it: the command in it is not lost', async () => {
    const s = new Scenario();
    const a1 = connectAssociation(s, { katoMs: 30000, cntlid: 1 });
    const io = a1.io[0];
    const seq = io.hostSeq;
    const write = ioCmd(WRITE, 0x41, 2100, 8);
    io.host(write, { drop: true }); // first copy missed by the capture
    io.fin(true);
    io.retransmit(true, write, seq);
    const r = await analyze(s);
    expect(r.summary.lostBytes).toBe(0);
    expect(r.findings.filter((f) => f.ruleId === 'capture-gap')).toEqual([]);
    expect(only(r.findings, 'unanswered-command').details).toMatchObject({ opcode: 'Write', outcome: 'unanswered-at-close' });
  });
});

describe('bytes after a direction ended', () => {
  it('are counted in the summary and listed with their frame, never dropped silently', async () => {
    const s = new Scenario();
    const a1 = connectAssociation(s, { katoMs: 30000, cntlid: 1 });
    const io = a1.io[0];
    io.rst(false); // the controller resets its side
    const lateFrame = io.nextFrame;
    io.ctrl(capsuleResp({ cid: 0x41 })); // and sends anyway: past its own end
    const r = await analyze(s);
    expect(r.summary.afterEndBytes).toBe(24);
    expect(r.problems.streams).toContainEqual(expect.objectContaining({ kind: 'after-end', frame: lateFrame, length: 24, dir: 'c2h' }));
  });
});
