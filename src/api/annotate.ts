import { createWriteStream } from 'node:fs';
import { readCapture } from '../capture/capture-reader.js';
import { PcapngAnnotator } from '../capture/pcapng-writer.js';
import { UsageError } from '../common/errors.js';
import { frameComments } from '../report/annotations.js';
import type { Report } from '../report/types.js';

/**
 * Writes `capture` (pcap, pcapng or gzip of either) to `out` as pcapng with a
 * packet comment on every frame the report's findings name. A second pass over
 * the file, streamed: memory stays constant. Returns how many frames got one.
 */
export async function annotateCapture(capture: string, report: Report, out: string): Promise<number> {
  if (capture === '-') throw new UsageError('--annotate reads the capture a second time: give a file, not standard input');
  const stream = createWriteStream(out);
  let failed: Error | undefined;
  stream.on('error', (e) => (failed = e));
  const annotator = new PcapngAnnotator(frameComments(report.findings), (bytes) => void stream.write(bytes));
  await readCapture(capture, annotator, {
    blocks: annotator,
    afterChunk: async () => {
      annotator.flush();
      if (stream.writableNeedDrain) await new Promise<void>((resolve) => stream.once('drain', resolve));
    },
  });
  annotator.flush();
  await new Promise<void>((resolve, reject) => stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
  if (failed) throw new UsageError(`cannot write ${out}: ${failed.message}`);
  return annotator.annotated;
}
