import { KEEP_ALIVE_LATE } from '../findings/keep-alive-late.js';
import { KEEP_ALIVE_TIMEOUT } from '../findings/keep-alive-timeout.js';
import { keepAliveAllowedMs, round3, type Assoc } from '../model.js';
import type { RuleContext, RuleFamily } from './rule.js';

/** keep-alive-timeout (the controller went silent for longer than KATO) and keep-alive-late (the host's keep-alives were too far apart). */
export const keepAlive: RuleFamily = {
  name: 'keep-alive',
  create(ctx) {
    return {
      associationEnded(a) {
        silence(ctx, a);
        interval(ctx, a);
      },
    };
  },
};

function silence(ctx: RuleContext, a: Assoc): void {
  if (!a.silence) return;
  const ms = (a.silence.to.time - a.silence.from.time) * 1000;
  if (ms <= a.katoMs) return;
  const admin = a.queues.find((q) => q.qid === 0);
  const details = {
    silentMs: round3(ms), katoMs: a.katoMs, katoSource: a.katoSource, lastControllerContactFrame: a.silence.from.frame,
    untilFrame: a.silence.to.frame, keepAlivesUnanswered: a.kaOpen.length,
  };
  const place = { frames: [a.silence.from.frame, a.silence.to.frame], time: a.silence.to.time, assoc: a.id, qid: admin ? 0 : null, cid: null };
  ctx.findings.add(KEEP_ALIVE_TIMEOUT, place, details, { assoc: a.id });
}

function interval(ctx: RuleContext, a: Assoc): void {
  const max = a.kaMaxInterval;
  if (!max) return;
  const expected = a.katoMs / (a.tbkas ? 4 : 2);
  const allowed = keepAliveAllowedMs(a);
  if (max.ms <= a.katoMs && max.ms <= allowed) return;
  const details = { intervalMs: round3(max.ms), expectedMs: expected, allowedMs: allowed, katoMs: a.katoMs, katoSource: a.katoSource, tbkas: a.tbkas };
  const place = { frames: [max.from.frame, max.to.frame], time: max.to.time, assoc: a.id, qid: 0, cid: null };
  ctx.findings.add(KEEP_ALIVE_LATE, place, details, { assoc: a.id, frames: [max.from.frame, max.to.frame] });
}
