/**
 * Makes capture-derived text safe to print: control characters (C0, DEL, C1)
 * become \xNN so a crafted NQN cannot drive the terminal.
 */
export function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Reads a NUL-padded ASCII/UTF-8 string field (NQNs, serials) from bytes. */
export function readFixedString(bytes: Uint8Array, start: number, length: number): string {
  let end = start;
  const limit = Math.min(start + length, bytes.length);
  while (end < limit && bytes[end] !== 0) end++;
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(start, end)).trimEnd();
}

export function hex(value: number, digits = 4): string {
  return '0x' + value.toString(16).padStart(digits, '0');
}

/** "1 frame", "2 frames": for nouns whose plural just adds an s. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
