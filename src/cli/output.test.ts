import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LineWriter, ReaderGone } from './output.js';

/** A stream whose reader has gone away, as stdout is after `| head` exits. */
function closedPipe(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  });
}

describe('LineWriter', () => {
  it('stops the run between chunks once the reader is gone', async () => {
    const writer = new LineWriter(closedPipe());
    writer.line('x'.repeat(1 << 19));
    await writer.betweenChunks();
    // The EPIPE arrives as an event after the failed write.
    await new Promise((resolve) => setImmediate(resolve));
    expect(() => writer.betweenChunks()).toThrow(ReaderGone);
  });

  it('keeps small output buffered and large output flowing while the reader is there', async () => {
    const seen: string[] = [];
    const writer = new LineWriter(new Writable({ write(chunk, _e, callback) { seen.push(String(chunk)); callback(); } }));
    writer.line('a');
    expect(writer.betweenChunks()).toBeUndefined();
    writer.line('b'.repeat(1 << 19));
    await writer.betweenChunks();
    expect(seen.join('')).toBe(`a\n${'b'.repeat(1 << 19)}\n`);
  });
});
