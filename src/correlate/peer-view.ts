import { ADMIN_KEEP_ALIVE } from '../nvme-tcp/opcodes.js';
import type { PduEvent } from '../nvme-tcp/types.js';
import type { Cmd, PeerView, Queue } from './model-types.js';

/*
 * What another capture of the same traffic (--same-traffic, src/merge) shows of a queue's
 * commands: the capsule arriving at the other point, the completion leaving it (and whether it
 * reached the host), and the span the other capture watched the connection.
 */

/** `p`, from the other capture, passed that point: a command arriving there, or its completion leaving. */
export function peerSighting(q: Queue, p: PduEvent): void {
  if (p.typeName === 'CapsuleCmd' && p.sqe) {
    const a = q.assoc;
    if (a && (!a.peerLastCommand || p.time > a.peerLastCommand.time)) a.peerLastCommand = { frame: p.frame, time: p.time };
    if (a && p.sqe.opcode === ADMIN_KEEP_ALIVE && q.qid === 0) a.peerLastKeepAlive = { frame: p.frame, time: p.time };
    const cmd = q.open.get(p.sqe.cid);
    if (cmd && cmd.capsuleEnd === p.streamOffset + p.plen && !cmd.peer?.arrived) {
      peerOf(cmd).arrived = { frame: p.frame, time: p.time };
      cmd.steps?.push({ kind: 'peer-arrival', frame: p.frame, time: p.time, detail: 'capsule seen arriving at the other capture point' });
    }
  } else if (p.typeName === 'CapsuleResp' && p.cqe) {
    const cmd = q.open.get(p.cqe.cid) ?? q.orphans.get(p.cqe.cid);
    if (cmd && !cmd.peer?.completed) peerOf(cmd).completed = { frame: p.frame, time: p.time };
  }
}

/** A completion left the controller and never reached the host. */
export function peerLost(q: Queue, p: PduEvent): void {
  if (p.typeName !== 'CapsuleResp' || !p.cqe) return;
  const cmd = q.open.get(p.cqe.cid) ?? q.orphans.get(p.cqe.cid);
  if (!cmd || cmd.peer?.completed) return;
  const peer = peerOf(cmd);
  peer.completed = { frame: p.frame, time: p.time };
  peer.completionLost = true;
  cmd.steps?.push({ kind: 'completion-lost', frame: p.frame, time: p.time, detail: 'completion sent by the controller, never reached the host' });
}

/** From `time` the other capture watches the queue's connection (or no longer does). */
export function peerWatch(q: Queue, time: number, watching: boolean): void {
  if (watching) {
    q.peerSince ??= time;
    q.peerUntil = undefined;
  } else q.peerUntil = time;
}

/** Did another capture watch the queue's connection at `time`? What it did not show then, it did not see. */
export function watchedAt(q: Queue, time: number): boolean {
  return q.peerSince !== undefined && q.peerSince <= time && (q.peerUntil === undefined || q.peerUntil >= time);
}

function peerOf(cmd: Cmd): PeerView {
  return (cmd.peer ??= { arrived: undefined, completed: undefined, completionLost: false });
}
