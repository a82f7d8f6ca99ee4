import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listPdus } from '../src/api/list-pdus.js';
import { runPipeline } from '../src/api/pipeline.js';
import { Correlator } from '../src/correlate/correlator.js';
import { concat } from '../src/test-support/builders.js';
import { synthesizeStorm } from '../src/test-support/synth.js';

// Analysis reuses one PDU event, SQE and CQE per direction (reuseEvents). Nothing may tell: every
// listener must copy what it keeps, and a reused event must carry nothing of the PDU before it.

const fixtures = join(__dirname, '..', 'fixtures');
const captures: [string, () => Uint8Array][] = [
  ...readdirSync(fixtures).filter((f) => f.endsWith('.pcap')).map((f): [string, () => Uint8Array] => [f, () => readFileSync(join(fixtures, f))]),
  ['storm of 300 associations with retries', () => {
    const chunks: Uint8Array[] = [];
    synthesizeStorm({ associations: 300, format: 'pcap', retryEvery: 7 }, (c) => chunks.push(c));
    return concat(chunks);
  }],
];

async function* once(bytes: Uint8Array) {
  yield bytes;
}

async function correlate(bytes: Uint8Array, reuseEvents: boolean) {
  const correlator = new Correlator({ rule: 'kato+cqt' });
  await runPipeline(once(bytes), correlator.sink, { name: 'capture.pcap', reuseEvents });
  return correlator.result();
}

async function pduListing(bytes: Uint8Array, reuseEvents: boolean): Promise<string[]> {
  const lines: string[] = [];
  await listPdus(once(bytes), (p) => lines.push(JSON.stringify(p)), { name: 'capture.pcap', reuseEvents });
  return lines;
}

describe('reused PDU events', () => {
  it.each(captures)('%s: the same findings, associations and statistics as fresh events', async (_, bytes) => {
    const b = bytes();
    const fresh = await correlate(b, false);
    const reused = await correlate(b, true);
    expect(reused).toEqual(fresh);
    expect(fresh.commands).toBeGreaterThan(0);
  });

  it.each(captures)('%s: each event reads as a fresh one while its call lasts', async (_, bytes) => {
    const b = bytes();
    const fresh = await pduListing(b, false);
    expect(await pduListing(b, true)).toEqual(fresh);
    expect(fresh.length).toBeGreaterThan(0);
  });
});
