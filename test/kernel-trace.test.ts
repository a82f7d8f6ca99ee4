import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/api/analyze-capture.js';
import { isRetryFinding, type FindingOf, type RetryFinding } from '../src/correlate/types.js';
import { capsuleResp, connectCmd, ioCmd, propertySetCC } from '../src/test-support/builders.js';
import { HOSTNQN, Scenario, SUBNQN, type TcpConn } from '../src/test-support/scenario.js';
import { schemaErrors } from './schema-validate.js';

/**
 * --trace: scripted conversations with trace lines written from the kernel's format strings (the
 * trace clock runs TRACE_OFFSET behind the capture's), and the lab's twin captures with their traces.
 */
const dir = mkdtempSync(join(tmpdir(), 'ntt-trace-'));
const twins = join(__dirname, '..', 'fixtures', 'twins');
const TRACE_OFFSET = 1_789_999_950.123456;
const WRITE = 0x01;

/** A trace file in the tracefs layout, its lines stamped on the trace clock from capture times. */
class TraceText {
  readonly lines = ['# tracer: nop', '#', '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION', '#              | |         |   |||||     |         |'];

  add(captureTime: number, task: string, event: string, body: string): number {
    this.lines.push(`${task.padStart(16)}     [001] .....  ${(captureTime - TRACE_OFFSET).toFixed(6).padStart(11)}: ${event}: ${body}`);
    return this.lines.length;
  }

  setup(t: number, ctrl: number, qid: number, cid: number, cmd: string, disk = qid > 0 ? 'disk=nvme0n1, ' : ''): number {
    return this.add(t, 'kworker/1:1H-115', 'nvme_setup_cmd', `nvme${ctrl}: ${disk}qid=${qid}, cmdid=${cid}, nsid=1, flags=0x0, meta=0x0, cmd=(${cmd})`);
  }

  complete(t: number, ctrl: number, qid: number, cid: number, status: number, retries = 0): number {
    return this.add(t, 'ksoftirqd/0-14', 'nvme_complete_rq', `nvme${ctrl}: disk=nvme0n1, qid=${qid}, cmdid=${cid}, res=0x0, retries=${retries}, flags=0x1, status=0x${status.toString(16)}`);
  }

  block(t: number, event: string, rwbs: string, sector: number, tail: string): number {
    const bytes = event === 'block_rq_insert' || event === 'block_rq_issue' ? '4096 ' : '';
    return this.add(t, event === 'block_rq_insert' ? 'dd-261' : 'kworker/1:1H-115', event, `259,0 ${rwbs} ${bytes}() ${sector} + 8 [${tail}]`);
  }

  target(t: number, event: 'nvmet_req_init' | 'nvmet_req_complete', cntlid: number, qid: number, cid: number, body: string): number {
    return this.add(t, 'kworker/0:1H-42', event, `nvmet${cntlid}: ${qid > 0 ? 'disk=/dev/nullb0, ' : ''}qid=${qid}, cmdid=${cid}, ${body}`);
  }

  file(): string {
    const path = join(dir, `trace-${Math.random().toString(36).slice(2)}.txt`);
    writeFileSync(path, this.lines.join('\n') + '\n');
    return path;
  }
}

/** An association whose Connects and CC write the trace shows the host setting up (the anchors). */
function associate(s: Scenario, tr: TraceText, cntlid: number): { admin: TcpConn; io: TcpConn } {
  const admin = s.connection('10.0.0.1', '10.0.0.2').initialize();
  tr.setup(s.time - 0.0002, 0, 0, 0, 'nvme_fabrics_type_connect recfmt=0, qid=0, sqsize=31, cattr=0, kato=30000');
  admin.host(connectCmd(0, 0, 30000, HOSTNQN, SUBNQN));
  admin.ctrl(capsuleResp({ cid: 0, dw0: cntlid }));
  tr.setup(s.time - 0.0001, 0, 0, 1, 'nvme_fabrics_type_property_set attrib=0, ofst=0x14, value=0x460001');
  admin.host(propertySetCC(1, 0x460001));
  admin.ctrl(capsuleResp({ cid: 1 }));
  const io = s.connection('10.0.0.1', '10.0.0.2').initialize();
  tr.setup(s.time - 0.0003, 0, 0, 0, 'nvme_fabrics_type_connect recfmt=0, qid=1, sqsize=127, cattr=0, kato=0');
  io.host(connectCmd(0, 1, 0, HOSTNQN, SUBNQN, cntlid));
  io.ctrl(capsuleResp({ cid: 0 }));
  return { admin, io };
}

const writeCmd = (slba: number) => `nvme_cmd_write slba=${slba}, len=0, ctrl=0x0, dsmgmt=0, reftag=0`;

async function analyze(s: Scenario, trace: string) {
  async function* once(bytes: Uint8Array) {
    yield bytes;
  }
  const r = await analyzeCapture(once(s.pcap()), { name: 'scenario.pcap', traces: [trace] });
  expect(schemaErrors(JSON.parse(JSON.stringify(r)))).toEqual([]);
  return r;
}

/**
 * A write sent into a cut, aborted by the host (0x371) 3 s later, its queues closed, a new association
 * 5 s on and the write resubmitted there: a retry before the 30 s KATO. `between` writes what the trace
 * shows from the abort to the retry, `target` the target's lines.
 */
async function retryRun(opts: {
  between: (tr: TraceText, abortAt: number) => void;
  target?: (tr: TraceText, sentAt: number, retryAt: number) => void;
  completeCid?: number;
  retryCid?: number;
  retryTrace?: boolean;
}) {
  const s = new Scenario();
  const tr = new TraceText();
  const a1 = associate(s, tr, 1);
  s.wait(500);
  const slba = 14100;
  const cid = 0x4052;
  tr.block(s.time - 0.0005, 'block_rq_insert', 'WS', slba * 8, 'dd');
  tr.setup(s.time - 0.0004, 0, 1, cid, writeCmd(slba));
  tr.block(s.time - 0.0004, 'block_rq_issue', 'WS', slba * 8, 'kworker/1:1H');
  const sentAt = s.time;
  a1.io.host(ioCmd(WRITE, cid, slba, 1));
  s.wait(3000);
  const abortAt = s.time;
  tr.complete(abortAt, 0, 1, opts.completeCid ?? cid, 0x371);
  opts.between(tr, abortAt);
  a1.io.fin(true);
  a1.admin.fin(true);
  s.wait(5000);
  const a2 = associate(s, tr, 2);
  s.wait(10);
  const retryCid = opts.retryCid ?? 0x15;
  if (opts.retryTrace !== false) {
    tr.setup(s.time - 0.0003, 0, 1, retryCid, writeCmd(slba));
    tr.block(s.time - 0.0003, 'block_rq_issue', 'WS', slba * 8, 'kworker/1:1H');
  }
  const retryAt = s.time;
  a2.io.host(ioCmd(WRITE, retryCid, slba, 1));
  a2.io.ctrl(capsuleResp({ cid: retryCid }));
  opts.target?.(tr, sentAt, retryAt);
  const r = await analyze(s, tr.file());
  const retry = r.findings.find(isRetryFinding) as RetryFinding;
  return { r, retry, tr };
}

describe('--trace: a retry and its original, tied by the kernel', () => {
  it('requeued: the same block request goes back to the queue and is set up again with the retry\'s CID', async () => {
    let requeueLine = 0;
    const { r, retry } = await retryRun({
      between(tr, t) {
        requeueLine = tr.block(t + 0.0002, 'block_rq_requeue', 'WS', 14100 * 8, '0');
        // While the host reconnects, the head request is requeued again every few ms: one decision, many lines.
        for (let i = 1; i <= 40; i++) tr.block(t + 0.008 * i, 'block_rq_requeue', 'WS', 14100 * 8, '0');
      },
    });
    expect(r.kernelTrace!.alignment[0]).toMatchObject({ method: 'anchors' });
    expect(r.kernelTrace!.alignment[0].offsetS!).toBeCloseTo(TRACE_OFFSET, 3);
    expect(r.kernelTrace!.retries).toEqual({ traced: 1, requeued: 1, failedOver: 0, differentRequest: 0, unknown: 0 });
    const k = retry.details.kernelTrace!;
    expect(k.tie).toBe('requeued');
    expect(k.requeue).toMatchObject({ line: requeueLine, count: 41 });
    expect(k.original.completion).toMatchObject({ status: 0x371, statusName: 'Command Aborted By Host', retries: 0 });
    expect(k.original.request).toEqual({ dev: '259,0', sector: 112800, sectors: 8 });
    expect(k.retry.request).toEqual(k.original.request);
    // Relative to the anchors' median setup-to-wire time (0.1–0.3 ms here): the original waited 0.4 ms.
    expect(k.original.wireDelayMs!).toBeGreaterThan(0.1);
    expect(k.original.wireDelayMs!).toBeLessThan(0.4);
    expect(k.target).toBeNull();
    expect(retry.message).toContain(`the kernel trace shows the same block request requeued (trace line ${requeueLine}) and sent again`);
    // The trace's lines join the chain in time order: setup before the send, abort and requeue after it, setup before the retry.
    const steps = retry.details.evidence.map((e) => e.step);
    expect(steps.indexOf('kernel-trace')).toBeLessThan(steps.indexOf('original-sent'));
    expect(steps.filter((x) => x === 'kernel-trace')).toHaveLength(4);
    expect(steps.lastIndexOf('kernel-trace')).toBe(steps.indexOf('retry') - 1);
  });

  it('a completion that prints the block-layer tag alone (CID & 0xfff) still names the original', async () => {
    const { retry } = await retryRun({
      completeCid: 0x052,
      between: (tr, t) => tr.block(t + 0.0002, 'block_rq_requeue', 'WS', 14100 * 8, '0'),
    });
    expect(retry.details.kernelTrace!.original.completion).toMatchObject({ status: 0x371 });
    expect(retry.details.kernelTrace!.tie).toBe('requeued');
  });

  it('a different request: the original\'s request failed up to its caller and a new one for the range was queued', async () => {
    let failed = 0;
    const { r, retry } = await retryRun({
      between(tr, t) {
        failed = tr.block(t + 0.0002, 'block_rq_complete', 'WS', 14100 * 8, '-5');
        tr.block(t + 1, 'block_rq_insert', 'WS', 14100 * 8, 'dd');
      },
    });
    const k = retry.details.kernelTrace!;
    expect(k.tie).toBe('different-request');
    expect(k.contradiction).toMatchObject({ line: failed });
    expect(k.requeue).toBeNull();
    expect(r.kernelTrace!.retries.differentRequest).toBe(1);
    expect(retry.message).toContain(`the kernel trace shows the retry is a different request (trace line ${failed})`);
    expect(retry.details.evidence.some((e) => e.what.includes('the retry is a different request'))).toBe(true);
  });

  it('the target executing the original and its retry: duplicate-execution from the target\'s own lines, though the host never saw a completion', async () => {
    const lines: number[] = [];
    const { r, retry } = await retryRun({
      between: (tr, t) => tr.block(t + 0.0002, 'block_rq_requeue', 'WS', 14100 * 8, '0'),
      target(tr, sentAt, retryAt) {
        const body = `nsid=1, flags=0x40, meta=0x0, cmd=(nvme_cmd_write, slba=14100, len=0, ctrl=0x0, dsmgmt=0, reftag=0)`;
        lines.push(tr.target(sentAt + 0.0001, 'nvmet_req_init', 1, 1, 0x4052, body));
        lines.push(tr.target(sentAt + 0.0003, 'nvmet_req_complete', 1, 1, 0x4052, 'res=0x0, status=0x0'));
        lines.push(tr.target(retryAt + 0.0001, 'nvmet_req_init', 2, 1, 0x15, body));
        lines.push(tr.target(retryAt + 0.0002, 'nvmet_req_complete', 2, 1, 0x15, 'res=0x0, status=0x0'));
      },
    });
    const k = retry.details.kernelTrace!;
    expect(k.target!.original.received).toMatchObject({ line: lines[0] });
    expect(k.target!.original.completed).toMatchObject({ line: lines[1], status: 0 });
    expect(k.target!.retry.completed).toMatchObject({ line: lines[3] });
    expect(retry.message).toContain(`the target's trace shows it executed both (lines ${lines[1]} and ${lines[3]})`);
    const twice = r.findings.filter((f): f is FindingOf<'duplicate-execution'> => f.ruleId === 'duplicate-execution');
    expect(twice).toHaveLength(1);
    expect(twice[0].severity).toBe('error');
    expect(twice[0].details.lateCompletionFrame).toBeNull();
    expect(twice[0].details.targetTrace).toMatchObject({ original: { line: lines[1] }, retry: { line: lines[3] } });
    expect(twice[0].message).toContain(`target trace lines ${lines[1]} and ${lines[3]}`);
    expect(r.kernelTrace!.executedTwice).toBe(1);
  });

  it('a target trace that shows the controller but never the original: it did not reach the controller', async () => {
    const { retry } = await retryRun({
      between: (tr, t) => tr.block(t + 0.0002, 'block_rq_requeue', 'WS', 14100 * 8, '0'),
      target(tr, _sentAt, retryAt) {
        tr.target(retryAt - 8.5, 'nvmet_req_complete', 1, 0, 0x3000, 'res=0x0, status=0x0');
        tr.target(retryAt + 0.0001, 'nvmet_req_init', 2, 1, 0x15, 'nsid=1, flags=0x40, meta=0x0, cmd=(nvme_cmd_write, slba=14100, len=0, ctrl=0x0, dsmgmt=0, reftag=0)');
      },
    });
    expect(retry.details.kernelTrace!.target!.original).toEqual({ received: null, completed: null });
    expect(retry.message).toContain('the target\'s trace shows no arrival of the original: it did not reach the controller');
  });

  it('timeout-during-recovery: the trace gives the moment the host failed the command back', async () => {
    const s = new Scenario();
    const tr = new TraceText();
    const a1 = associate(s, tr, 1);
    s.wait(500);
    const sent = s.time;
    for (const [cid, slba] of [[0x4052, 14100], [0x4053, 14200]]) {
      tr.setup(s.time - 0.0002, 0, 1, cid, writeCmd(slba));
      a1.io.host(ioCmd(WRITE, cid, slba, 1));
    }
    s.wait(3000);
    const iso = (t: number, text: string) => `${new Date(Math.floor(t * 1000)).toISOString().replace(/\.(\d{3})Z$/, `,$1${String(Math.floor((t * 1e6) % 1000)).padStart(3, '0')}+00:00`)} ${text}`;
    const log = [
      iso(sent + 3.0, 'nvme nvme0: I/O tag 82 (4052) type 4 opcode 0x1 (Write) QID 1 timeout'),
      iso(sent + 3.0005, 'nvme nvme0: starting error recovery'),
      iso(sent + 3.01, 'nvme nvme0: I/O tag 83 (4053) type 4 opcode 0x1 (Write) QID 1 timeout'),
    ].join('\n');
    tr.complete(sent + 3.001, 0, 1, 0x4052, 0x371);
    const failed = tr.complete(sent + 3.0102, 0, 1, 0x4053, 0x371);
    a1.io.fin(true);
    a1.admin.fin(true);
    const logFile = join(dir, 'during.dmesg.txt');
    writeFileSync(logFile, log + '\n');
    async function* once(bytes: Uint8Array) {
      yield bytes;
    }
    const r = await analyzeCapture(once(s.pcap()), { name: 'scenario.pcap', traces: [tr.file()], dmesg: [logFile] });
    expect(schemaErrors(JSON.parse(JSON.stringify(r)))).toEqual([]);
    const during = r.findings.filter((f): f is FindingOf<'timeout-during-recovery'> => f.ruleId === 'timeout-during-recovery');
    expect(during.map((f) => f.cid)).toEqual([0x4053]);
    expect(during[0].details.failedBack).toMatchObject({ line: failed, status: 0x371, statusName: 'Command Aborted By Host' });
    expect(during[0].details.failedBack!.time).toBeCloseTo(sent + 3.0102, 3);
  });

  it('a trace whose anchors match nothing in the capture is a warning, and changes no verdict', async () => {
    const s = new Scenario();
    const tr = new TraceText();
    associate(s, new TraceText(), 1);
    tr.setup(s.time, 3, 1, 0x777, writeCmd(5));
    const r = await analyze(s, tr.file());
    expect(r.kernelTrace!.alignment[0].method).toBe('none');
    expect(r.kernelTrace!.warnings.join('\n')).toContain('no command the trace sets up or receives is in the capture');
  });
});

describe('--trace on the lab\'s twin captures (host side)', () => {
  const events = (name: string) => readFileSync(join(twins, `${name}.events`), 'utf8').trim().split('\n').map((l) => l.split(' '));

  for (const [name, retries] of [['twin-early-retry', 2], ['twin-ka-triggered', 3]] as const) {
    it(`${name}: placed within the lab's clock pairs, every retry requeued from its original, no original reached the target`, async () => {
      const r = await analyzeCapture(join(twins, `${name}.pcap`), { traces: [join(twins, `${name}.trace.txt`)] });
      expect(schemaErrors(JSON.parse(JSON.stringify(r)))).toEqual([]);
      const [a] = r.kernelTrace!.alignment;
      expect(a.method).toBe('anchors');
      expect(a.residualMs!).toBeLessThan(10);
      // The trace clock is `global` here, which reads as the uptime the lab wrote beside whole epoch seconds.
      for (const [epoch, uptime, event] of events(name)) {
        expect(a.offsetS!, event).toBeGreaterThan(Number(epoch) - Number(uptime) - 0.02);
        expect(a.offsetS!, event).toBeLessThan(Number(epoch) - Number(uptime) + 1.02);
      }
      const found = r.findings.filter(isRetryFinding);
      expect(found).toHaveLength(retries);
      expect(r.kernelTrace!.retries).toMatchObject({ traced: retries, requeued: retries });
      for (const f of found) {
        const k = f.details.kernelTrace!;
        expect(k.original.completion!.status).toBe(0x371);
        expect(k.retry.request).toEqual(k.original.request);
        expect(k.original.request!.sector).toBe(f.details.slba! * 8);
        expect(k.target!.original.received).toBeNull();
        expect(k.target!.retry.completed!.status).toBe(0);
      }
      expect(r.findings.some((f) => f.ruleId === 'duplicate-execution')).toBe(false);
    });
  }
});

describe('--trace beside --dmesg: the log\'s offset checks the trace\'s, never replaces it', () => {
  const name = 'twin-early-retry';
  const log = join(twins, `${name}.dmesg.txt`);

  it('a global trace clock reads as dmesg: the two offsets agree within milliseconds', async () => {
    const r = await analyzeCapture(join(twins, `${name}.pcap`), { traces: [join(twins, `${name}.trace.txt`)], dmesg: [log] });
    const [a] = r.kernelTrace!.alignment;
    expect(Math.abs(a.dmesgDifferenceMs!)).toBeLessThan(3);
    expect(a.message).toContain('the trace clock reads as dmesg\'s: global');
  });

  it('a local clock 50 ms ahead of dmesg is placed by its own anchors and the difference is stated', async () => {
    const shifted = readFileSync(join(twins, `${name}.trace.txt`), 'utf8').replace(/(\s)(\d+\.\d{6}):/g, (_, sp: string, t: string) => `${sp}${(Number(t) + 0.05).toFixed(6)}:`);
    const file = join(dir, 'local-clock.trace.txt');
    writeFileSync(file, shifted);
    const plain = await analyzeCapture(join(twins, `${name}.pcap`), { traces: [join(twins, `${name}.trace.txt`)] });
    const r = await analyzeCapture(join(twins, `${name}.pcap`), { traces: [file], dmesg: [log] });
    const [a] = r.kernelTrace!.alignment;
    expect(a.offsetS!).toBeCloseTo(plain.kernelTrace!.alignment[0].offsetS! - 0.05, 4);
    expect(a.dmesgDifferenceMs!).toBeLessThan(-45);
    expect(a.dmesgDifferenceMs!).toBeGreaterThan(-55);
    expect(a.message).toContain('not dmesg\'s');
    // The verdicts' evidence is the same lines as with the unshifted trace.
    const lines = (x: typeof r) => x.findings.filter(isRetryFinding).map((f) => f.details.kernelTrace!.requeue!.line);
    expect(lines(r)).toEqual(lines(plain));
  });
});

describe('--trace on the command line', () => {
  const cli = join(__dirname, '..', 'bin', 'nvme-tcp-timeline.js');
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  const capture = join(twins, 'twin-early-retry.pcap');
  const trace = join(twins, 'twin-early-retry.trace.txt');

  it('a missing, empty or non-trace file is a usage error naming it; pdus refuses it', () => {
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '\n');
    const prose = join(dir, 'prose.txt');
    writeFileSync(prose, '# tracer: nop\nnot a trace\n');
    for (const [file, words] of [[join(dir, 'missing.txt'), 'cannot read kernel trace'], [empty, 'is empty'], [prose, 'no trace event line']]) {
      const r = run('analyze', capture, '--trace', file, '--quiet');
      expect(r.status, file).toBe(2);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toContain(words);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(run('pdus', capture, '--trace', trace).status).toBe(2);
  });

  it('analyze and check take it; the text report places the trace and shows its lines in the chain', () => {
    const a = run('analyze', capture, '--trace', trace, '--no-color', '--fail-on', 'none');
    expect(a.status).toBe(0);
    expect(a.stdout).toContain(`Kernel trace ${trace}`);
    expect(a.stdout).toContain('2 retries traced: 2 requeued');
    // The chain's cells wrap: its words, not a whole sentence, are on one line.
    expect(a.stdout).toContain('trace line 286: the host completes');
    expect(a.stdout).toContain('block_rq_requeue:');
    const c = run('check', capture, '--trace', trace, '--fail-on', 'error');
    expect(c.status).toBe(1);
    // The timeline puts the lines the findings cite under their association, in time order with the TCP events.
    const t = run('timeline', capture, '--trace', trace, '--assoc', '1');
    expect(t.status).toBe(0);
    const rows = t.stdout.split('\n');
    const requeue = rows.findIndex((l) => l.includes('twin-early-retry.trace.txt:287 after frame 117'));
    expect(requeue).toBeGreaterThan(rows.findIndex((l) => l.includes('host FIN frame 117')));
    expect(rows[requeue]).toContain('block_rq_requeue: 259,0 WS () 112800 + 8');
    const lines = run('timeline', capture, '--trace', trace, '--json', '--cid', '0x52').stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.kernelTraceLine).map((l) => l.kernelTraceLine.line)).toEqual([281, 286, 287]);
  });
});
