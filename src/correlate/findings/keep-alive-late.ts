import { frameLabel } from '../../common/frame-ref.js';
import { seconds } from '../phrases.js';
import type { AssociationSummary } from '../types.js';
import { declareRule, type JsonSchema } from './declare.js';

export interface KeepAliveLateDetails {
  intervalMs: number;
  expectedMs: number;
  allowedMs: number;
  katoMs: number;
  katoSource: AssociationSummary['katoSource'];
  tbkas: boolean;
}

const SCHEMA: JsonSchema = {
  type: 'object',
  required: ['intervalMs', 'expectedMs', 'allowedMs', 'katoMs', 'katoSource', 'tbkas'],
  additionalProperties: false,
  properties: {
    intervalMs: { type: 'number' },
    expectedMs: { type: 'number' },
    allowedMs: { type: 'number' },
    katoMs: { type: 'integer' },
    katoSource: { enum: ['connect', '--kato', 'assumed'] },
    tbkas: { type: 'boolean' },
  },
};

/** The host's keep-alives came further apart than KATO allows (a warning past KATO itself). */
export const KEEP_ALIVE_LATE = declareRule<KeepAliveLateDetails, { assoc: number; frames: [number, number] }>()({
  id: 'keep-alive-late',
  noisy: false,
  details: { name: 'keepAliveLateDetails', schema: SCHEMA },
  severity: (d) => (d.intervalMs > d.katoMs ? 'warning' : 'info'),
  sentence(d, { assoc, frames }) {
    return `association ${assoc}: ${seconds(d.intervalMs)} between keep-alives (frames ${frameLabel(frames[0])} and ${frameLabel(frames[1])}); expected every ${seconds(d.expectedMs)} for KATO ${d.katoMs} ms${d.tbkas ? ' with traffic-based keep-alive' : ''}`;
  },
});
