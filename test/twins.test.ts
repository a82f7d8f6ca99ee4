import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCapture, analyzeCaptures } from '../src/api/analyze-capture.js';
import { captureLabel, captureOf, CAPTURE_STRIDE, frameOf, withFrameObjects } from '../src/common/frame-ref.js';
import { UsageError } from '../src/common/errors.js';
import type { Finding, RetryFinding } from '../src/correlate/types.js';
import { renderText } from '../src/report/text-report.js';
import { renderMarkdown } from '../src/report/markdown.js';
import type { Report } from '../src/report/types.js';
import { capsuleResp, ioCmd } from '../src/test-support/builders.js';
import { connectAssociation, Scenario } from '../src/test-support/scenario.js';
import { breakOn, cutBoth, cutReturn, targetTwinOf, twinScenario as scenario, twinCaptures, type TwinOptions } from '../src/test-support/twins.js';
import { schemaErrors } from './schema-validate.js';

const WRITE = 0x01;
const READ = 0x02;
const dir = mkdtempSync(join(tmpdir(), 'nvme-tcp-timeline-twins-'));
const bin = join(__dirname, '..', 'bin', 'nvme-tcp-timeline.js');

/** Writes the twin captures of `s` and returns their paths. */
function files(name: string, s: Scenario, o: TwinOptions = {}): { host: string; target: string } {
  const { host, target } = twinCaptures(s, o);
  const paths = { host: join(dir, `${name}.pcap`), target: join(dir, `${name}-target.pcap`) };
  writeFileSync(paths.host, host);
  writeFileSync(paths.target, target);
  return paths;
}

const retries = (r: Report) => r.findings.filter((f): f is RetryFinding => f.ruleId.startsWith('retry-'));
const ofRule = (r: Report, rule: string) => r.findings.filter((f: Finding) => f.ruleId === rule);
const target = (ref: number) => captureOf(ref) === 1;

describe('two captures of the same traffic (--same-traffic)', () => {
  it('both directions cut between the points: the originals are stated never to reach the controller', async () => {
    const f = files('cut-both', cutBoth());
    const alone = await analyzeCapture(f.host);
    const r = await analyzeCaptures([f.host, f.target]);
    // The verdicts are the host capture's alone: the target side adds what the ACKs could not say.
    expect(retries(r).map((x) => x.ruleId)).toEqual(retries(alone).map((x) => x.ruleId));
    expect(retries(r)).toHaveLength(2);
    for (const x of retries(r)) {
      expect(x.ruleId).toBe('retry-before-kato');
      expect(x.details.reachedController).toBe(false);
      expect(x.message).toContain('it never reached the controller: the target-side capture watched its connection and never shows it');
      expect(retries(alone)[0].details.reachedController).toBeUndefined();
    }
    const st = r.sameTraffic!;
    expect(st.captures.map((c) => [c.label, c.vantage, c.vantageSource])).toEqual([['host', 'host', 'inferred'], ['target', 'target', 'inferred']]);
    expect(st.totals.h2c.senderOnly).toBe(2);
    expect(st.totals.h2c.firstLostFrames).toEqual(retries(r).map((x) => x.details.originalFrame).sort((a, b) => a - b));
    expect(st.totals.h2c.receiverOnly + st.totals.c2h.receiverOnly + st.totals.c2h.senderOnly).toBe(0);
    expect(schemaErrors(withFrameObjects(r))).toEqual([]);
  });

  it('only target→host cut: the target capture shows the original arriving and completing, and the retry too: executed twice', async () => {
    const f = files('cut-return', cutReturn());
    const alone = await analyzeCapture(f.host);
    expect(ofRule(alone, 'duplicate-execution')).toHaveLength(0);
    const r = await analyzeCaptures([f.host, f.target]);
    const [retry] = retries(r);
    expect(retry.ruleId).toBe('retry-before-kato');
    expect(retry.details.reachedController).toBe(true);
    expect(target(retry.details.arrival!.seenAt!)).toBe(true);
    expect(retry.message).toMatch(/the target-side capture shows it reaching the controller in frame target#\d+/);
    const [dup] = ofRule(r, 'duplicate-execution');
    expect(dup.severity).toBe('error');
    const c = (dup.details as { targetCapture: Record<string, number> }).targetCapture;
    for (const k of ['originalArrived', 'originalCompleted', 'retryArrived', 'retryCompleted']) expect(target(c[k])).toBe(true);
    expect(c.originalArrived).toBeLessThan(c.originalCompleted);
    expect(c.originalCompleted).toBeLessThan(c.retryArrived);
    expect(dup.message).toMatch(/ran twice: the target capture shows the controller receiving the original \(frame target#\d+\) and completing it \(frame target#\d+\), then receiving the retry \(frame target#\d+\) and completing it/);
    // The lost completion is counted where it was lost: it left the target, never reached the host.
    expect(r.sameTraffic!.totals.c2h.senderOnly).toBeGreaterThanOrEqual(1);
    expect(r.sameTraffic!.totals.c2h.firstLostFrames.every(target)).toBe(true);
    // Filters are given per capture, each in its own numbering.
    expect(dup.wiresharkFilter).toMatch(/^host: frame\.number in \{[\d ]+\}; target: frame\.number in \{[\d ]+\}$/);
    const json = withFrameObjects(r) as { findings: { frames: { capture: string; frame: number }[] }[] };
    expect(json.findings.flatMap((x) => x.frames).some((x) => x.capture === 'target')).toBe(true);
    expect(schemaErrors(json)).toEqual([]);
  });

  it('a segment the host-side capture dropped is taken from the target capture: no gap, the command completes', async () => {
    const s = scenario();
    const a = connectAssociation(s, { katoMs: 30000 });
    const io = a.io[0];
    s.hostCaptureMisses = true;
    io.host(ioCmd(WRITE, 7, 700, 8));
    s.hostCaptureMisses = false;
    io.ctrl(capsuleResp({ cid: 7 }));
    io.host(ioCmd(READ, 8, 800, 8));
    io.ctrl(capsuleResp({ cid: 8 }));
    io.fin(true);
    io.fin(false);
    const f = files('host-missed', s);
    const alone = await analyzeCapture(f.host);
    expect(alone.summary.lostBytes).toBeGreaterThan(0);
    expect(alone.findings.map((x) => x.ruleId)).toContain('capture-gap');
    const r = await analyzeCaptures([f.host, f.target]);
    expect(r.findings.map((x) => x.ruleId)).not.toContain('capture-gap');
    expect(r.problems.streams.filter((p) => p.kind === 'gap')).toEqual([]);
    const writes = r.opcodes.find((o) => o.opcode === 'Write')!;
    expect([writes.count, writes.completed, writes.unanswered]).toEqual([1, 1, 0]);
    expect(r.sameTraffic!.totals.h2c.receiverOnly).toBe(1);
    expect(r.sameTraffic!.totals.h2c.senderOnly).toBe(0);
  });

  it('clocks 3.2 s apart with 150 µs one-way delay: the offset, its uncertainty and the delays', async () => {
    const f = files('skewed', cutBoth(), { offsetS: 3.2, delayS: 0.00015 });
    const r = await analyzeCaptures([f.target, f.host]); // either order: the delays say which side is which
    const st = r.sameTraffic!;
    expect(st.captures[0].file).toBe(f.host);
    expect(st.clock.offsetMs).toBeCloseTo(3200, 2);
    // pcap keeps microseconds: each time is rounded, so 150 µs reads as 149–150.
    expect(st.clock.uncertaintyMs).toBeCloseTo(0.15, 2);
    expect(st.clock.h2cDelay.minMs).toBeCloseTo(0.15, 2);
    expect(st.clock.c2hDelay.minMs).toBeCloseTo(0.15, 2);
    expect(st.clock.driftPpm).toBeNull();
    const unskewed = files('unskewed', cutBoth());
    const plain = await analyzeCaptures([unskewed.host, unskewed.target]);
    expect(retries(r).map((x) => x.message)).toEqual(retries(plain).map((x) => x.message));
    // Given, the offset is used as it is.
    const given = await analyzeCaptures([f.host, f.target], { peerOffsetMs: 3200 });
    expect(given.sameTraffic!.clock).toMatchObject({ source: 'given', offsetMs: 3200 });
    expect(retries(given).map((x) => x.details.reachedController)).toEqual([false, false]);
  });

  it('captures that overlap only partly: the overlap is said, and what one capture alone covers is not taken for lost', async () => {
    // The target capture starts in the middle of the first association's set-up and stops before the reconnect.
    const f = files('partial', cutBoth(), { targetFrom: 0.004, targetTo: 5 });
    const alone = await analyzeCapture(f.host);
    const r = await analyzeCaptures([f.host, f.target]);
    const st = r.sameTraffic!;
    expect(st.overlap!.to - st.overlap!.from).toBeLessThan(5);
    expect(retries(r).map((x) => x.ruleId)).toEqual(retries(alone).map((x) => x.ruleId));
    // The originals were sent while both captures ran: they did not reach the target.
    expect(st.totals.h2c.senderOnly).toBe(2);
    expect(retries(r).map((x) => x.details.reachedController)).toEqual([false, false]);
    // The retries and their completions came after the target capture stopped: neither lost nor seen.
    expect(st.totals.c2h.senderOnly + st.totals.c2h.receiverOnly + st.totals.h2c.receiverOnly).toBe(0);
    const text = renderText(r, { color: false, width: 200 });
    expect(text).toMatch(/the captures overlap for \d\.\d{3} s of \d\.\d{3} s: outside it one point alone saw the traffic/);
  });

  it('a clock that drifts is fitted as a line', async () => {
    // 60 s of commands and completions, the target clock gaining 200 ppm (12 ms over the capture, far more than the delays).
    const s = scenario();
    const a = connectAssociation(s, { katoMs: 30000 });
    for (let i = 0; i < 60; i++) {
      a.io[0].host(ioCmd(WRITE, i, i * 8, 8));
      a.io[0].ctrl(capsuleResp({ cid: i }));
      s.wait(1000);
    }
    const t0 = s.packets[0].time;
    const { host, target } = twinCaptures(s, { offsetS: 0.5 });
    const drifted = target;
    // Re-time the target capture: each record's time stretched by 200 ppm from the first packet.
    const view = new DataView(drifted.buffer, drifted.byteOffset, drifted.byteLength);
    for (let o = 24; o < drifted.length;) {
      const sec = view.getUint32(o, true);
      const usec = view.getUint32(o + 4, true);
      const t = sec + usec / 1e6;
      const stretched = t + (t - t0 - 0.5) * 200e-6;
      view.setUint32(o, Math.floor(stretched), true);
      view.setUint32(o + 4, Math.round((stretched - Math.floor(stretched)) * 1e6), true);
      o += 16 + view.getUint32(o + 8, true);
    }
    writeFileSync(join(dir, 'drift.pcap'), host);
    writeFileSync(join(dir, 'drift-target.pcap'), drifted);
    const r = await analyzeCaptures([join(dir, 'drift.pcap'), join(dir, 'drift-target.pcap')]);
    const c = r.sameTraffic!.clock;
    expect(c.driftPpm).not.toBeNull();
    expect(c.driftPpm!).toBeGreaterThan(190);
    expect(c.driftPpm!).toBeLessThan(210);
    expect(c.offsetMs).toBeCloseTo(500, 0);
    // Placed on the fitted line, every PDU is matched with its twin: none taken for lost.
    const t = r.sameTraffic!.totals;
    expect([t.h2c.senderOnly, t.h2c.receiverOnly, t.c2h.senderOnly, t.c2h.receiverOnly]).toEqual([0, 0, 0, 0]);
    expect(t.h2c.both).toBeGreaterThanOrEqual(60);
  });

  it('a damaged target capture: what was read of it is used, and the damage is stated', async () => {
    const f = files('damaged', cutReturn());
    const whole = readFileSync(f.target);
    writeFileSync(f.target, whole.subarray(0, Math.floor(whole.length * 0.6) + 3)); // cut inside a record
    const r = await analyzeCaptures([f.host, f.target]);
    const target = r.sameTraffic!.captures[1];
    expect(target.problem).toMatchObject({ kind: 'truncated' });
    expect(renderText(r, { color: false, width: 300 })).toMatch(new RegExp(`the target capture is damaged at byte ${target.problem!.byteOffset} after frame \\d+: .*; what was read before it is analysed`));
    expect(r.sameTraffic!.totals.h2c.both).toBeGreaterThan(5);
    expect(schemaErrors(withFrameObjects(r))).toEqual([]);
  });

  it('captures of unrelated traffic are refused, naming both files (exit 2)', async () => {
    const one = scenario();
    connectAssociation(one, { host: '10.0.0.1', ctrl: '10.0.0.2' }).io[0].host(ioCmd(WRITE, 1, 8, 8));
    const other = scenario();
    // Other sequence numbers too (the builders' defaults are fixed): unrelated streams share no byte.
    const c = other.connection('10.9.0.1', '10.9.0.2', { handshake: false });
    c.hostSeq = 123456;
    c.ctrlSeq = 654321;
    c.handshake().initialize().host(ioCmd(WRITE, 1, 8, 8));
    const a = join(dir, 'one.pcap');
    const b = join(dir, 'other.pcap');
    writeFileSync(a, one.pcap());
    writeFileSync(b, other.pcap());
    await expect(analyzeCaptures([a, b])).rejects.toThrow(UsageError);
    await expect(analyzeCaptures([a, b])).rejects.toThrow(`${a} and ${b}: no NVMe/TCP PDU in common`);
    const cli = spawnSync(process.execPath, [bin, 'analyze', '--same-traffic', a, b], { encoding: 'utf8' });
    expect(cli.status).toBe(2);
    expect(cli.stderr).toContain(`${a} and ${b}: no NVMe/TCP PDU in common`);
    expect(cli.stderr).not.toMatch(/\n\s+at /);
  });

  it('one recording given twice is refused: two capture points never see every PDU at the same time', async () => {
    await expect(analyzeCaptures(['fixtures/early-retry.pcap', 'fixtures/early-retry.pcap'])).rejects.toThrow('fixtures/early-retry.pcap and fixtures/early-retry.pcap: every PDU at the same time in both: one recording given twice');
  });

  it('the same traffic behind NAT (other addresses, same PDUs) is detected and refused', async () => {
    const s = cutBoth();
    const { host } = twinCaptures(s);
    const natted = scenario();
    breakOn(natted, { h2c: true, c2h: true }, (io) => {
      io.host(ioCmd(WRITE, 5, 500, 8));
      io.host(ioCmd(READ, 6, 600, 8));
      return [5, 6];
    });
    // Same scenario, other addresses: rewrite the target capture's IPv4 addresses.
    const t = twinCaptures(natted).target;
    for (let i = 0; i + 4 <= t.length; i++) if (t[i] === 10 && t[i + 1] === 0 && t[i + 2] === 0 && (t[i + 3] === 1 || t[i + 3] === 2)) t[i + 1] = 77;
    writeFileSync(join(dir, 'nat.pcap'), host);
    writeFileSync(join(dir, 'nat-target.pcap'), t);
    await expect(analyzeCaptures([join(dir, 'nat.pcap'), join(dir, 'nat-target.pcap')])).rejects.toThrow(/NAT between the capture points/);
  });

  it('the text and Markdown reports explain the frame labels once and label the target capture\'s frames', async () => {
    const f = files('labels', cutReturn());
    const r = await analyzeCaptures([f.host, f.target]);
    const text = renderText(r, { color: false, width: 160 });
    expect(text).toContain(`Two captures of the same traffic read as one: host = ${f.host} (host side, inferred from the delays), target = ${f.target} (target side, inferred from the delays)`);
    expect(text.match(/frame N is the host capture's frame N, target#N the target capture's/g)).toHaveLength(1);
    expect(text).toMatch(/clocks: target − host = 0\.000 ms \(± 0\.1[45]\d ms, aligned from \d+ PDUs seen at both points\); one-way delay host→target 0\.1[45]\d–0\.150 ms/);
    expect(text).toContain('target#');
    expect(text).not.toMatch(/\b42949\d{5}/); // no raw reference leaks into the text
    const md = renderMarkdown(r);
    expect(md).toContain('target#');
    expect(md).toContain('- Two captures of the same traffic read as one');
  });

  it('--vantage names the points when the traffic cannot (and overrides the inference)', async () => {
    const f = files('vantage', cutBoth());
    const r = await analyzeCaptures([f.target, f.host], { vantages: ['target', 'host'] });
    expect(r.sameTraffic!.captures.map((c) => [c.file, c.vantageSource])).toEqual([[f.host, 'given'], [f.target, 'given']]);
    expect(retries(r).map((x) => x.details.reachedController)).toEqual([false, false]);
    expect(captureLabel(1)).toBe('target');
    expect(frameOf(CAPTURE_STRIDE + 148)).toBe(148);
  });
});

describe('--same-traffic from the command line', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

  it('--annotate writes one annotated pcapng per capture, each with comments on its own frames (read back by tshark)', () => {
    const f = files('annotate', cutReturn());
    const out = join(dir, 'annotated.pcapng');
    const r = run(['analyze', '--same-traffic', f.host, f.target, '--annotate', out, '--json', join(dir, 'annotate.json'), '--quiet']);
    expect(r.status).toBe(1);
    const report = JSON.parse(readFileSync(join(dir, 'annotate.json'), 'utf8'));
    const dup = report.findings.find((x: { ruleId: string }) => x.ruleId === 'duplicate-execution');
    const framesIn = (label: string) => dup.frames.filter((x: { capture: string }) => x.capture === label).map((x: { frame: number }) => x.frame);
    const commented = (file: string) => spawnSync('tshark', ['-r', file, '-Y', 'frame.comment contains "duplicate-execution"', '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' })
      .stdout.trim().split('\n').filter(Boolean).map(Number);
    expect(commented(out)).toEqual(framesIn('host'));
    expect(commented(join(dir, 'annotated-target.pcapng'))).toEqual(framesIn('target'));
    expect(framesIn('target').length).toBe(4);
  });

  it('--perfetto names the target capture\'s frames as the reports do', () => {
    const f = files('perfetto', cutReturn());
    const out = join(dir, 'twin.perfetto.json');
    expect(run(['analyze', '--same-traffic', f.host, f.target, '--perfetto', out, '--quiet', '--fail-on', 'none']).status).toBe(0);
    const trace = JSON.parse(readFileSync(out, 'utf8'));
    const events: { args?: Record<string, unknown> }[] = trace.traceEvents ?? trace;
    const frames = events.flatMap((e) => (e.args?.frames as (number | string)[] | undefined) ?? []);
    expect(frames.some((x) => typeof x === 'string' && /^target#\d+$/.test(x))).toBe(true);
    expect(frames.every((x) => typeof x === 'string' || x < 2 ** 32)).toBe(true);
  });

  it('timeline --same-traffic names each step\'s capture; --json gives {capture, frame}', () => {
    const f = files('timeline', cutReturn());
    const text = run(['timeline', '--same-traffic', f.host, f.target, '--cid', '5', '--quiet']);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/target#\d+ +\+[\d.]+s +peer-arrival +capsule seen arriving at the other capture point/);
    expect(text.stdout).toMatch(/target#\d+ +\+[\d.]+s +completion-lost +completion sent by the controller, never reached the host/);
    const json = run(['timeline', '--same-traffic', f.host, f.target, '--cid', '5', '--json', '--quiet']);
    const first = JSON.parse(json.stdout.split('\n')[0]);
    expect(first.steps[0].frame).toEqual({ capture: 'host', frame: first.steps[0].frame.frame });
    expect(first.steps.some((x: { frame: { capture: string } }) => x.frame.capture === 'target')).toBe(true);
  });

  it('--same-traffic takes exactly two captures; --peer-offset and --vantage only with it', () => {
    expect(run(['analyze', '--same-traffic', 'fixtures/twins/twin-early-retry.pcap']).stderr).toContain('--same-traffic reads two captures of the same traffic');
    expect(run(['analyze', 'fixtures/twins/twin-early-retry.pcap', '--peer-offset', '3']).stderr).toContain('--peer-offset and --vantage go with --same-traffic');
    expect(run(['analyze', '--same-traffic', 'a', 'b', '--vantage', 'target,target']).stderr).toContain('--vantage takes two comma-separated points, one of them host');
    const ok = run(['check', '--same-traffic', 'fixtures/twins/twin-early-retry.pcap', 'fixtures/twins/twin-early-retry-target.pcap']);
    expect(ok.stdout).toMatch(/^FAIL {2}fixtures\/twins\/twin-early-retry\.pcap \+ fixtures\/twins\/twin-early-retry-target\.pcap {2}1 error/);
  });
});

describe('every real capture beside a target-side twin made of it (the same packets, 20 µs away, the clock 1.5 s ahead)', () => {
  for (const name of ['clean-io', 'ctrl-reset', 'digest', 'early-retry', 'kato-expiry-link-cut', 'large-io', 'target-port-removed']) {
    it(`${name}: the findings the host capture gives alone, every PDU seen at both points`, async () => {
      const host = `fixtures/${name}.pcap`;
      const target = join(dir, `${name}-twin-target.pcap`);
      writeFileSync(target, targetTwinOf(readFileSync(host), { offsetS: 1.5, delayS: 0.00002 }));
      const alone = await analyzeCapture(host);
      const r = await analyzeCaptures([target, host]);
      const st = r.sameTraffic!;
      expect(st.captures[0].file).toBe(host);
      expect(st.clock.offsetMs).toBeCloseTo(1500, 1);
      expect(st.clock.h2cDelay.minMs).toBeCloseTo(0.02, 2);
      // Same verdicts; the arrival clause comes from the target side now (this twin shows every original arriving).
      const strip = (m: string) => m.replace(/; (the target-side capture|the controller (acknowledged|never acknowledged)|it never reached).*$/, '');
      expect(r.findings.map((f) => `${f.ruleId} ${strip(f.message)}`)).toEqual(alone.findings.map((f) => `${f.ruleId} ${strip(f.message)}`));
      for (const dir of [st.totals.h2c, st.totals.c2h]) expect([dir.senderOnly, dir.receiverOnly]).toEqual([0, 0]);
      expect(st.totals.h2c.both + st.totals.c2h.both).toBe(alone.summary.pdus);
      expect(schemaErrors(withFrameObjects(r))).toEqual([]);
    });
  }
});

describe('NVMe/TCP over TLS seen from both ends', () => {
  it('each capture decrypted with the key log, then merged: the original never reached the controller', async () => {
    const { tlsScenario } = await import('../src/test-support/tls-scenario.js');
    const { scenario: s, keyLog } = await tlsScenario((sc) => {
      sc.step = 0.0005;
      breakOn(sc, { h2c: true, c2h: true }, (io) => {
        io.host(ioCmd(WRITE, 5, 500, 8));
        return [5];
      });
    });
    const f = files('tls', s);
    const keys = join(dir, 'tls.keys');
    writeFileSync(keys, keyLog);
    const r = await analyzeCaptures([f.host, f.target], { tlsKeylogs: [keys] });
    expect(r.tls!.decrypted).toBe(r.tls!.connections);
    const [retry] = retries(r);
    expect(retry.ruleId).toBe('retry-before-kato');
    expect(retry.details.reachedController).toBe(false);
    expect(r.sameTraffic!.totals.h2c.senderOnly).toBeGreaterThanOrEqual(1);
    expect(r.sameTraffic!.totals.c2h.senderOnly + r.sameTraffic!.totals.c2h.receiverOnly + r.sameTraffic!.totals.h2c.receiverOnly).toBe(0);
  });
});

describe('a target serving many hosts, captured beside one of them', () => {
  it('the other hosts\' connections, only in the target capture, are read from it and counted; the host\'s story is unchanged', async () => {
    const s = cutBoth();
    const { host } = twinCaptures(s);
    // The target capture also holds 200 other hosts' associations (the builders' scenario, other addresses and ports).
    const others = scenario();
    for (let k = 0; k < 200; k++) {
      const a = connectAssociation(others, { host: `10.7.${k >> 8}.${(k & 255) + 1}`, katoMs: 30000 });
      a.io[0].host(ioCmd(WRITE, 1, 8 * k, 8));
      a.io[0].ctrl(capsuleResp({ cid: 1 }));
    }
    const both = scenario();
    for (const p of s.packets.concat(others.packets.map((p) => ({ ...p, time: p.time + 0.01 })))) both.packets.push(p);
    const h = join(dir, 'fleet.pcap');
    const t = join(dir, 'fleet-target.pcap');
    writeFileSync(h, host);
    writeFileSync(t, twinCaptures(both).target);
    const alone = await analyzeCapture(h);
    const r = await analyzeCaptures([h, t]);
    // Associations are numbered over everything read: the host's second is a later number here.
    const story = (m: string) => m.replace(/; (it never reached|the controller never acknowledged).*$/, '').replace(/association \d+/g, 'association N');
    expect(retries(r).map((x) => story(x.message))).toEqual(retries(alone).map((x) => story(x.message)));
    expect(retries(r).map((x) => x.details.reachedController)).toEqual([false, false]);
    expect(r.sameTraffic!.connectionsOnlyIn.target).toBe(400);
    expect(r.summary.associations).toBe(alone.summary.associations + 200);
    expect(r.associations.some((a) => a.host.startsWith('10.7.'))).toBe(true);
  });
});

describe('damaged input beside a good capture', () => {
  it('300 mutated captures paired with a real host capture: a report, or a CaptureError or UsageError, never another exception', async () => {
    const { loadCorpus, mutatedInput } = await import('../src/test-support/mutate.js');
    const { CaptureError } = await import('../src/common/errors.js');
    const corpus = await loadCorpus(join(__dirname, '..', 'fixtures', 'twins'));
    const failures: string[] = [];
    let merged = 0;
    for (let i = 0; i < 300; i++) {
      const t = join(dir, 'mutated-target.pcap');
      writeFileSync(t, mutatedInput(corpus, 11, i));
      try {
        const r = await analyzeCaptures(['fixtures/twins/twin-early-retry.pcap', t]);
        if (r.sameTraffic) merged++;
      } catch (e) {
        if (!(e instanceof CaptureError) && !(e instanceof UsageError)) failures.push(`input ${i}: ${(e as Error).stack}`);
      }
    }
    expect(failures).toEqual([]);
    // Windows of the same lab's traffic: some share PDUs with the host capture and are merged.
    expect(merged).toBeGreaterThan(10);
  });
});

describe('what the merge holds', () => {
  it('a connection only the host capture sees: its PDUs are let go once their window passes, not held to the end', async () => {
    const s = scenario();
    s.step = 0.001;
    const shared = connectAssociation(s, { katoMs: 30000 });
    const lone = connectAssociation(s, { host: '10.0.0.1', ctrl: '10.0.0.9', katoMs: 30000 });
    // 20 s of commands on the connection the target capture never sees, a few on the shared one.
    for (let i = 0; i < 4000; i++) {
      lone.io[0].host(ioCmd(WRITE, i & 0xfff, i * 8, 8));
      lone.io[0].ctrl(capsuleResp({ cid: i & 0xfff }));
      if (i % 1000 === 0) {
        shared.io[0].host(ioCmd(READ, 1, 8, 8));
        shared.io[0].ctrl(capsuleResp({ cid: 1 }));
      }
      s.wait(2);
    }
    const { host, target } = twinCaptures(s);
    const targetOnlyShared = filterOut(target, '10.0.0.9');
    const h = join(dir, 'lone.pcap');
    const t = join(dir, 'lone-target.pcap');
    writeFileSync(h, host);
    writeFileSync(t, targetOnlyShared);
    const { Correlator } = await import('../src/correlate/correlator.js');
    const { runPipelines } = await import('../src/api/pipeline.js');
    const merged = await runPipelines([h, t], new Correlator({ rule: 'kato+cqt' }).sink);
    // 8,000 PDUs on the lone connection, 1,000 per second: a 250 ms window holds about 250.
    expect(merged.peakWaiting).toBeLessThan(600);
    expect(merged.sameTraffic.connectionsOnlyIn.host).toBeGreaterThanOrEqual(2);
    expect(merged.sameTraffic.totals.h2c.senderOnly).toBe(0);
  });
});

/** A pcap without the packets to or from `address` (IPv4, Ethernet). */
function filterOut(pcap: Uint8Array, address: string): Uint8Array {
  const ip = address.split('.').map(Number);
  const keep: Uint8Array[] = [pcap.subarray(0, 24)];
  for (let p = 24; p + 16 <= pcap.length;) {
    const len = new DataView(pcap.buffer, pcap.byteOffset + p + 8, 4).getUint32(0, true);
    const frame = pcap.subarray(p + 16, p + 16 + len);
    const has = (o: number) => ip.every((b, k) => frame[o + k] === b);
    if (!has(26) && !has(30)) keep.push(pcap.subarray(p, p + 16 + len));
    p += 16 + len;
  }
  const out = new Uint8Array(keep.reduce((n, k) => n + k.length, 0));
  let o = 0;
  for (const k of keep) {
    out.set(k, o);
    o += k.length;
  }
  return out;
}

describe('the two ends segment the same bytes differently (TSO on the host, the wire\'s segments at the target)', () => {
  it('large-io: 64 KiB host segments against 1448-byte target segments: every PDU matched by its place in the stream', async () => {
    const host = 'fixtures/large-io.pcap';
    const target = join(dir, 'large-io-mss-target.pcap');
    const twin = targetTwinOf(readFileSync(host), { offsetS: 0.25, delayS: 0.00003, mss: 1448 });
    writeFileSync(target, twin);
    const alone = await analyzeCapture(host);
    const r = await analyzeCaptures([host, target]);
    const st = r.sameTraffic!;
    expect(st.captures[1].frames).toBeGreaterThan(2 * st.captures[0].frames);
    for (const d of [st.totals.h2c, st.totals.c2h]) expect([d.senderOnly, d.receiverOnly]).toEqual([0, 0]);
    expect(st.totals.h2c.both + st.totals.c2h.both).toBe(alone.summary.pdus);
    expect(st.clock.offsetMs).toBeCloseTo(250, 1);
    expect(r.findings.map((f) => f.ruleId)).toEqual(alone.findings.map((f) => f.ruleId));
  });
});

describe('the real twins (../shared/captures: tcpdump on the host and on the target at once)', () => {
  const twin = (name: string) => [`fixtures/twins/${name}.pcap`, `fixtures/twins/${name}-target.pcap`];

  it('twin-early-retry: both retries before KATO, and the target capture shows neither original arriving', async () => {
    const [host, tgt] = twin('twin-early-retry');
    const r = await analyzeCaptures([tgt, host]);
    const st = r.sameTraffic!;
    expect(st.captures.map((c) => c.file)).toEqual([host, tgt]);
    // One machine: the clocks agree within ±15 µs; one-way delays of tens of µs.
    expect(Math.abs(st.clock.offsetMs)).toBeLessThan(0.015);
    expect(st.clock.uncertaintyMs!).toBeLessThan(0.05);
    expect(st.clock.h2cDelay.minMs!).toBeGreaterThan(0);
    expect(st.clock.c2hDelay.minMs!).toBeGreaterThan(0);
    const rs = retries(r);
    expect(rs.map((x) => [x.ruleId, x.details.originalFrame, x.details.retryFrame, x.details.reachedController])).toEqual([
      ['retry-before-kato', 112, 161, false], ['retry-before-kato', 111, 161, false],
    ]);
    expect(st.totals.h2c.firstLostFrames).toEqual([111, 112]);
    expect(st.totals.h2c.senderOnly).toBe(2);
    // The target executed each command once (the retry): no duplicate execution.
    expect(ofRule(r, 'duplicate-execution')).toEqual([]);
    // The incident's story says it from the target side, not from ACKs — and when the old controller would have given up.
    const text = renderText(r, { color: false, width: 400 });
    expect(text).toContain('2 commands (1 write, 1 read) sent on association 1 (CIDs 0x0052, 0x0053); the target-side capture never shows them arriving; none completed on it');
    expect(text).toMatch(/frame target#108 +the last command the target-side capture shows reaching the old controller: its keep-alive timer runs out 20\.311 s–50\.311 s after the first retry/);
    expect(frameOf(r.incidents[0].controllerTimer!.frame)).toBe(108);
    expect(schemaErrors(withFrameObjects(r))).toEqual([]);
  });

  it('the order the captures are given in changes nothing', async () => {
    const [host, tgt] = twin('twin-early-retry');
    const a = await analyzeCaptures([host, tgt]);
    const b = await analyzeCaptures([tgt, host]);
    expect(b.findings.map((f) => f.message)).toEqual(a.findings.map((f) => f.message));
    expect(b.incidents).toEqual(a.incidents);
    expect(b.sameTraffic).toEqual(a.sameTraffic);
    // What streams out (timeline, HTML, Perfetto) counts time from the host capture's first packet, whichever came first.
    const starts: number[] = [];
    await analyzeCaptures([tgt, host], { onCommand: (_, t0) => void starts.push(t0) });
    expect(new Set(starts)).toEqual(new Set([a.capture.firstTime]));
  });

  it('twin-ka-triggered: three retries after KATO; the originals never arrived; the controller\'s keep-alive timer placed where its log says it ran out', async () => {
    const [host, tgt] = twin('twin-ka-triggered');
    const r = await analyzeCaptures([host, tgt], { dmesg: ['fixtures/twins/twin-ka-triggered.dmesg.txt'] });
    // The target's timer, restarted by its last command (traffic-based keep-alive), runs out KATO to twice KATO later;
    // its own log line ("keep-alive timer (5 seconds) expired!") falls there, give or take the kernel's scheduling.
    const expired = r.kernelLog!.events.find((e) => e.kind === 'keep-alive-expired')!;
    for (const x of retries(r)) {
      const c = x.details.controllerLastCommand!;
      expect(frameOf(c.frame)).toBe(108);
      expect(captureOf(c.frame)).toBe(1);
      const atRetry = x.time;
      expect(expired.time!).toBeGreaterThan(atRetry + c.timerEndsAfterRetryMs.from / 1000 - 0.5);
      expect(expired.time!).toBeLessThan(atRetry + c.timerEndsAfterRetryMs.to / 1000 + 0.5);
      expect(x.message).toMatch(/the target-side capture shows the old controller's last command arriving in frame target#108: its keep-alive timer \(KATO 5000 ms, traffic-based: checked once a period\) runs out about 8\.88\d s–13\.88\d s before the retry/);
    }
    const rs = retries(r);
    expect(rs).toHaveLength(3);
    for (const x of rs) {
      expect(x.ruleId).toBe('retry-after-kato');
      expect(x.details.reachedController).toBe(false);
      expect(captureOf(x.details.retryFrame)).toBe(0);
    }
    expect(r.sameTraffic!.totals.c2h.senderOnly).toBe(0);
  });
});
