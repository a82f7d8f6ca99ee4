import { CID_REUSE_IN_FLIGHT } from '../findings/cid-reuse-in-flight.js';
import { CONNECTION_RESET } from '../findings/connection-reset.js';
import { UNANSWERED_COMMAND } from '../findings/unanswered-command.js';
import { commandLabel } from '../phrases.js';
import { ADMIN_AER } from '../model.js';
import type { RuleFamily } from './rule.js';

/** unanswered-command, connection-reset (RST with commands in flight) and cid-reuse-in-flight. */
export const teardown: RuleFamily = {
  name: 'teardown',
  create(ctx) {
    const name = ctx.model.opName.bind(ctx.model);
    return {
      commandUnanswered(cmd, outcome) {
        if (cmd.admin && cmd.opcode === ADMIN_AER) return; // outstanding by design
        const q = cmd.q;
        const closing = q.hostClosed ?? q.ctrlClosed;
        const details = { opcode: name(cmd), outcome, submitFrame: cmd.submit.frame, closeFrame: closing?.frame ?? null, retried: cmd.retriedBy !== undefined };
        const place = {
          frames: closing ? [cmd.submit.frame, closing.frame] : [cmd.submit.frame], time: cmd.submit.time, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: cmd.cid,
        };
        ctx.findings.add(UNANSWERED_COMMAND, place, details, { label: commandLabel({ opcode: details.opcode, slba: cmd.slba ?? null, nlb: cmd.nlb ?? null }) });
      },
      tcpFlag(q, e) {
        if (e.kind !== 'rst' || q.open.size === 0) return;
        // Commands whose completion may sit in lost bytes are not known to be in flight.
        const open = q.open.values().filter((c) => !(c.admin && c.opcode === ADMIN_AER) && !c.gapWhileOpen);
        if (open.length === 0) return;
        const details = { from: e.from, inFlight: open.map((c) => ({ cid: c.cid, opcode: name(c), frame: c.submit.frame })) };
        const place = { frames: [e.frame, ...open.map((c) => c.submit.frame)], time: e.time, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: null };
        ctx.findings.add(CONNECTION_RESET, place, details, { conn: e.conn, outOfWindow: e.outOfWindow === true });
      },
      cidReused(previous, p) {
        const q = previous.q;
        const details = { previousFrame: previous.submit.frame, previousOpcode: name(previous) };
        const place = { frames: [previous.submit.frame, p.frame], time: p.time, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: previous.cid };
        ctx.findings.add(CID_REUSE_IN_FLIGHT, place, details, { cid: previous.cid, qid: q.qid ?? null });
      },
    };
  },
};
