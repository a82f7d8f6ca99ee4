import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/** Characters of a line kept: every NVMe message is far shorter; the rest of a longer line is skipped unread. */
export const MAX_LINE_CHARS = 8192;

/** A text file (kernel log, trace), readable from its start as often as needed: chunks of any size, split anywhere. */
export type LogText = () => Iterable<string>;

/** Bytes read at a time: a file of any size is streamed through one buffer. */
const CHUNK = 1 << 20;

/** The file's text, chunk by chunk, from its start each time it is asked for (UTF-8 split anywhere). */
export function fileText(file: string): LogText {
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

export function isBlank(text: LogText): boolean {
  for (const chunk of text()) if (chunk.trim() !== '') return false;
  return true;
}

/**
 * Lines of `text`, each cut to MAX_LINE_CHARS, with its 1-based number; `long` counts the cut ones.
 * A visit that returns false stops the reading there.
 * Holds one line at a time (never a whole file, never a whole long line).
 */
export function eachLine(text: LogText, visit: (line: string, n: number) => void | false): { lines: number; long: number } {
  let pending = '';
  let cut = false;
  let n = 0;
  let long = 0;
  const take = (chunk: string, from: number, to: number) => {
    if (cut) return;
    const room = MAX_LINE_CHARS - pending.length;
    if (to - from > room) {
      pending += chunk.slice(from, from + room);
      cut = true;
    } else pending += chunk.slice(from, to);
  };
  let stopped = false;
  const end = () => {
    n++;
    if (cut) long++;
    stopped = visit(pending.endsWith('\r') ? pending.slice(0, -1) : pending, n) === false;
    pending = '';
    cut = false;
  };
  for (const chunk of text()) {
    let from = 0;
    for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', from)) {
      take(chunk, from, nl);
      end();
      // Leaving the loop closes the text's file (its generator's finally).
      if (stopped) return { lines: n, long };
      from = nl + 1;
    }
    take(chunk, from, chunk.length);
  }
  if (pending !== '' || cut) end();
  return { lines: n, long };
}

/**
 * The same text, in a string of its own: a line is a slice of its whole read chunk (1 MiB), and a
 * string cut from it keeps that chunk alive for as long as it lives. For what outlives the line.
 * (Concatenating and slicing makes V8 flatten into a new string of the line's size.)
 */
export function ownText(text: string): string {
  return (' ' + text).slice(1);
}

/** A copy of a value read from a line whose strings hold none of the read text (see `ownText`). */
export function detached<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
