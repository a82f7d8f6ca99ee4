/**
 * Frame references across captures. Reading several captures of the same traffic
 * (`--same-traffic`), a frame is named by its capture and its number there. Inside
 * the tool a reference stays one number, so every structure that holds a frame
 * (findings, evidence, command steps) holds one for any capture:
 *
 *   ref = capture × CAPTURE_STRIDE + frame
 *
 * Capture 0 is the host-side capture (or the only one): its references are its
 * frame numbers, so a single capture reads exactly as before. Capture 1 is the
 * target-side capture, captures 2 and up lie between. Reports name a reference
 * `target#148`; JSON writes `{capture, frame}` when there are several captures.
 */

/** Above any frame number a capture can hold (pcapng numbers frames in 32 bits at most in practice). */
export const CAPTURE_STRIDE = 2 ** 32;

export function frameRef(capture: number, frame: number): number {
  return capture * CAPTURE_STRIDE + frame;
}

export function captureOf(ref: number): number {
  return Math.floor(ref / CAPTURE_STRIDE);
}

export function frameOf(ref: number): number {
  return ref % CAPTURE_STRIDE;
}

/** The short name of capture `code`: host, target, then mid1, mid2 for points in between. */
export function captureLabel(code: number): string {
  return code === 0 ? 'host' : code === 1 ? 'target' : `mid${code - 1}`;
}

/** How a reference reads in text: the host capture's frames as plain numbers, the others `target#148`. */
export function frameLabel(ref: number | null): string {
  return ref === null || ref < CAPTURE_STRIDE ? String(ref) : `${captureLabel(captureOf(ref))}#${frameOf(ref)}`;
}

/** A reference in a table cell: `#161` for the host capture's frames, `target#148` for the others. */
export function frameTag(ref: number): string {
  return ref < CAPTURE_STRIDE ? `#${ref}` : frameLabel(ref);
}

/** A reference as JSON names it when several captures were read. */
export interface FrameRefJson {
  capture: string;
  frame: number;
}

export function frameRefJson(ref: number): FrameRefJson {
  return { capture: captureLabel(captureOf(ref)), frame: frameOf(ref) };
}

/**
 * Report fields that hold frame references (one list: the JSON writer converts them, the
 * schema test checks the schema types them): `frame`, `frames`, any name ending in `Frame`,
 * and `seenAt`. Counts that end in "Frames" (`truncatedFrames`) are not references.
 */
export function isFrameField(key: string): boolean {
  return key === 'frame' || key === 'frames' || key === 'seenAt' || key === 'firstLostFrames' || (key.endsWith('Frame') && key.length > 5);
}

/**
 * A copy of `value` with every frame reference as `{capture, frame}`: the JSON of an analysis of
 * several captures. Per-capture descriptions (`capture`, `captures`) hold counts named `frames`: left as they are.
 */
export function withFrameObjects(value: unknown, key = ''): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'number' && isFrameField(key) ? frameRefJson(value) : value;
  if (key === 'capture' || key === 'captures') return value;
  if (Array.isArray(value)) {
    const frames = isFrameField(key);
    return value.map((v) => (frames && typeof v === 'number' ? frameRefJson(v) : withFrameObjects(v)));
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = withFrameObjects(v, k);
  return out;
}
