import { hex } from '../../common/text.js';
import { declareRule, type JsonSchema } from './declare.js';

export interface TermReqDetails {
  type: string;
  fes: number;
  fesName: string | null;
  fei: number | null;
}

const SCHEMA: JsonSchema = {
  type: 'object',
  required: ['type', 'fes', 'fesName', 'fei'],
  additionalProperties: false,
  properties: { type: { type: 'string' }, fes: { type: 'integer' }, fesName: { type: ['string', 'null'] }, fei: { type: ['integer', 'null'] } },
};

/** A H2CTermReq or C2HTermReq: one side ended the connection on a fatal transport error. */
export const TERM_REQ = declareRule<TermReqDetails, { conn: number }>()({
  id: 'term-req',
  noisy: false,
  details: { name: 'termReqDetails', schema: SCHEMA },
  severity: () => 'error',
  sentence(d, { conn }) {
    return `${d.type} on connection ${conn}: fatal error status ${hex(d.fes)} (${d.fesName ?? 'unknown'})`;
  },
});
