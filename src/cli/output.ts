import { constants } from 'node:fs';
import { access, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { UsageError } from '../common/errors.js';

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

  /**
   * Between capture chunks: writes out a large enough buffer, and stops the
   * run once the reader has gone away (`pdus big.pcap | head`), which would
   * otherwise go on decoding the whole capture for nobody.
   */
  betweenChunks(): Promise<void> | undefined {
    if (this.closed) throw new ReaderGone();
    return this.size > 1 << 18 ? this.flush() : undefined;
  }
}

/** The process reading our output closed it: a normal end, not an error. */
export class ReaderGone extends Error {
  constructor() {
    super('the reader of the output went away');
    this.name = 'ReaderGone';
  }
}

/**
 * Checks that every output file can be written before the capture is read:
 * a mistyped directory fails at once, not after minutes of analysis.
 */
export async function checkOutputFiles(paths: (string | undefined)[]): Promise<void> {
  for (const path of paths) {
    if (path === undefined) continue;
    try {
      const existing = await stat(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (existing?.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      await access(existing ? path : dirname(resolve(path)), constants.W_OK);
    } catch (error) {
      throw outputError(path, error);
    }
  }
}

export async function writeOutputFile(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text);
  } catch (error) {
    throw outputError(path, error);
  }
}

function outputError(path: string, error: unknown): UsageError {
  const e = error as NodeJS.ErrnoException;
  const reason = e.code === 'ENOENT' || e.code === 'ENOTDIR' ? 'no such file or directory'
    : e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS' ? 'permission denied'
      : e.code === 'EISDIR' ? 'is a directory' : e.message;
  return new UsageError(`cannot write ${path}: ${reason}`);
}
