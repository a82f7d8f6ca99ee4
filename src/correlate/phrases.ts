/**
 * Phrases the findings' sentences (src/correlate/findings/) and the reports share: a command, a
 * duration, a place, a direction, and the words of a retry's evidence steps.
 */
import type { AfterRetryActivity, Finding } from './types.js';
import { hex } from '../common/text.js';
import { frameLabel } from '../common/frame-ref.js';

export const seconds = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

/** Where a finding happened, as the reports' "assoc/q/cid" column shows it. */
export function findingPlace(f: Pick<Finding, 'assoc' | 'qid' | 'cid'>): string {
  return `${f.assoc ?? '-'}/${f.qid ?? '-'}/${f.cid === null ? '-' : hex(f.cid)}`;
}

export const dirName = (dir: 'h2c' | 'c2h') => (dir === 'h2c' ? 'host→controller' : 'controller→host');

/** "Write SLBA 2100 NLB 8" */
export function commandLabel(d: { opcode: string; slba: number | null; nlb: number | null }): string {
  return `${d.opcode}${d.slba !== null ? ` SLBA ${d.slba} NLB ${d.nlb}` : ''}`;
}

export function activityLabel(a: AfterRetryActivity): string {
  const what = a.kind === 'r2t' ? 'R2T' : a.kind === 'c2h-data' ? 'C2HData' : 'completion';
  return `${what} in frame ${frameLabel(a.frame)}, ${seconds(a.afterRetryMs)} after the retry`;
}

/** Words for the steps of a retry's evidence chain (the retries, kernel-log and kernel-trace families write them). */
export const EVIDENCE = {
  originalSent: (label: string, assoc: number) => `${label} sent on association ${assoc}`,
  seenArriving: () => 'the target-side capture shows the command capsule arriving',
  controllerLastCommand: (keepAlive: boolean) => `the last ${keepAlive ? 'Keep Alive' : 'command'} the target-side capture shows reaching the old controller: its keep-alive timer restarts here`,
  arrival: (what: 'capsule' | 'data') => `controller's TCP ACK covers the ${what === 'capsule' ? 'command capsule' : 'last H2CData'}`,
  lastContact: (assoc: number) => `last packet from the controller of association ${assoc}`,
  kernel: (what: string, text: string, line: number) => `kernel log (${what}, line ${line}): ${text}`,
  trace: (what: string, line: number) => `kernel trace line ${line}: ${what}`,
  fence: (kind: string) => `old association fenced (${kind})`,
  teardown: (from: string, kind: string) => `${from} ${kind.toUpperCase()} on the original's queue`,
  retry: (assoc: number) => `retry submitted on association ${assoc}`,
  afterRetry: (a: AfterRetryActivity) => `controller sent ${activityLabel(a)} for the original`,
};
