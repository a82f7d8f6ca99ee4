// npm run bench:paired -- --against DIR [--runs 7] FILE [FILE …] [-- extra analyze options]
// Times `analyze --json` of this checkout against another built checkout (a git worktree of the
// commit before a change, with `npm run build` run in it) on the same files, runs alternated so
// both see the same machine, and prints each side's median: how a change made for speed is measured.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { median } from '../dist/common/numbers.js';

const argv = process.argv.slice(2);
const cut = argv.indexOf('--');
const extra = cut >= 0 ? argv.slice(cut + 1) : [];
const own = cut >= 0 ? argv.slice(0, cut) : argv;
const files = [];
let against;
let runs = 7;
for (let i = 0; i < own.length; i++) {
  if (own[i] === '--against') against = own[++i];
  else if (own[i] === '--runs') runs = Number(own[++i]);
  else files.push(own[i]);
}
if (!against || files.length === 0 || !(runs > 0)) {
  console.error('usage: npm run bench:paired -- --against DIR [--runs 7] FILE [FILE …] [-- analyze options]');
  process.exit(2);
}
const trees = { before: against, after: join(import.meta.dirname, '..') };
for (const file of files) {
  const times = { before: [], after: [] };
  for (let i = 0; i < runs; i++) {
    for (const side of i % 2 ? ['after', 'before'] : ['before', 'after']) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [join(trees[side], 'bin/nvme-tcp-timeline.js'), 'analyze', file, '--json', '--quiet', '--fail-on', 'none', ...extra], { stdio: ['ignore', 'ignore', 'inherit'] });
      if (r.status !== 0) throw new Error(`${side}: exit ${r.status} on ${file}`);
      times[side].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  const [b, a] = [median(times.before), median(times.after)];
  console.log(`${file}: before ${b.toFixed(0)} ms, after ${a.toFixed(0)} ms (${(((a - b) / b) * 100).toFixed(1)} %), median of ${runs}`);
}
