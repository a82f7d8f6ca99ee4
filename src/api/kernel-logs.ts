import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { UsageError } from '../common/errors.js';
import { LogFormatError, readKernelLog, type LogText } from '../kernel-log/parse.js';
import type { KernelLog } from '../kernel-log/types.js';

/** Bytes read at a time: a log of any size is streamed through one buffer. */
const CHUNK = 1 << 20;

/** The file's text, chunk by chunk, from its start each time it is asked for (UTF-8 split anywhere). */
function fileText(file: string): LogText {
  return function* () {
    const fd = openSync(file, 'r');
    try {
      const buffer = Buffer.allocUnsafe(CHUNK);
      const decoder = new StringDecoder('utf8');
      for (let n = readSync(fd, buffer, 0, CHUNK, null); n > 0; n = readSync(fd, buffer, 0, CHUNK, null)) yield decoder.write(buffer.subarray(0, n));
      const rest = decoder.end();
      if (rest) yield rest;
    } finally {
      closeSync(fd);
    }
  };
}

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

function isBlank(text: LogText): boolean {
  for (const chunk of text()) if (chunk.trim() !== '') return false;
  return true;
}
