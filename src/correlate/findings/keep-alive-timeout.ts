import { frameLabel } from '../../common/frame-ref.js';
import { seconds } from '../phrases.js';
import type { AssociationSummary } from '../types.js';
import { declareRule, type JsonSchema } from './declare.js';

export interface KeepAliveTimeoutDetails {
  silentMs: number;
  katoMs: number;
  katoSource: AssociationSummary['katoSource'];
  lastControllerContactFrame: number;
  untilFrame: number;
  keepAlivesUnanswered: number;
}

const SCHEMA: JsonSchema = {
  type: 'object',
  required: ['silentMs', 'katoMs', 'katoSource', 'lastControllerContactFrame', 'untilFrame', 'keepAlivesUnanswered'],
  additionalProperties: false,
  properties: {
    silentMs: { type: 'number' },
    katoMs: { type: 'integer' },
    katoSource: { enum: ['connect', '--kato', 'assumed'] },
    lastControllerContactFrame: { $ref: '#/$defs/frameRef' },
    untilFrame: { $ref: '#/$defs/frameRef' },
    keepAlivesUnanswered: { type: 'integer' },
  },
};

/** The controller sent nothing for longer than KATO while the association was open. */
export const KEEP_ALIVE_TIMEOUT = declareRule<KeepAliveTimeoutDetails, { assoc: number }>()({
  id: 'keep-alive-timeout',
  noisy: false,
  details: { name: 'keepAliveTimeoutDetails', schema: SCHEMA },
  severity: () => 'warning',
  sentence(d, { assoc }) {
    return `association ${assoc}: no packet from the controller for ${seconds(d.silentMs)} (frames ${frameLabel(d.lastControllerContactFrame)}–${frameLabel(d.untilFrame)}) while the association was open; KATO is ${d.katoMs} ms (${d.katoSource})`;
  },
});
