
import { declareRule, type JsonSchema } from './declare.js';

export interface DigestMismatchDetails {
  type: string;
  header: boolean | null;
  data: boolean | null;
}

const SCHEMA: JsonSchema = {
  type: 'object',
  required: ['type', 'header', 'data'],
  additionalProperties: false,
  properties: { type: { type: 'string' }, header: { type: ['boolean', 'null'] }, data: { type: ['boolean', 'null'] } },
};

/** A header or data digest (CRC32C) that does not match the PDU's bytes. */
export const DIGEST_MISMATCH = declareRule<DigestMismatchDetails>()({
  id: 'digest-mismatch',
  noisy: true,
  details: { name: 'digestMismatchDetails', schema: SCHEMA },
  severity: () => 'error',
  sentence(d) {
    return `${d.header === false ? 'header' : 'data'} digest of ${d.type} does not match its bytes`;
  },
});
