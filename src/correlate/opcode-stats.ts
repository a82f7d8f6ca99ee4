import { LatencyHistogram } from './histogram.js';
import { latency } from './model-helpers.js';
import type { Cmd } from './model-types.js';
import type { OpcodeStats, Outcome } from './types.js';

interface Row {
  stats: OpcodeStats;
  hist: LatencyHistogram;
}

/** Per-opcode counts and latency by queue kind and name: the report's opcode table. */
export class OpcodeStatistics {
  private readonly byName = new Map<string, Row>();
  /** Rows found by a numeric key (queue kind, opcode, fctype) without building a name per command. */
  private readonly byKey = new Map<number, Row>();

  constructor(private readonly nameOf: (cmd: Cmd) => string) {}

  /** Counts a command that ended with `outcome` (completed and error ones with their latency). */
  add(cmd: Cmd, outcome: Outcome): void {
    const key = (cmd.admin ? 1 << 20 : 0) | (cmd.q.qid === undefined ? 1 << 19 : 0) | (cmd.opcode << 8) | (cmd.fctype ?? 0);
    let row = this.byKey.get(key);
    if (!row) {
      // Several opcode/fctype keys can share one row by name (vendor-specific opcodes, say).
      const name = this.nameOf(cmd);
      const queue = cmd.admin ? 'admin' : 'io';
      row = this.byName.get(`${queue}:${name}`);
      if (!row) {
        row = {
          stats: { opcode: name, queue, count: 0, completed: 0, errors: 0, unanswered: 0, latencyMs: { p50: null, p90: null, p99: null, max: null } },
          hist: new LatencyHistogram(),
        };
        this.byName.set(`${queue}:${name}`, row);
      }
      this.byKey.set(key, row);
    }
    row.stats.count++;
    const done = cmd.done;
    if (outcome === 'completed' || outcome === 'error') {
      if (outcome === 'completed') row.stats.completed++;
      else row.stats.errors++;
      if (done) row.hist.add((done.time - cmd.submit.time) * 1000);
    } else row.stats.unanswered++;
  }

  rows(): OpcodeStats[] {
    return [...this.byName.values()].map((o) => ({ ...o.stats, latencyMs: latency(o.hist) }))
      // Code-unit order, not localeCompare: the same in every locale, and no ICU collator to load at start-up.
      .sort((x, y) => (x.queue !== y.queue ? (x.queue === 'admin' ? -1 : 1) : x.opcode < y.opcode ? -1 : x.opcode > y.opcode ? 1 : 0));
  }
}
