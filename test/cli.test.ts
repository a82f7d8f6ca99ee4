import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Runs the built CLI as a user would (npm test builds first). */
const bin = join(__dirname, '..', 'bin', 'nvme-tcp-timeline.js');
const dir = mkdtempSync(join(tmpdir(), 'nvme-tcp-timeline-cli-'));

function run(args: string[], input?: Buffer, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { input, encoding: 'buffer', cwd: join(__dirname, '..'), env: { ...process.env, NO_COLOR: '1', ...env } });
  return { code: r.status, out: r.stdout.toString(), err: r.stderr.toString() };
}

describe('CLI', () => {
  it('check on GitHub Actions prints workflow annotations; --markdown FILE and --junit FILE are written', () => {
    const markdown = join(dir, 'report.md');
    const junit = join(dir, 'junit.xml');
    const r = run(['check', 'fixtures/early-retry.pcap', '--markdown', markdown, '--junit', junit], undefined, { GITHUB_ACTIONS: 'true' });
    expect(r.code).toBe(1);
    const lines = r.out.trimEnd().split('\n');
    // One annotation for the incident, with its counts; its five findings are not annotated again.
    expect(lines[0]).toBe('::error title=incident 1,file=fixtures/early-retry.pcap::association 1 broke (I/O timeout): 2 commands (1 write, 1 read) resubmitted before KATO ' +
      '[2 commands, 2 retried before KATO; 5 findings] (Wireshark filter%3A frame.number in {109..119, 160..161})'.replace(/%3A/g, ':'));
    expect(lines.filter((l) => l.startsWith('::'))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^FAIL {2}fixtures\/early-retry\.pcap/);
    expect(run(['check', 'fixtures/early-retry.pcap']).out).not.toContain('::error');
    expect(readFileSync(markdown, 'utf8')).toMatch(/^\*\*2 commands resubmitted before KATO: 1 write, 1 read\.\*\*\n/);
    // JUnit states how long the analysis took (how long is the bench's business, not a test's).
    const time = Number(/name="fixtures\/early-retry\.pcap" time="([\d.]+)"/.exec(readFileSync(junit, 'utf8'))![1]);
    expect(time).toBeGreaterThan(0);
  });

  it('analyze: summary and findings; exit 1 for an error finding, 0 when clean', () => {
    const bad = run(['analyze', 'fixtures/early-retry.pcap']);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('retry-before-kato');
    expect(bad.out).toContain('KATO 30000 ms (connect)');
    expect(bad.out).not.toMatch(/\x1b\[/);
    const clean = run(['fixtures/clean-io.pcap']);
    expect(clean.code).toBe(0);
    expect(clean.out).toContain('No findings.');
    expect(clean.out).toContain('  2 NVMe/TCP connections, 1 association, 174 PDUs, 71 commands\n');
    expect(run(['analyze', 'fixtures/early-retry.pcap', '--fail-on', 'none']).code).toBe(0);
    expect(run(['analyze', 'fixtures/kato-expiry-link-cut.pcap', '--fail-on', 'warning']).code).toBe(1);
  });

  it('--json: the same bytes on every run, to stdout or a file', () => {
    const a = run(['analyze', 'fixtures/early-retry.pcap', '--json']);
    const b = run(['analyze', 'fixtures/early-retry.pcap', '--json']);
    expect(a.out).toBe(b.out);
    expect(JSON.parse(a.out).schemaVersion).toBe(1);
    // `--json` right before the capture takes no file: the capture stays a capture.
    expect(run(['analyze', '--json', 'fixtures/early-retry.pcap']).out).toBe(a.out);
    const file = join(dir, 'r.json');
    run(['analyze', 'fixtures/early-retry.pcap', '--json', file]);
    expect(readFileSync(file, 'utf8')).toBe(a.out);
  });

  it('output files: checked before the capture is read; a bad path is a usage error, not a crash', () => {
    for (const args of [
      ['analyze', 'fixtures/early-retry.pcap', '--json', join(dir, 'missing', 'r.json')],
      ['timeline', 'fixtures/early-retry.pcap', '--html', dir],
      ['check', 'fixtures/early-retry.pcap', '--junit', join(dir, 'missing', 'j.xml')],
      ['pdus', 'fixtures/early-retry.pcap', '--json', join(dir, 'missing', 'p.jsonl')],
    ]) {
      const r = run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(/^nvme-tcp-timeline: cannot write .*: (no such file or directory|is a directory)\n$/);
      expect(r.out).toBe('');
    }
  });

  it('pdus --json FILE writes the JSON lines there; --html and --junit are refused', () => {
    const file = join(dir, 'p.jsonl');
    const r = run(['pdus', 'fixtures/early-retry.pcap', '--json', file]);
    expect([r.code, r.out]).toEqual([0, '']);
    expect(readFileSync(file, 'utf8')).toBe(run(['pdus', 'fixtures/early-retry.pcap', '--json']).out);
    const html = run(['pdus', 'fixtures/early-retry.pcap', '--html', join(dir, 'p.html')]);
    expect(html.code).toBe(2);
    expect(html.err).toContain('--html, --perfetto, --junit, --markdown, --annotate, --dmesg and --trace go with analyze, timeline or check');
  });

  it('pdus | head: a reader that stops early ends the run without an error message', () => {
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${bin}" pdus fixtures/large-io.pcap | head -1`], { encoding: 'utf8', cwd: join(__dirname, '..') });
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')[0]).toMatch(/ICReq/);
  });

  it('analyze --json | a reader that reads nothing: no stack trace, and the exit code is the verdict\'s', () => {
    // `exit 0` closes the pipe at once; pipefail hands back the analyzer's own status.
    for (const args of ['analyze fixtures/early-retry.pcap --json', 'analyze fixtures/early-retry.pcap', 'check fixtures/early-retry.pcap --markdown']) {
      const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${bin}" ${args} | (exit 0)`], { encoding: 'utf8', cwd: join(__dirname, '..') });
      expect(r.stderr, args).toBe('');
      expect(r.status, args).toBe(1);
    }
  });

  it('check: one line per capture, JUnit XML, exit 1 when a capture fails', () => {
    const junit = join(dir, 'j.xml');
    const r = run(['check', 'fixtures/clean-io.pcap', 'fixtures/early-retry.pcap', '--junit', junit]);
    expect(r.code).toBe(1);
    expect(r.out.trim().split('\n')).toEqual([
      'PASS  fixtures/clean-io.pcap  0 error, 0 warning, 0 info',
      'FAIL  fixtures/early-retry.pcap  1 error, 4 warning, 0 info  (retry-before-kato)',
    ]);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain('<testsuite name="nvme-tcp-timeline check" tests="2" failures="1" errors="0">');
    expect(xml).toMatch(/<failure message="incident 1: association 1 broke \(I\/O timeout\): 2 commands \(1 write, 1 read\) resubmitted before KATO \[2 commands, 2 retried before KATO; 5 findings\] \(1 finding\(s\) at or above error\)" type="retry-before-kato">/);
    expect(run(['check', 'fixtures/clean-io.pcap']).code).toBe(0);
  });

  it('--port adds to the well-known ports', () => {
    const r = JSON.parse(run(['analyze', 'fixtures/clean-io.pcap', '--port', '5000,4421', '--json']).out);
    expect(r.options.ports).toEqual([4420, 4421, 5000, 8009]);
    expect(r.summary.associations).toBe(1);
  });

  it('usage errors exit 2', () => {
    expect(run(['analyze', 'fixtures/clean-io.pcap', '--rule', 'nope']).code).toBe(2);
    expect(run(['analyze', 'fixtures/clean-io.pcap', '--bogus']).code).toBe(2);
    expect(run(['analyze', 'fixtures/clean-io.pcap', '--kato', 'soon']).code).toBe(2);
    expect(run(['analyze']).code).toBe(2);
  });

  it('unreadable captures: one line naming the file and the problem, exit 3, no stack trace', () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'this is not a capture');
    const cases: [string, RegExp][] = [
      ['/nonexistent.pcap', /^nvme-tcp-timeline: \/nonexistent.pcap: no such file\n$/],
      [text, /notes.txt: byte 0: not a pcap or pcapng capture \(starts with 74 68 69 73\)\n$/],
      [dir, /is a directory, not a capture file\n$/],
    ];
    for (const [file, message] of cases) {
      for (const cmd of ['analyze', 'pdus', 'check', 'timeline']) {
        const r = run([cmd, file]);
        expect(r.code, `${cmd} ${file}`).toBe(3);
        if (cmd !== 'check') expect(r.err).toMatch(message);
        expect(r.err).not.toMatch(/\n\s+at /);
      }
    }
  });

  it('a truncated capture still gives a report of what was read, with the damage stated', () => {
    const whole = readFileSync('fixtures/early-retry.pcap');
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, 200_000));
    const r = run(['analyze', cut, '--json']);
    const report = JSON.parse(r.out);
    expect(report.problems.capture).toMatchObject({ kind: 'truncated' });
    expect(report.capture.frames).toBeGreaterThan(100);
    const text = run(['analyze', cut]);
    expect(text.out).toMatch(/capture damaged at byte \d+ after frame \d+/);
  });

  it('pdus: one JSON object per PDU, the same from stdin as from the file', () => {
    const file = run(['pdus', 'fixtures/early-retry.pcap', '--json']);
    const stdin = run(['pdus', '-', '--json'], readFileSync('fixtures/early-retry.pcap'));
    expect(stdin.out).toBe(file.out);
    const first = JSON.parse(file.out.split('\n')[0]);
    expect(first).toMatchObject({ frame: 4, firstFrame: 4, conn: 1, dir: 'h2c', type: 0, typeName: 'ICReq' });
    const connect = file.out.split('\n').map((l) => (l ? JSON.parse(l) : null)).find((p) => p?.sqe?.connect);
    expect(connect).toMatchObject({ cid: 0, opcodeName: 'Connect', qid: 0, connectData: { subnqn: 'nqn.2026-11.io.lab:nullb0' } });
    const text = run(['pdus', 'fixtures/early-retry.pcap']);
    expect(text.out).toMatch(/^\s+111\s+0\.528088\s+c2\/q1\s+host→ctrl\s+CapsuleCmd\s+cid 0x0041\s+Write\s+nsid 1\s+slba 2100 nlb 1/m);
  });

  it('timeline: the steps of a command, filtered by association, queue and CID', () => {
    const r = run(['timeline', 'fixtures/early-retry.pcap', '--assoc', '1', '--qid', '1', '--cid', '0x41']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Write SLBA 2100 NLB 1 nsid 1  → unanswered-at-close');
    expect(r.out).toMatch(/111\s+\+0\.528088s\s+submit/);
    expect(r.out).not.toContain('assoc 2');
  });
});
