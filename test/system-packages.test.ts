import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * scripts/system-packages.sh, which `npm test` runs first: it installs tshark and chromium where
 * it can, and otherwise stops at once with one line saying what to install.
 */
const script = join(__dirname, '..', 'scripts', 'system-packages.sh');
const BASH = '/bin/bash';

/** A bin directory holding only the given fake commands: every real tool is hidden. */
function fakeBin(commands: Record<string, string>): { dir: string; calls: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ntt-bin-'));
  const calls = join(dir, 'calls.log');
  for (const [name, body] of Object.entries(commands)) {
    const path = join(dir, name);
    writeFileSync(path, `#!${BASH}\necho "${name} $*" >> ${calls}\n${body}\n`);
    chmodSync(path, 0o755);
  }
  return { dir, calls };
}

function run(path: string, env: Record<string, string> = {}) {
  return spawnSync(BASH, [script], { env: { PATH: path, TMPDIR: tmpdir(), ...env }, encoding: 'utf8' });
}

describe('system packages for the test suite', () => {
  it('without the tools and with an apt-get that refuses: exits non-zero with the line naming what to install', () => {
    const { dir, calls } = fakeBin({ 'apt-get': 'echo "E: Could not open lock file" >&2; exit 100' });
    const r = run(dir);
    expect(r.status).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    const hint = lines.at(-1)!;
    expect(hint).toContain('sudo apt-get install -y tshark chromium');
    expect(hint).toContain('sudo dnf install -y wireshark-cli chromium');
    expect(hint).toContain('brew install wireshark');
    expect(r.stderr).not.toMatch(/at .*\(.*:\d+:\d+\)/); // no stack trace
    expect(readFileSync(calls, 'utf8')).toContain('apt-get update');
  });

  it('not root and no password-less sudo: says so and what to install, without calling apt-get', () => {
    const { dir, calls } = fakeBin({ 'apt-get': 'exit 0', sudo: 'exit 1' });
    chmodSync(dir, 0o777);
    // The checkout may live where nobody cannot enter (a clone in a 0700 folder): nobody runs a copy.
    const copy = join(dir, 'system-packages.sh');
    copyFileSync(script, copy);
    chmodSync(copy, 0o755);
    // As root (CI), drop to nobody for this run; an unprivileged tester runs it as is.
    const asUser = process.getuid?.() === 0 ? ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
    const r = spawnSync(asUser[0] ?? BASH, [...asUser.slice(1), ...(asUser.length ? [BASH] : []), copy], {
      env: { PATH: dir, TMPDIR: tmpdir() }, encoding: 'utf8',
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('not root and no password-less sudo');
    expect(r.stderr.trim().split('\n').at(-1)).toContain('apt-get install -y tshark chromium');
    expect(existsSync(calls) ? readFileSync(calls, 'utf8') : '').not.toMatch(/^apt-get/m);
  });

  it('with the tools present, installs nothing and says nothing', () => {
    const { dir, calls } = fakeBin({ 'apt-get': 'exit 1' });
    const r = run(`${dir}:${process.env.PATH}`);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(existsSync(calls)).toBe(false);
  });
});
