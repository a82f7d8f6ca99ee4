import { readKernelTrace, TraceFormatError } from '../kernel-trace/parse.js';
import type { KernelTrace } from '../kernel-trace/types.js';
import { readTextInputs } from './text-inputs.js';

/** Checks the --trace files before the capture (their events are streamed after it); see readTextInputs. */
export function readKernelTraces(files: readonly string[]): KernelTrace[] {
  return readTextInputs('kernel trace', files, readKernelTrace, TraceFormatError);
}
