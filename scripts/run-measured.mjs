// Runs the CLI in this process and, at exit, writes its peak RSS (KiB) to $BENCH_RSS_FILE.
// VmHWM is this process's own high-water mark; getrusage's maxrss would carry the parent's across exec.
import { readFileSync, writeFileSync } from 'node:fs';
import { main } from '../dist/cli.bundle.js';

function peakRssKiB() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS;
}

process.on('exit', () => {
  if (process.env.BENCH_RSS_FILE) writeFileSync(process.env.BENCH_RSS_FILE, String(peakRssKiB()));
});
await main(process.argv);
