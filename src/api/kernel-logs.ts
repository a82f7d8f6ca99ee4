import { statSync } from 'node:fs';
import { fileText, isBlank } from '../common/lines.js';
import { UsageError } from '../common/errors.js';
import { LogFormatError, readKernelLog } from '../kernel-log/parse.js';
import type { KernelLog } from '../kernel-log/types.js';

/**
 * Reads the --dmesg files before the capture (what alignment needs; the lines themselves are read
 * again after it): one that cannot be read, is empty or is not a kernel log is a usage error naming it.
 */
export async function readKernelLogs(files: readonly string[]): Promise<KernelLog[]> {
  const logs: KernelLog[] = [];
  for (const [i, file] of files.entries()) {
    try {
      if (!statSync(file).isFile()) throw new UsageError(`cannot read kernel log ${file}: not a file`);
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(`cannot read kernel log ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    let log: KernelLog;
    try {
      log = readKernelLog(fileText(file), file, i);
    } catch (error) {
      if (error instanceof LogFormatError) {
        if (isBlank(fileText(file))) throw new UsageError(`kernel log ${file} is empty`);
        throw new UsageError(`kernel log ${error.message}`);
      }
      // A read that fails half-way (EIO, EISDIR) names the file; anything else is a bug.
      const code = (error as NodeJS.ErrnoException).code;
      if (code) throw new UsageError(`cannot read kernel log ${file}: ${code}`);
      throw error;
    }
    logs.push(log);
  }
  return logs;
}
