import type { Writable } from 'node:stream';

/**
 * Buffers lines and writes them in large pieces, waiting for the stream to
 * drain between capture chunks so a slow reader (a pipe into `less`) bounds
 * our memory instead of growing it.
 */
export class LineWriter {
  private parts: string[] = [];
  private size = 0;
  private closed = false;

  constructor(private readonly stream: Writable) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      // The reader went away (`| head`): stop writing, not an error of ours.
      if (error.code === 'EPIPE') this.closed = true;
      else throw error;
    });
  }

  line(text: string): void {
    if (this.closed) return;
    this.parts.push(text);
    this.size += text.length + 1;
  }

  async flush(): Promise<void> {
    if (this.closed || this.parts.length === 0) return;
    const chunk = this.parts.join('\n') + '\n';
    this.parts = [];
    this.size = 0;
    if (!this.stream.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.stream.off('drain', done);
          this.stream.off('close', done);
          resolve();
        };
        this.stream.on('drain', done);
        this.stream.on('close', done);
      });
    }
  }

  get pending(): number {
    return this.size;
  }
}
