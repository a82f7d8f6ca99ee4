import { round3 } from '../common/numbers.js';
import { statusName } from '../nvme-tcp/opcodes.js';
import type { CommandRecord, CommandStart, Outcome } from './types.js';
import { assocPath, withRange } from './model-helpers.js';
import type { Assoc, Cmd, Completion, Queue } from './model-types.js';
import { watchedAt } from './peer-view.js';

/* Pieces of a command's life the model (model.ts) hands off: arrival by ACK, a Cross-Controller Reset's target, the records it streams. */

/** The controller acknowledged the host's stream up to `acked`: stamp every capsule and data PDU it covers. */
export function arrivedUpTo(q: Queue, acked: number, frame: number, time: number): void {
  const cmds = q.awaitingCmd;
  const ends = q.awaitingEnd;
  const length = q.awaitingLength;
  let i = q.awaitingHead;
  for (; i < length && ends[i] <= acked; i++) {
    const cmd = cmds[i];
    const end = ends[i];
    if (end === cmd.capsuleEnd) {
      if (cmd.capsuleAckFrame < 0) {
        cmd.capsuleAckFrame = frame;
        cmd.capsuleAckTime = time;
      }
    } else if (end === cmd.dataEnd) {
      cmd.dataAckFrame = frame;
      cmd.dataAckTime = time;
    }
  }
  if (i === length) {
    q.awaitingHead = 0;
    q.awaitingLength = 0;
  } else q.awaitingHead = i;
}

/**
 * A Cross-Controller Reset completed: the impacted controller is the newest association of the
 * same subsystem with that controller id, still open or holding commands a retry may name. It is
 * fenced only when the completion says the reset is done (IRS, DW0 bit 0).
 */
export function crossControllerReset(cmd: Cmd, done: Completion, dw0: number, live: Iterable<Assoc>, held: Iterable<Cmd>): void {
  const from = cmd.q.assoc;
  const ok = done.sct === 0 && done.sc === 0;
  const named = cmd.resets!;
  // The controller id alone may be a later instance's: where Identify gave CIU and CIRN, they must match too.
  const instance = (a: Assoc) => !a.instance || (a.instance.ciu === named.ciu && a.instance.cirn === named.cirn);
  const impacted = (a: Assoc) => a !== from && a.cntlid === named.cntlid && instance(a) && a.subnqn !== undefined && a.subnqn === from.subnqn && a.first.time <= done.time;
  let target: Assoc | undefined;
  const consider = (a: Assoc) => {
    if (impacted(a) && (!target || a.first.time > target.first.time)) target = a;
  };
  for (const a of live) consider(a);
  // An ended association matters while it holds commands a retry can still name.
  for (const c of held) if (c.q.assoc) consider(c.q.assoc);
  if (!target) return;
  const outcome = !ok ? 'failed' : dw0 & 1 ? 'reset' : 'pending';
  target.resets.push({ frame: done.frame, time: done.time, fromAssoc: from.id, outcome, status: ok ? (outcome === 'reset' ? 'IRS set' : 'IRS clear') : statusName(done.sct, done.sc) });
  if (outcome === 'reset') target.fences.push({ frame: done.frame, time: done.time, kind: 'cross-controller-reset' });
}

/** What a command is, for onSubmit and onCommand alike (its LBA range aside). */
function identityOf(cmd: Cmd, opcodeName: string): CommandStart {
  return {
    assoc: cmd.q.assoc?.id ?? 0, path: cmd.q.assoc ? assocPath(cmd.q.assoc) : '', conn: cmd.q.nvme.id, qid: cmd.q.qid ?? null, cid: cmd.cid,
    opcode: cmd.opcode, opcodeName, admin: cmd.admin, nsid: cmd.nsid, submitFrame: cmd.submit.frame, submitTime: cmd.submit.time,
  };
}

/** A command as onCommandStart hands it out. */
export function commandStart(cmd: Cmd, opcodeName: string): CommandStart {
  return withRange(identityOf(cmd, opcodeName), cmd);
}

/** A command as onCommand streams it when it ends: the start's fields, then the fate, in the key order the timeline's JSON lines have. */
export function commandRecord(cmd: Cmd, outcome: Outcome, opcodeName: string): CommandRecord {
  const done = cmd.done;
  const record = identityOf(cmd, opcodeName) as CommandRecord;
  record.outcome = outcome;
  record.steps = cmd.steps ?? [];
  withRange(record, cmd);
  if (done) {
    record.completeFrame = done.frame;
    record.completeTime = done.time;
    record.latencyMs = round3((done.time - cmd.submit.time) * 1000);
    record.status = { sct: done.sct, sc: done.sc, crd: done.crd, more: done.more, dnr: done.dnr, name: statusName(done.sct, done.sc) };
  }
  if (cmd.retryOf) record.retryOf = cmd.retryOf.submit.frame;
  const peer = cmd.peer;
  if (peer || watchedAt(cmd.q, cmd.submit.time)) {
    record.peer = {
      arrivedFrame: peer?.arrived?.frame ?? null, arrivedTime: peer?.arrived?.time ?? null,
      completedFrame: peer?.completed?.frame ?? null, completedTime: peer?.completed?.time ?? null, completionLost: peer?.completionLost ?? false,
    };
  }
  return record;
}
