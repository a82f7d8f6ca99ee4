/**
 * Largest and smallest of a list, by a loop: `Math.max(...list)` passes every element as an
 * argument and overflows the stack past ~100,000 of them.
 */
export function maxOf(values: Iterable<number>, empty = -Infinity): number {
  let best = empty;
  let any = false;
  for (const v of values) {
    if (!any || v > best) best = v;
    any = true;
  }
  return best;
}

export function minOf(values: Iterable<number>, empty = Infinity): number {
  let best = empty;
  let any = false;
  for (const v of values) {
    if (!any || v < best) best = v;
    any = true;
  }
  return best;
}

/** Appends every element of `items` to `list` without spreading them into arguments. */
export function append<T>(list: T[], items: Iterable<T>): T[] {
  for (const x of items) list.push(x);
  return list;
}

/** The middle value (the mean of the two middle ones for an even count); `empty` for no values. */
export function median(values: readonly number[], empty = 0): number {
  if (values.length === 0) return empty;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Milliseconds to the microsecond, as the report carries them. */
export function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Seconds to the microsecond, as the report carries them. */
export function round6(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e6;
}

/** A span in seconds as milliseconds to the microsecond. */
export function msOf(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e3;
}
