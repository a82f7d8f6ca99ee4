import { frameLabel } from '../../common/frame-ref.js';
import { commandLabel } from '../phrases.js';
import type { TraceLineRef } from '../types.js';
import { RETRY_IDENTITY_SCHEMA, type RetryIdentity } from './retry.js';
import { declareRule, type JsonSchema } from './declare.js';

export interface DuplicateExecutionDetails extends RetryIdentity {
  /** The original's completion the capture saw after the host closed its queue; null when only the target's trace shows it ran. */
  lateCompletionFrame: number | null;
  lateCompletionTime: number | null;
  hostClosedFrame: number | null;
  /** With --trace: the target's own lines completing the original and the retry. */
  targetTrace?: { original: TraceLineRef; retry: TraceLineRef | null };
  /** With a target-side capture (--same-traffic): the frames where it shows each arriving and its completion leaving. */
  targetCapture?: { originalArrived: number; originalCompleted: number; retryArrived: number; retryCompleted: number | null };
}

/** The sentence, written again when the kernel trace adds the target's lines. */
export function duplicateExecutionSentence(d: DuplicateExecutionDetails): string {
  const t = d.targetTrace;
  const traced = t ? `target trace line${t.retry ? `s ${t.original.line} and ${t.retry.line}` : ` ${t.original.line}`}` : '';
  const c = d.targetCapture;
  if (d.lateCompletionFrame === null && c) {
    const retryDone = c.retryCompleted === null ? '' : ` and completing it (frame ${frameLabel(c.retryCompleted)})`;
    return `${commandLabel(d)} ran twice: the target capture shows the controller receiving the original (frame ${frameLabel(c.originalArrived)}) and completing it (frame ${frameLabel(c.originalCompleted)}), then receiving the retry (frame ${frameLabel(c.retryArrived)})${retryDone}; the host resubmitted it in frame ${frameLabel(d.retryFrame)} and never saw the original's completion${t ? `; executed twice per the ${traced} too` : ''}`;
  }
  if (d.lateCompletionFrame === null) {
    return `${commandLabel(d)} ran twice: the target's own trace shows it completed the original and the retry (${traced}); the host resubmitted it in frame ${frameLabel(d.retryFrame)} and never saw the original's completion`;
  }
  return `${commandLabel(d)} ran twice: the controller completed the original (frame ${frameLabel(d.lateCompletionFrame)}) after the host closed its queue, and the host resubmitted it (frame ${frameLabel(d.retryFrame)})${t ? `; executed twice per the ${traced}` : ''}`;
}

const SCHEMA: JsonSchema = {
  type: 'object',
  required: [
    ...RETRY_IDENTITY_SCHEMA.required,
    'lateCompletionFrame',
    'lateCompletionTime',
    'hostClosedFrame',
  ],
  additionalProperties: false,
  properties: {
    ...RETRY_IDENTITY_SCHEMA.properties,
    lateCompletionFrame: { oneOf: [{ type: 'null' }, { $ref: '#/$defs/frameRef' }] },
    lateCompletionTime: { type: ['number', 'null'] },
    hostClosedFrame: { oneOf: [{ type: 'null' }, { $ref: '#/$defs/frameRef' }] },
    targetTrace: {
      type: 'object',
      required: ['original', 'retry'],
      additionalProperties: false,
      properties: { original: { $ref: '#/$defs/traceLine' }, retry: { oneOf: [{ type: 'null' }, { $ref: '#/$defs/traceLine' }] } },
    },
    targetCapture: {
      type: 'object',
      required: ['originalArrived', 'originalCompleted', 'retryArrived', 'retryCompleted'],
      additionalProperties: false,
      properties: {
        originalArrived: { $ref: '#/$defs/frameRef' },
        originalCompleted: { $ref: '#/$defs/frameRef' },
        retryArrived: { $ref: '#/$defs/frameRef' },
        retryCompleted: { oneOf: [{ type: 'null' }, { $ref: '#/$defs/frameRef' }] },
      },
    },
  },
};

/** A retried command the controller ran twice: its original completed after the host closed its queue, or the target's capture or trace shows both run. */
export const DUPLICATE_EXECUTION = declareRule<DuplicateExecutionDetails, { dataChanging: boolean }>()({
  id: 'duplicate-execution',
  noisy: false,
  details: { name: 'duplicateExecutionDetails', schema: SCHEMA },
  severity: (_d, f) => (f.dataChanging ? 'error' : 'info'),
  sentence(d) {
  return duplicateExecutionSentence(d);
  },
});
