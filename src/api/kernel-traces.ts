import { statSync } from 'node:fs';
import { UsageError } from '../common/errors.js';
import { fileText, isBlank } from '../common/lines.js';
import { readKernelTrace, TraceFormatError } from '../kernel-trace/parse.js';
import type { KernelTrace } from '../kernel-trace/types.js';

/**
 * Checks and counts the --trace files before the capture (their events are streamed again after it):
 * one that cannot be read, is empty or holds no trace event line is a usage error naming it.
 */
export function readKernelTraces(files: readonly string[]): KernelTrace[] {
  return files.map((file, i) => {
    try {
      if (!statSync(file).isFile()) throw new UsageError(`cannot read kernel trace ${file}: not a file`);
      return readKernelTrace(fileText(file), file, i);
    } catch (error) {
      if (error instanceof UsageError) throw error;
      if (error instanceof TraceFormatError) {
        if (isBlank(fileText(file))) throw new UsageError(`kernel trace ${file} is empty`);
        throw new UsageError(`kernel trace ${error.message}`);
      }
      const code = (error as NodeJS.ErrnoException).code;
      if (code) throw new UsageError(`cannot read kernel trace ${file}: ${code}`);
      throw error;
    }
  });
}
