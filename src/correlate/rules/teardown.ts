import { commandLabel, MESSAGES } from '../messages.js';
import { ADMIN_AER } from '../model.js';
import type { RuleFamily } from './rule.js';

/** unanswered-command, connection-reset (RST with commands in flight) and cid-reuse-in-flight. */
export const teardown: RuleFamily = {
  name: 'teardown',
  ruleIds: ['unanswered-command', 'connection-reset', 'cid-reuse-in-flight'],
  noisy: ['unanswered-command', 'connection-reset', 'cid-reuse-in-flight'],
  create(ctx) {
    const name = ctx.model.opName.bind(ctx.model);
    return {
      commandUnanswered(cmd, outcome) {
        if (cmd.admin && cmd.opcode === ADMIN_AER) return; // outstanding by design
        const q = cmd.q;
        const closing = q.hostClosed ?? q.ctrlClosed;
        const details = { opcode: name(cmd), outcome, submitFrame: cmd.submit.frame, closeFrame: closing?.frame ?? null, retried: cmd.retriedBy !== undefined };
        ctx.findings.add({
          ruleId: 'unanswered-command', severity: outcome === 'unanswered-at-close' ? 'warning' : 'info',
          message: MESSAGES.unanswered(details, commandLabel({ opcode: details.opcode, slba: cmd.slba ?? null, nlb: cmd.nlb ?? null })),
          frames: closing ? [cmd.submit.frame, closing.frame] : [cmd.submit.frame],
          time: cmd.submit.time, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: cmd.cid, details,
        });
      },
      tcpFlag(q, e) {
        if (e.kind !== 'rst' || q.open.size === 0) return;
        // Commands whose completion may sit in lost bytes are not known to be in flight.
        const open = q.open.values().filter((c) => !(c.admin && c.opcode === ADMIN_AER) && !c.gapWhileOpen);
        if (open.length === 0) return;
        const details = { from: e.from, inFlight: open.map((c) => ({ cid: c.cid, opcode: name(c), frame: c.submit.frame })) };
        ctx.findings.add({
          ruleId: 'connection-reset', severity: 'warning', message: MESSAGES.connectionReset(details, e.conn, e.outOfWindow === true),
          frames: [e.frame, ...open.map((c) => c.submit.frame)], time: e.time, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: null, details,
        });
      },
      cidReused(previous, p) {
        const q = previous.q;
        const details = { previousFrame: previous.submit.frame, previousOpcode: name(previous) };
        ctx.findings.add({
          ruleId: 'cid-reuse-in-flight', severity: 'error', message: MESSAGES.cidReuse(details, previous.cid, q.qid ?? null),
          frames: [previous.submit.frame, p.frame], time: p.time, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: previous.cid, details,
        });
      },
    };
  },
};
