// Runs the CLI in this process and, at exit, writes its peak RSS (KiB) to $BENCH_RSS_FILE.
import { writeFileSync } from 'node:fs';
import { main } from '../dist/cli/main.js';

process.on('exit', () => {
  if (process.env.BENCH_RSS_FILE) writeFileSync(process.env.BENCH_RSS_FILE, String(process.resourceUsage().maxRSS));
});
await main(process.argv);
