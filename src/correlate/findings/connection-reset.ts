
import { declareRule, type JsonSchema } from './declare.js';

export interface ConnectionResetDetails {
  from: 'host' | 'controller';
  inFlight: { cid: number; opcode: string; frame: number }[];
}

const SCHEMA: JsonSchema = {
  type: 'object',
  required: ['from', 'inFlight'],
  additionalProperties: false,
  properties: {
    from: { enum: ['host', 'controller'] },
    inFlight: {
      type: 'array',
      items: {
        type: 'object',
        required: ['cid', 'opcode', 'frame'],
        additionalProperties: false,
        properties: { cid: { type: 'integer' }, opcode: { type: 'string' }, frame: { $ref: '#/$defs/frameRef' } },
      },
    },
  },
};

/** A TCP RST with commands in flight. */
export const CONNECTION_RESET = declareRule<ConnectionResetDetails, { conn: number; outOfWindow: boolean }>()({
  id: 'connection-reset',
  noisy: true,
  details: { name: 'connectionResetDetails', schema: SCHEMA },
  severity: () => 'warning',
  sentence(d, { conn, outOfWindow }) {
    return `${d.from} reset connection ${conn} with ${d.inFlight.length} command(s) in flight${outOfWindow ? ' (the RST lay outside the receiver\'s window: it was discarded)' : ''}`;
  },
});
