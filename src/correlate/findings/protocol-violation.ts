
import { declareRule, type JsonSchema } from './declare.js';

export interface ProtocolViolationDetails {
  type: string;
  violation: string;
}

const SCHEMA: JsonSchema = {
  type: 'object',
  required: ['type', 'violation'],
  additionalProperties: false,
  properties: { type: { type: 'string' }, violation: { type: 'string' } },
};

/** A PDU header that broke a rule of the transport binding. */
export const PROTOCOL_VIOLATION = declareRule<ProtocolViolationDetails, { conn: number }>()({
  id: 'protocol-violation',
  noisy: true,
  details: { name: 'protocolViolationDetails', schema: SCHEMA },
  severity: () => 'error',
  sentence(d, { conn }) {
  return `${d.type} on connection ${conn}: ${d.violation}`;
  },
});
