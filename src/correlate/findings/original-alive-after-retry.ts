import { frameLabel } from '../../common/frame-ref.js';
import { activityLabel, commandLabel } from '../phrases.js';
import type { AfterRetryActivity } from '../types.js';
import type { RetryIdentity } from './retry.js';
import { declareRule, type JsonSchema } from './declare.js';

export interface OriginalAliveDetails extends RetryIdentity {
  retryTime: number;
  activity: AfterRetryActivity[];
}

const SCHEMA: JsonSchema = {
  type: 'object',
  required: [
    'originalFrame',
    'originalTime',
    'retryFrame',
    'originalAssoc',
    'retryAssoc',
    'originalQid',
    'originalCid',
    'opcode',
    'nsid',
    'slba',
    'nlb',
    'retryTime',
    'activity',
  ],
  additionalProperties: false,
  properties: {
    originalFrame: { $ref: '#/$defs/frameRef' },
    originalTime: { type: 'number' },
    retryFrame: { $ref: '#/$defs/frameRef' },
    originalAssoc: { type: 'integer' },
    retryAssoc: { type: 'integer' },
    originalQid: { type: ['integer', 'null'] },
    originalCid: { type: 'integer' },
    opcode: { type: 'string' },
    nsid: { type: 'integer' },
    slba: { type: ['integer', 'null'] },
    nlb: { type: ['integer', 'null'] },
    retryTime: { type: 'number' },
    activity: { type: 'array', items: { $ref: '#/$defs/afterRetryActivity' } },
  },
};

/** The old controller still worked on an original (R2T, C2HData, its completion) after its retry was sent. */
export const ORIGINAL_ALIVE_AFTER_RETRY = declareRule<OriginalAliveDetails, { dataChanging: boolean }>()({
  id: 'original-alive-after-retry',
  noisy: false,
  details: { name: 'originalAliveDetails', schema: SCHEMA },
  severity: (_d, f) => (f.dataChanging ? 'error' : 'warning'),
  sentence(d) {
    const first = d.activity[0];
    const more = d.activity.length > 1 ? ` and ${d.activity.length - 1} more` : '';
    return `${commandLabel(d)} (frame ${frameLabel(d.originalFrame)}) was still alive on association ${d.originalAssoc} after its retry (frame ${frameLabel(d.retryFrame)}): the controller sent ${activityLabel(first)}${more}`;
  },
});
