import { frameLabel } from '../../common/frame-ref.js';
import { declareRule, type JsonSchema } from './declare.js';

export interface ErrorStatusDetails {
  opcode: string;
  sct: number;
  sc: number;
  status: string;
  crd: number;
  more: boolean;
  dnr: boolean;
}

const SCHEMA: JsonSchema = {
  type: 'object',
  required: ['opcode', 'sct', 'sc', 'status', 'crd', 'more', 'dnr'],
  additionalProperties: false,
  properties: {
    opcode: { type: 'string' },
    sct: { type: 'integer' },
    sc: { type: 'integer' },
    status: { type: 'string' },
    crd: { type: 'integer' },
    more: { type: 'boolean' },
    dnr: { type: 'boolean' },
  },
};

/** A command completed with an error status. */
export const ERROR_STATUS = declareRule<ErrorStatusDetails, { submitFrame: number }>()({
  id: 'error-status',
  noisy: true,
  details: { name: 'errorStatusDetails', schema: SCHEMA },
  severity: () => 'warning',
  sentence(d, { submitFrame }) {
    return `${d.opcode} (frame ${frameLabel(submitFrame)}) completed with ${d.status}${d.dnr ? ', do not retry' : ''}`;
  },
});
