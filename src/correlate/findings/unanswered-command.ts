import { frameLabel } from '../../common/frame-ref.js';
import type { Outcome } from '../types.js';
import { declareRule, type JsonSchema } from './declare.js';

export interface UnansweredDetails {
  opcode: string;
  outcome: Outcome;
  submitFrame: number;
  closeFrame: number | null;
  retried: boolean;
}

const SCHEMA: JsonSchema = {
  type: 'object',
  required: ['opcode', 'outcome', 'submitFrame', 'closeFrame', 'retried'],
  additionalProperties: false,
  properties: {
    opcode: { type: 'string' },
    outcome: { enum: ['completed', 'error', 'unanswered-at-close', 'unanswered-at-end', 'undecidable'] },
    submitFrame: { $ref: '#/$defs/frameRef' },
    closeFrame: { oneOf: [{ type: 'null' }, { $ref: '#/$defs/frameRef' }] },
    retried: { type: 'boolean' },
  },
};

/** A command that got no completion before its connection closed (a warning) or the capture ended. */
export const UNANSWERED_COMMAND = declareRule<UnansweredDetails, { label: string }>()({
  id: 'unanswered-command',
  noisy: true,
  details: { name: 'unansweredDetails', schema: SCHEMA },
  severity: (d) => (d.outcome === 'unanswered-at-close' ? 'warning' : 'info'),
  sentence(d, { label }) {
    const why = d.outcome === 'unanswered-at-end' ? 'before the capture ended'
      : d.outcome === 'undecidable' ? '(bytes missing from the capture: its completion may be among them)'
      : `before the connection closed (frame ${frameLabel(d.closeFrame)})`;
    return `${label} (frame ${frameLabel(d.submitFrame)}) got no completion ${why}`;
  },
});
