import type { Direction } from '../../nvme-tcp/types.js';
import { declareRule, type JsonSchema } from './declare.js';

export type UnknownPduDetails =
  | { kind: 'unknown-type'; type: number; plen: number; hlen: number; dir: Direction }
  | { kind: 'garbage' | 'resync'; conn: number; dir: Direction; streamOffset: number; bytes: number };

const SCHEMA: JsonSchema = {
  oneOf: [
    {
      type: 'object',
      required: ['kind', 'type', 'plen', 'hlen', 'dir'],
      additionalProperties: false,
      properties: {
        kind: { const: 'unknown-type' },
        type: { type: 'integer' },
        plen: { type: 'integer' },
        hlen: { type: 'integer' },
        dir: { enum: ['h2c', 'c2h'] },
      },
    },
    {
      type: 'object',
      required: ['kind', 'conn', 'dir', 'streamOffset', 'bytes'],
      additionalProperties: false,
      properties: {
        kind: { enum: ['garbage', 'resync'] },
        conn: { type: 'integer' },
        dir: { enum: ['h2c', 'c2h'] },
        streamOffset: { type: 'integer' },
        bytes: { type: 'integer' },
      },
    },
  ],
};

/** A PDU of no known type, or bytes the framer could not read as PDUs (garbage, a resynchronisation). */
export const UNKNOWN_PDU = declareRule<UnknownPduDetails, { conn: number; text: string }>()({
  id: 'unknown-pdu',
  noisy: true,
  details: { name: 'unknownPduDetails', schema: SCHEMA },
  severity: () => 'warning',
  sentence(d, { conn, text }) {
    if (d.kind === 'unknown-type') return `unknown PDU type 0x${d.type.toString(16)} (${d.plen} bytes) on connection ${conn}`;
    return `connection ${d.conn} ${d.dir}: ${text} (stream offset ${d.streamOffset})`;
  },
});
