import { LogFormatError, readKernelLog } from '../kernel-log/parse.js';
import type { KernelLog } from '../kernel-log/types.js';
import { readTextInputs } from './text-inputs.js';

/**
 * Reads the --dmesg files before the capture (what alignment needs; the lines themselves are read
 * again after it): one that cannot be read, is empty or is not a kernel log is a usage error naming it.
 */
export function readKernelLogs(files: readonly string[]): KernelLog[] {
  return readTextInputs('kernel log', files, readKernelLog, LogFormatError);
}
