/**
 * A progress line on stderr for long runs: bytes of the total when the size is
 * known, a spinner for pipes. Only on a terminal, only after a second.
 */
export class Progress {
  private readonly start = Date.now();
  private lastDraw = 0;
  private shown = false;
  private spin = 0;

  constructor(
    private readonly label: string,
    private readonly enabled: boolean,
  ) {}

  static forStderr(label: string, quiet: boolean | undefined): Progress {
    return new Progress(label, !quiet && process.stderr.isTTY === true);
  }

  update(bytes: number, total: number | undefined): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.start < 1000 || now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.shown = true;
    const mb = (bytes / 1e6).toFixed(0);
    const rate = (bytes / 1e6 / ((now - this.start) / 1000)).toFixed(0);
    let line: string;
    if (total) {
      const width = 30;
      const done = Math.min(width, Math.round((bytes / total) * width));
      line = `${this.label} [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${((bytes / total) * 100).toFixed(0)}% ${mb}/${(total / 1e6).toFixed(0)} MB ${rate} MB/s`;
    } else {
      line = `${this.label} ${'|/-\\'[this.spin++ % 4]} ${mb} MB ${rate} MB/s`;
    }
    process.stderr.write(`\r${line}\x1b[K`);
  }

  done(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
  }
}
