import { frameLabel } from '../../common/frame-ref.js';
import { declareRule, type JsonSchema } from './declare.js';

export interface StaleDataDetails {
  originalFrame: number;
  retryFrame: number;
  dataFrame: number;
  datao: number;
  datal: number;
}

const SCHEMA: JsonSchema = {
  type: 'object',
  required: ['originalFrame', 'retryFrame', 'dataFrame', 'datao', 'datal'],
  additionalProperties: false,
  properties: {
    originalFrame: { $ref: '#/$defs/frameRef' },
    retryFrame: { $ref: '#/$defs/frameRef' },
    dataFrame: { $ref: '#/$defs/frameRef' },
    datao: { type: 'integer' },
    datal: { type: 'integer' },
  },
};

/** Write data for an original still sent on the old connection after its retry was submitted. */
export const STALE_DATA_AFTER_RETRY = declareRule<StaleDataDetails, { opcode: string; retryAssoc: number }>()({
  id: 'stale-data-after-retry',
  noisy: false,
  details: { name: 'staleDataDetails', schema: SCHEMA },
  severity: () => 'error',
  sentence(d, { opcode, retryAssoc }) {
    return `write data for ${opcode} (frame ${frameLabel(d.originalFrame)}) left on the old connection after its retry (frame ${frameLabel(d.retryFrame)}) was submitted on association ${retryAssoc}`;
  },
});
