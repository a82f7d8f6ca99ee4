import { frameLabel } from '../../common/frame-ref.js';
import type { Direction } from '../../nvme-tcp/types.js';
import { dirName } from '../phrases.js';
import { declareRule, type JsonSchema } from './declare.js';

export type CaptureGapDetails =
  | { cause: 'not-captured'; conn: number; dir: Direction; streamOffset: number; bytes: number }
  | { cause: 'snaplen'; conn: number; bytes: number; segments: number; firstFrame: number };

const SCHEMA: JsonSchema = {
  oneOf: [
    {
      type: 'object',
      required: ['cause', 'conn', 'dir', 'streamOffset', 'bytes'],
      additionalProperties: false,
      properties: {
        cause: { const: 'not-captured' },
        conn: { type: 'integer' },
        dir: { enum: ['h2c', 'c2h'] },
        streamOffset: { type: 'integer' },
        bytes: { type: 'integer' },
      },
    },
    {
      type: 'object',
      required: ['cause', 'conn', 'bytes', 'segments', 'firstFrame'],
      additionalProperties: false,
      properties: {
        cause: { const: 'snaplen' },
        conn: { type: 'integer' },
        bytes: { type: 'integer' },
        segments: { type: 'integer' },
        firstFrame: { $ref: '#/$defs/frameRef' },
      },
    },
  ],
};

/** Bytes of a connection the capture does not hold (never captured, or cut by the snapshot length): verdicts near them are uncertain. */
export const CAPTURE_GAP = declareRule<CaptureGapDetails>()({
  id: 'capture-gap',
  noisy: true,
  details: { name: 'captureGapDetails', schema: SCHEMA },
  severity: () => 'warning',
  sentence(d) {
    if (d.cause === 'snaplen') {
      return `connection ${d.conn}: ${d.bytes} bytes in ${d.segments} segments were cut by the capture's snapshot length (first in frame ${frameLabel(d.firstFrame)}); commands whose PDUs were cut are undecidable`;
    }
    return `${d.bytes} bytes ${dirName(d.dir)} on connection ${d.conn} were not captured (stream offset ${d.streamOffset}); verdicts on its commands are uncertain`;
  },
});
