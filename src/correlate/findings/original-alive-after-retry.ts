import { frameLabel } from '../../common/frame-ref.js';
import { activityLabel, commandLabel } from '../phrases.js';
import type { AfterRetryActivity } from '../types.js';
import { RETRY_IDENTITY_SCHEMA, type RetryIdentity } from './retry.js';
import { declareRule, type JsonSchema } from './declare.js';

export interface OriginalAliveDetails extends RetryIdentity {
  retryTime: number;
  activity: AfterRetryActivity[];
}

const SCHEMA: JsonSchema = {
  type: 'object',
  required: [
    ...RETRY_IDENTITY_SCHEMA.required,
    'retryTime',
    'activity',
  ],
  additionalProperties: false,
  properties: {
    ...RETRY_IDENTITY_SCHEMA.properties,
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
