import { msOf } from '../common/numbers.js';
import type { KernelTrace, TraceCommand, TraceCounts, TraceEvent, TraceSetup } from '../kernel-trace/types.js';
import { round6 } from './kernel-align.js';
import type { KernelTraceAlignment } from './types.js';

/** Submissions kept for alignment: enough to fix an offset, bounded whatever the capture's size. */
const SAMPLE_CAP = 4096;
/** Pairings collected per trace before the rest are ignored (each a small object). */
const PAIRINGS_CAP = 1 << 18;
/**
 * Anchors within this window of each other agree: setting a command up and sending it (or receiving
 * it and tracing its arrival) is microseconds apart, milliseconds under load.
 */
const WINDOW_S = 0.005;
/** Agreeing anchors listed in the report. */
const SAMPLE_LISTED = 8;

/** A captured submission an anchor can pair with. */
export interface SampledSubmission {
  key: string;
  frame: number;
  time: number;
}

/** The identity a captured submission and a traced setup share: queue (a Connect's own), CID, opcode and its kind. */
export function submissionKey(qid: number, cid: number, kind: TraceCommand['kind'], opcode: number): string {
  return `${qid}:${cid}:${kind}:${opcode}`;
}

export function setupKey(e: TraceSetup): string | undefined {
  const c = e.cmd;
  if (c.kind === undefined || c.opcode === undefined) return undefined;
  return submissionKey(c.connectQid ?? e.qid, e.cmdid, c.kind, c.opcode);
}

/**
 * Captured submissions, evenly over the whole capture: every one until the sample is full, then
 * every other one is dropped and only each 2nd (4th, …) submission is taken. Connects are kept
 * apart (they pair uniquely) under the same rule.
 */
export class SubmissionSample {
  private readonly parts = [new Thinned(), new Thinned()];

  add(s: SampledSubmission, connect: boolean): void {
    this.parts[connect ? 0 : 1].add(s);
  }

  byKey(): Map<string, SampledSubmission[]> {
    const map = new Map<string, SampledSubmission[]>();
    for (const part of this.parts) {
      for (const s of part.items) {
        const list = map.get(s.key);
        if (list) list.push(s);
        else map.set(s.key, [s]);
      }
    }
    return map;
  }
}

class Thinned {
  items: SampledSubmission[] = [];
  private stride = 1;
  private seen = 0;

  add(s: SampledSubmission): void {
    if (this.seen++ % this.stride !== 0) return;
    if (this.items.length >= SAMPLE_CAP) {
      this.items = this.items.filter((_, i) => i % 2 === 0);
      this.stride *= 2;
      if ((this.seen - 1) % this.stride !== 0) return;
    }
    this.items.push(s);
  }
}

/**
 * Lays a trace on the capture's clock: every setup (host) or arrival (target) of a command the
 * capture sampled votes for an offset; the densest window of votes wins, and its median is the
 * offset. A second window nearly as dense elsewhere means the anchors disagree: not placed.
 */
export function alignTrace(trace: KernelTrace, sample: Map<string, SampledSubmission[]>): { alignment: KernelTraceAlignment; counts: TraceCounts } {
  const votes: Vote[] = [];
  let pairings = 0;
  const counts = trace.replay((e: TraceEvent) => {
    if ((e.kind !== 'nvme_setup_cmd' && e.kind !== 'nvmet_req_init') || pairings >= PAIRINGS_CAP) return;
    const key = setupKey(e);
    const paired = key === undefined ? undefined : sample.get(key);
    if (!paired) return;
    for (const s of paired) {
      pairings++;
      votes.push({ line: e.line, frame: s.frame, event: e.kind, offsetS: s.time - e.time });
    }
  }, ['nvme_setup_cmd', 'nvmet_req_init']);
  return { alignment: placed(trace.source, votes, pairings), counts };
}

/** An anchor's vote: the trace line, the frame it paired with, and the offset that pairing implies. */
interface Vote {
  line: number;
  frame: number;
  event: string;
  offsetS: number;
}

/** The offset the votes agree on, or why there is none. */
function placed(source: number, votes: Vote[], pairings: number): KernelTraceAlignment {
  const none = (message: string): KernelTraceAlignment => ({
    source, method: 'none', offsetS: null, anchors: 0, pairings, sample: [], residualMs: null, dmesgDifferenceMs: null, message,
  });
  if (votes.length === 0) return none('no command the trace sets up or receives is in the capture (same queue, CID and opcode): not placed');
  const sorted = Float64Array.from(votes, (v) => v.offsetS).sort();
  const best = densest(sorted, -Infinity, Infinity);
  const rival = Math.max(densest(sorted, -Infinity, sorted[best.from] - 10 * WINDOW_S).count, densest(sorted, sorted[best.to - 1] + 10 * WINDOW_S, Infinity).count);
  if (best.count < 2 && votes.length > 1) return none(`${votes.length} pairings with the capture, no two agreeing on an offset: not placed`);
  if (rival * 5 >= best.count * 4) return none(`its anchors disagree: ${best.count} agree on one offset, ${rival} on another: not placed`);
  const offsetS = sorted[(best.from + best.to - 1) >> 1];
  const residual = Math.max(offsetS - sorted[best.from], sorted[best.to - 1] - offsetS);
  const agreeing = votes.filter((v) => Math.abs(v.offsetS - offsetS) <= residual);
  const residualMs = msOf(residual);
  return {
    source, method: 'anchors', offsetS: round6(offsetS), anchors: best.count, pairings,
    sample: agreeing.slice(0, SAMPLE_LISTED).map((v) => ({ ...v, offsetS: round6(v.offsetS) })), residualMs, dmesgDifferenceMs: null,
    message: `${best.count} of ${pairings} pairings agree within ${residualMs} ms`,
  };
}

/** The window of WINDOW_S holding the most offsets within [lo, hi]: indexes [from, to). */
function densest(sorted: Float64Array, lo: number, hi: number): { from: number; to: number; count: number } {
  let best = { from: 0, to: 0, count: 0 };
  let from = 0;
  for (let to = 0; to < sorted.length; to++) {
    if (sorted[to] < lo || sorted[to] > hi) {
      from = to + 1;
      continue;
    }
    while (sorted[to] - sorted[from] > WINDOW_S) from++;
    if (to + 1 - from > best.count) best = { from, to: to + 1, count: to + 1 - from };
  }
  return best;
}
