import { frameLabel } from '../../common/frame-ref.js';
import { hex } from '../../common/text.js';
import { declareRule, type JsonSchema } from './declare.js';

export interface CidReuseDetails {
  previousFrame: number;
  previousOpcode: string;
}

const SCHEMA: JsonSchema = {
  type: 'object',
  required: ['previousFrame', 'previousOpcode'],
  additionalProperties: false,
  properties: { previousFrame: { $ref: '#/$defs/frameRef' }, previousOpcode: { type: 'string' } },
};

/** A CID reused on a queue while the command that held it had no completion. */
export const CID_REUSE_IN_FLIGHT = declareRule<CidReuseDetails, { cid: number; qid: number | null }>()({
  id: 'cid-reuse-in-flight',
  noisy: true,
  details: { name: 'cidReuseDetails', schema: SCHEMA },
  severity: () => 'error',
  sentence(d, { cid, qid }) {
    return `CID ${hex(cid)} reused on queue ${qid ?? '?'} while ${d.previousOpcode} (frame ${frameLabel(d.previousFrame)}) had no completion`;
  },
});
