import { statSync } from 'node:fs';
import { UsageError } from '../common/errors.js';
import { fileText, isBlank, type LogText } from '../common/lines.js';

/**
 * Opens the text inputs given beside a capture (--dmesg, --trace) with `read`: one that cannot be
 * read, is empty or is not of its kind (`read` throws `FormatError`) is a usage error naming it.
 */
export function readTextInputs<T>(what: string, files: readonly string[], read: (text: LogText, file: string, i: number) => T, FormatError: new (...args: never[]) => Error): T[] {
  return files.map((file, i) => {
    try {
      if (!statSync(file).isFile()) throw new UsageError(`cannot read ${what} ${file}: not a file`);
      return read(fileText(file), file, i);
    } catch (error) {
      if (error instanceof UsageError) throw error;
      if (error instanceof FormatError) {
        if (isBlank(fileText(file))) throw new UsageError(`${what} ${file} is empty`);
        throw new UsageError(`${what} ${error.message}`);
      }
      // A read that fails (ENOENT, EIO, EISDIR half-way) names the file; anything else is a bug.
      const code = (error as NodeJS.ErrnoException).code;
      if (code) throw new UsageError(`cannot read ${what} ${file}: ${code}`);
      throw error;
    }
  });
}
