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
 * `code`: which capture of an analysis of several (--same-traffic) this is (0: the host side).
 */
export async function annotateCapture(capture: string, report: Report, out: string, code = 0): Promise<number> {
  if (capture === '-') throw new UsageError('--annotate reads the capture a second time: give a file, not standard input');
  const stream = createWriteStream(out);
  let failed: Error | undefined;
  stream.on('error', (e) => (failed = e));
  const annotator = new PcapngAnnotator(frameComments(report.findings, code), (bytes) => void stream.write(bytes));
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

/**
 * Every capture of an analysis of the same traffic (--same-traffic), each annotated with the
 * findings' frames in it: the host side's to `out`, the others' beside it (`out-target.pcapng`).
 */
export async function annotateCaptures(report: Report, out: string): Promise<string[]> {
  const captures = report.sameTraffic?.captures ?? [{ label: 'host', file: report.capture.file }];
  const written: string[] = [];
  for (const [code, c] of captures.entries()) {
    const file = code === 0 ? out : out.replace(/(\.pcapng)?$/, `-${c.label}$1`);
    await annotateCapture(c.file, report, file, code);
    written.push(file);
  }
  return written;
}
