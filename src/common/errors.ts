/** Exit codes, one place: the CLI maps errors and verdicts to these. */
export const ExitCode = {
  clean: 0,
  findings: 1,
  usage: 2,
  unreadableCapture: 3,
  internal: 70,
} as const;

/** The input cannot be read as a capture at all (not a capture, unreadable file, unsupported link type). */
export class CaptureError extends Error {
  readonly exitCode = ExitCode.unreadableCapture;
  constructor(
    readonly file: string,
    readonly byteOffset: number | undefined,
    readonly problem: string,
  ) {
    super(byteOffset === undefined ? `${file}: ${problem}` : `${file}: byte ${byteOffset}: ${problem}`);
    this.name = 'CaptureError';
  }
}

/** The user asked for something that cannot be done (bad option value, unknown command). */
export class UsageError extends Error {
  readonly exitCode = ExitCode.usage;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
