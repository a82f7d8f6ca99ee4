// Imports run one way: each stage may import only from itself and earlier stages.
// Run by `npm run lint` (and so by `npm test`).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const ORDER = ['common', 'capture', 'decode', 'reassembly', 'tls', 'nvme-tcp', 'merge', 'kernel-log', 'kernel-trace', 'correlate', 'report', 'api', 'cli'];
const root = join(import.meta.dirname, '..', 'src');
const problems = [];

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.ts')) check(path);
  }
}

function check(file) {
  const stage = relative(root, file).split(sep)[0];
  const rank = ORDER.indexOf(stage);
  if (rank < 0) return; // test-support: test-only code may use every stage
  const isTest = file.endsWith('.test.ts');
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.\.?\/[^'"]+)['"]/g)) {
    const target = relative(root, join(file, '..', m[1])).split(sep)[0];
    if (target === 'test-support' && isTest) continue;
    const targetRank = ORDER.indexOf(target);
    if (targetRank < 0 || targetRank > rank) {
      if (isTest && targetRank >= 0) continue; // a stage's tests may drive it through later stages
      problems.push(`${relative(join(root, '..'), file)} (${stage}) imports ${m[1]} (${target})`);
    }
  }
}

walk(root);
if (problems.length) {
  console.error(`Imports must run ${ORDER.join(' → ')}:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
