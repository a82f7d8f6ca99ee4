import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../api/analyze-capture.js';
import { synthesize, type Profile } from './synth.js';

/** Smoke test of the benchmark generator: small captures that the analyzer reads cleanly. */
describe('synthetic capture generator', () => {
  for (const profile of ['tso', 'mtu', 'small'] as Profile[]) {
    for (const format of ['pcap', 'pcapng'] as const) {
      it(`${profile} ${format}: about the size asked, every command completed, no findings`, async () => {
        const chunks: Uint8Array[] = [];
        const made = synthesize({ profile, format, targetBytes: 3_000_000 }, (c) => chunks.push(c));
        expect(made.bytes).toBeGreaterThanOrEqual(3_000_000);
        expect(made.bytes).toBeLessThan(5_000_000);
        const report = await analyzeCapture((async function* () { yield* chunks; })(), { name: `${profile}.${format}` });
        expect(report.capture.format).toBe(format);
        expect(report.summary.packets).toBe(made.packets);
        expect(report.findings).toEqual([]);
        const io = report.opcodes.filter((o) => o.queue === 'io' && (o.opcode === 'Read' || o.opcode === 'Write'));
        expect(io.reduce((n, o) => n + o.completed, 0)).toBe(made.commands);
      });
    }
  }
});
