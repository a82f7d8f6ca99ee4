import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { captureLabel, CAPTURE_STRIDE, frameLabel, frameRef, frameTag, isFrameField, withFrameObjects } from './frame-ref.js';

const schema = JSON.parse(readFileSync(new URL('../../schema/report.schema.json', import.meta.url), 'utf8'));

/** Every property of the schema whose name says it holds a frame, with where it is. */
function frameProperties(node: unknown, path: string, out: { path: string; schema: unknown }[], inCapture = false): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) return node.forEach((n, i) => frameProperties(n, `${path}[${i}]`, out, inCapture));
  const o = node as Record<string, unknown>;
  if (o.properties && typeof o.properties === 'object') {
    for (const [k, v] of Object.entries(o.properties as Record<string, unknown>)) {
      if (!inCapture && isFrameField(k)) out.push({ path: `${path}.${k}`, schema: v });
      frameProperties(v, `${path}.${k}`, out, inCapture || k === 'capture' || k === 'captures');
    }
  }
  for (const [k, v] of Object.entries(o)) if (k !== 'properties') frameProperties(v, `${path}.${k}`, out, inCapture);
}

describe('frame references', () => {
  it('a reference names its capture; the host capture\'s read as plain frame numbers', () => {
    expect(frameRef(0, 161)).toBe(161);
    expect(frameLabel(161)).toBe('161');
    expect(frameLabel(frameRef(1, 148))).toBe('target#148');
    expect(frameTag(161)).toBe('#161');
    expect(frameTag(frameRef(1, 148))).toBe('target#148');
    expect(captureLabel(2)).toBe('mid1');
    expect(frameRef(1, 0)).toBe(CAPTURE_STRIDE);
  });

  it('JSON writes {capture, frame} for every frame field, and leaves the per-capture counts alone', () => {
    const view = withFrameObjects({ capture: { frames: 10 }, frames: [1, frameRef(1, 2)], retryFrame: 3, truncatedFrames: 4, x: { seenAt: frameRef(1, 5), evidence: [{ frame: 6 }] } });
    expect(view).toEqual({
      capture: { frames: 10 }, frames: [{ capture: 'host', frame: 1 }, { capture: 'target', frame: 2 }], retryFrame: { capture: 'host', frame: 3 }, truncatedFrames: 4,
      x: { seenAt: { capture: 'target', frame: 5 }, evidence: [{ frame: { capture: 'host', frame: 6 } }] },
    });
  });

  it('the schema types every field the JSON writer converts as a frame reference', () => {
    const found: { path: string; schema: unknown }[] = [];
    // The reference's own definition holds a plain frame number.
    frameProperties({ ...schema, $defs: { ...schema.$defs, frameRef: undefined } }, '$', found);
    expect(found.length).toBeGreaterThan(50);
    const untyped = found.filter(({ schema: s }) => !JSON.stringify(s).includes('#/$defs/frameRef'));
    expect(untyped.map((u) => u.path)).toEqual([]);
  });
});
