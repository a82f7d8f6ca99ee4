import { frameLabel } from '../../common/frame-ref.js';
import { hex } from '../../common/text.js';
import type { KernelLine, TraceLineRef } from '../types.js';
import type { RetryRuleId } from './retry.js';
import { declareRule, PLACED_LINE_SCHEMA, type JsonSchema } from './declare.js';

export interface TimeoutDuringRecoveryDetails {
  opcode: string;
  qid: number;
  cid: number;
  submitFrame: number;
  /** The timeout line, and the line that had started error recovery before it. */
  timeout: KernelLine;
  recoveryStarted: KernelLine;
  /** The retry finding of this command, if it was retried: its rule and frame. */
  retry: { ruleId: RetryRuleId; frame: number } | null;
  /** With --trace: the host's nvme_complete_rq for the command, the exact moment it was failed back. */
  failedBack?: TraceLineRef & { status: number; statusName: string };
}

const SCHEMA: JsonSchema = {
  type: 'object',
  required: ['opcode', 'qid', 'cid', 'submitFrame', 'timeout', 'recoveryStarted', 'retry'],
  additionalProperties: false,
  properties: {
    opcode: { type: 'string' },
    qid: { type: 'integer' },
    cid: { type: 'integer' },
    submitFrame: { $ref: '#/$defs/frameRef' },
    timeout: { $ref: '#/$defs/kernelLine' },
    recoveryStarted: { $ref: '#/$defs/kernelLine' },
    retry: {
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          required: ['ruleId', 'frame'],
          additionalProperties: false,
          properties: { ruleId: { enum: ['retry-before-kato', 'retry-after-kato', 'retry-after-fence'] }, frame: { $ref: '#/$defs/frameRef' } },
        },
      ],
    },
    failedBack: {
      type: 'object',
      required: [...PLACED_LINE_SCHEMA.required, 'status', 'statusName'],
      additionalProperties: false,
      properties: {
        ...PLACED_LINE_SCHEMA.properties,
        status: { type: 'integer' },
        statusName: { type: 'string' },
      },
    },
  },
};

/** A command that timed out after error recovery had started: the host failed it at once instead of waiting (kernel log). */
export const TIMEOUT_DURING_RECOVERY = declareRule<TimeoutDuringRecoveryDetails, { dataChanging: boolean }>()({
  id: 'timeout-during-recovery',
  noisy: false,
  details: { name: 'timeoutDuringRecoveryDetails', schema: SCHEMA },
  severity: (d, f) => (f.dataChanging && d.retry?.ruleId === 'retry-before-kato' ? 'error' : 'warning'),
  sentence(d) {
    const retried = d.retry ? `; retried in frame ${frameLabel(d.retry.frame)} (${d.retry.ruleId})` : '';
    return `${d.opcode} CID ${hex(d.cid)} on queue ${d.qid} (frame ${frameLabel(d.submitFrame)}) timed out after error recovery had started (kernel log lines ${d.recoveryStarted.line} and ${d.timeout.line}): the host failed it at once instead of waiting${retried}`;
  },
});
