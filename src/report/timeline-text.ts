import { frameLabel } from '../common/frame-ref.js';
import { hex } from '../common/text.js';
import type { CommandRecord } from '../correlate/types.js';

/** One command with its steps, times relative to the capture's first packet. */
export function renderCommand(c: CommandRecord, t0: number): string {
  const head = `assoc ${c.assoc} conn ${c.conn} q${c.qid ?? '?'} cid ${hex(c.cid)}  ${c.opcodeName}` +
    (c.slba !== undefined ? ` SLBA ${c.slba} NLB ${c.nlb}` : '') + (c.nsid ? ` nsid ${c.nsid}` : '') +
    `  → ${c.outcome}${c.latencyMs !== undefined ? ` in ${c.latencyMs} ms` : ''}${c.retryOf ? `  (retry of frame ${frameLabel(c.retryOf)})` : ''}`;
  const steps = c.steps.map((s) => `    ${frameLabel(s.frame).padStart(7)}  +${(s.time - t0).toFixed(6)}s  ${s.kind.padEnd(15)} ${s.detail}`);
  return [head, ...steps].join('\n');
}
