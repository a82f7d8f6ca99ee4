import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..');

describe('what ships and what only helps', () => {
  it('the published package holds the CLI, the library and the schema, and no test code', () => {
    // npm test has built dist/ already; --ignore-scripts keeps npm from building it again.
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const files: string[] = JSON.parse(r.stdout)[0].files.map((f: { path: string }) => f.path);
    expect(files).toEqual(expect.arrayContaining(['bin/nvme-tcp-timeline.js', 'dist/cli.bundle.js', 'dist/api/index.js', 'dist/kernel-log/parse.js', 'schema/report.schema.json', 'package.json']));
    expect(files.filter((f) => f.includes('test-support') || /\.test\.(js|d\.ts|js\.map)$/.test(f))).toEqual([]);
  });

  it('npm run bench -- --help prints its options and runs nothing', () => {
    const out = join(root, 'bench-out');
    const before = existsSync(out) ? readdirSync(out).length : 0;
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'bench.mjs'), '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--rss-sizes');
    expect(existsSync(out) ? readdirSync(out).length : 0).toBe(before);
  });
});
