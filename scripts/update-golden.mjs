// Rewrites fixtures/golden/*.json from the current analyzer. Read the diff before committing it.
import { readdirSync, writeFileSync } from 'node:fs';
import { analyzeCapture } from '../dist/api/index.js';

for (const name of readdirSync('fixtures').filter((f) => f.endsWith('.pcap')).sort()) {
  const report = await analyzeCapture(`fixtures/${name}`);
  writeFileSync(`fixtures/golden/${name.replace(/\.pcap$/, '.json')}`, JSON.stringify(report, null, 2) + '\n');
  console.log(name, report.summary.findings);
}
