import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../src/capture/capture-reader.js';
import { checkInput, mutatedInput, type Corpus } from '../src/test-support/mutate.js';

/**
 * The quick part of the fuzzing (`npm run fuzz` runs a million): flipped, cut
 * and duplicated bytes of the real captures never crash, hang or grow memory.
 */
async function corpus(): Promise<Corpus[]> {
  const dir = join(__dirname, '..', 'fixtures');
  const out: Corpus[] = [];
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.pcap') && f !== 'large-io.pcap').sort()) {
    const c: Corpus = { name, linkType: 1, packets: [] };
    await readCapture(join(dir, name), {
      record(r) {
        c.linkType = r.linkType;
        c.packets.push({ time: r.time, data: r.bytes.slice(r.offset, r.offset + r.capLen), origLen: r.origLen });
      },
    });
    out.push(c);
  }
  return out;
}

describe('mutated real captures', () => {
  it('2000 inputs: no exception but CaptureError, each under 2 s, memory bounded', async () => {
    const c = await corpus();
    const failures: string[] = [];
    const rssBefore = process.memoryUsage().rss;
    for (let i = 0; i < 2000; i++) {
      const v = await checkInput(mutatedInput(c, 7, i));
      if (!v.ok) failures.push(`input ${i} (seed 7): ${v.failure}`);
    }
    expect(failures).toEqual([]);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024);
  });

  it('is deterministic: the same seed and index give the same bytes', async () => {
    const c = await corpus();
    expect(mutatedInput(c, 3, 99)).toEqual(mutatedInput(c, 3, 99));
    expect(mutatedInput(c, 3, 99)).not.toEqual(mutatedInput(c, 3, 100));
  });
});
