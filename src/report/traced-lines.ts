import { isRetryFinding, type TraceLineRef } from '../correlate/types.js';
import type { Report } from './types.js';

/** The trace lines the findings cite, with the association and command each is about (the timeline's rows, the HTML's trace lane). */
export function tracedLines(report: Report): { assoc: number; cid: number; line: TraceLineRef }[] {
  const out: { assoc: number; cid: number; line: TraceLineRef }[] = [];
  for (const f of report.findings) {
    if (!isRetryFinding(f) || !f.details.kernelTrace) continue;
    const d = f.details;
    const k = d.kernelTrace!;
    const side = (assoc: number, cid: number, refs: (TraceLineRef | null | undefined)[]) => {
      for (const line of refs) if (line) out.push({ assoc, cid, line });
    };
    side(d.originalAssoc, d.originalCid, [k.original.setup, k.original.completion, k.requeue, k.contradiction, k.target?.original.received, k.target?.original.completed]);
    side(d.retryAssoc, f.cid ?? -1, [k.retry.setup, k.retry.completion, k.target?.retry.received, k.target?.retry.completed]);
  }
  return out;
}

