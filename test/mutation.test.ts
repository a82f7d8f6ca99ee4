import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkInput, loadCorpus, mutatedInput } from '../src/test-support/mutate.js';

/**
 * The quick part of the fuzzing (`npm run fuzz` runs a million, with time and memory limits):
 * flipped, cut and duplicated bytes of the real captures never crash.
 */
function corpus() {
  return loadCorpus(join(__dirname, '..', 'fixtures'));
}

describe('mutated real captures', () => {
  // Time and memory limits per input are `npm run fuzz`'s (a busy machine must not fail this test).
  it('2000 inputs: no exception but CaptureError', async () => {
    const c = await corpus();
    const failures: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const v = await checkInput(mutatedInput(c, 7, i), Infinity);
      if (!v.ok) failures.push(`input ${i} (seed 7): ${v.failure}`);
    }
    expect(failures).toEqual([]);
  });

  it('is deterministic: the same seed and index give the same bytes', async () => {
    const c = await corpus();
    expect(mutatedInput(c, 3, 99)).toEqual(mutatedInput(c, 3, 99));
    expect(mutatedInput(c, 3, 99)).not.toEqual(mutatedInput(c, 3, 100));
  });
});
