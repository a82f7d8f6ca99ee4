import { captureOf, frameOf } from '../common/frame-ref.js';
import { isLineStep, isRetryFinding, type EvidenceStep, type Finding } from '../correlate/types.js';

/** What a frame is to a retry finding, from its evidence step. */
const ROLE: Record<EvidenceStep['step'], string> = {
  'original-sent': 'original', arrival: 'controller ACK: the original arrived', 'last-controller-contact': 'last controller contact',
  fence: 'fence', teardown: 'teardown of the old queue', 'kernel-log': 'kernel log', 'kernel-trace': 'kernel trace', retry: 'retry',
  'r2t-after-retry': 'R2T for the original after the retry', 'c2h-data-after-retry': 'C2HData for the original after the retry',
  'completion-after-retry': 'completion of the original after the retry',
  'controller-last-command': 'the last command the old controller received before the retry (its keep-alive timer restarts here)',
};

/**
 * The packet comments for `--annotate`: every frame a finding names gets one
 * line per finding, "nvme-tcp-timeline [severity] rule: message — role".
 */
export function frameComments(findings: readonly Finding[], capture = 0): Map<number, string[]> {
  const comments = new Map<number, string[]>();
  for (const f of findings) {
    const roles = new Map<number, string>();
    if (isRetryFinding(f)) {
      for (const e of f.details.evidence) {
        if (e.frame === null || isLineStep(e.step) || roles.has(e.frame)) continue;
        roles.set(e.frame, e.step === 'arrival' && captureOf(e.frame) > 0 ? 'the original arriving at the target' : ROLE[e.step]);
      }
    }
    for (const ref of f.frames) {
      // With several captures (--same-traffic) each gets the comments on its own frames.
      if (captureOf(ref) !== capture) continue;
      const frame = frameOf(ref);
      const role = roles.get(ref);
      const text = `nvme-tcp-timeline [${f.severity}] ${f.ruleId}: ${f.message}${role ? ` — ${role}` : ''}`;
      let list = comments.get(frame);
      if (!list) comments.set(frame, (list = []));
      list.push(text);
    }
  }
  return comments;
}
