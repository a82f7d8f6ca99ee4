import { readFile } from 'node:fs/promises';
import { UsageError } from '../common/errors.js';
import { LogFormatError, parseKernelLog } from '../kernel-log/parse.js';
import type { KernelLog } from '../kernel-log/types.js';

/** Reads the --dmesg files before the capture: one that cannot be read, is empty or is not a kernel log is a usage error naming it. */
export async function readKernelLogs(files: readonly string[]): Promise<KernelLog[]> {
  const logs: KernelLog[] = [];
  for (const [i, file] of files.entries()) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read kernel log ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (text.trim() === '') throw new UsageError(`kernel log ${file} is empty`);
    try {
      logs.push(parseKernelLog(text, file, i));
    } catch (error) {
      if (error instanceof LogFormatError) throw new UsageError(`kernel log ${error.message}`);
      throw error;
    }
  }
  return logs;
}
