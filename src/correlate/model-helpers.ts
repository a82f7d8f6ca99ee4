/** The model's small pure helpers: keys, paths, stamps, the retry-arrival queue, percentiles. */
import { round3 } from '../common/numbers.js';
import type { Sqe, StreamDiagnostic } from '../nvme-tcp/types.js';
import { ADMIN_KEEP_ALIVE, FABRICS_OPCODE, FCTYPE_PROPERTY_GET, FCTYPE_PROPERTY_SET } from '../nvme-tcp/opcodes.js';
import type { LatencyHistogram } from './histogram.js';
import type { CommandStart, OpcodeStats, Stamp } from './types.js';
import type { Assoc, Cmd, ControllerInstance, Queue } from './model-types.js';

/** The impacted controller a Cross-Controller Reset SQE names (base specification 2.3, Figure 522). */
export function resetTarget(sqe: Sqe): ControllerInstance {
  const hex32 = (v: number) => v.toString(16).padStart(8, '0');
  return { cntlid: sqe.cdw10 & 0xffff, ciu: (sqe.cdw10 >>> 16) & 0xff, cirn: `0x${hex32(sqe.cdw13)}${hex32(sqe.cdw12)}` };
}

/** Queues `end` for the controller's ACK; compacts when the consumed head is most of the arrays. */
export function awaitAck(q: Queue, cmd: Cmd, end: number): void {
  if (q.awaitingHead > 1024 && q.awaitingHead * 2 > q.awaitingLength) {
    const live = q.awaitingLength - q.awaitingHead;
    q.awaitingCmd.copyWithin(0, q.awaitingHead, q.awaitingLength);
    q.awaitingEnd.copyWithin(0, q.awaitingHead, q.awaitingLength);
    q.awaitingHead = 0;
    q.awaitingLength = live;
  }
  if (q.awaitingCmd === NO_CMDS) {
    // The queue's first command a retry can name: admin queues never get here.
    q.awaitingCmd = [];
    q.awaitingEnd = [];
  }
  q.awaitingCmd[q.awaitingLength] = cmd;
  q.awaitingEnd[q.awaitingLength] = end;
  q.awaitingLength++;
}

/** A controller packet the host could see: the latest is the association's last contact in its header. */
export function contactSeen(a: Assoc, frame: number, time: number): void {
  if (!a.lastCtrlSeen || time >= a.lastCtrlSeen.time) a.lastCtrlSeen = setStamp(a.lastCtrlSeen, frame, time);
}

export function afterHostClose(a: Assoc, frame: number, time: number): void {
  const late = a.afterHostClose;
  if (!late) a.afterHostClose = { pdus: 1, first: { frame, time }, last: { frame, time } };
  else {
    late.pdus++;
    late.last.frame = frame;
    late.last.time = time;
  }
}

/** Nothing awaiting an ACK yet: shared by every queue, never written (awaitAck gives a queue its own arrays first). */
export const NO_CMDS: Cmd[] = Object.freeze([]) as unknown as Cmd[];
export const NO_ENDS: number[] = Object.freeze([]) as unknown as number[];

/** No orphans yet: shared by every queue, never written (orphan() gives a queue its own map first). */
export const NO_ORPHANS = new Map<number, Cmd>();

export function orphan(q: Queue, cmd: Cmd): void {
  if (q.orphans === NO_ORPHANS) q.orphans = new Map();
  (q.orphans as Map<number, Cmd>).set(cmd.cid, cmd);
}

export function withRange<T extends CommandStart>(record: T, cmd: Cmd): T {
  if (cmd.slba !== undefined) {
    record.slba = cmd.slba;
    record.nlb = cmd.nlb;
  }
  return record;
}

export function endsKey(hostAddress: string, controller: string): string {
  return `${hostAddress} ${controller}`;
}

/** Removes `a` from its list (ends come mostly in start order: found near the front). */
export function removeFrom(index: Map<string, Assoc[]>, key: string, a: Assoc): void {
  const list = index.get(key);
  if (!list) return;
  const i = list.indexOf(a);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) index.delete(key);
}

export function setStamp(stamp: Stamp | undefined, frame: number, time: number): Stamp {
  if (!stamp) return { frame, time };
  stamp.frame = frame;
  stamp.time = time;
  return stamp;
}

export function endpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function hostAddressOf(q: Queue): string {
  const hostSide = q.nvme.hostSide ?? 0;
  return q.nvme.tcp.endpoints[hostSide].address;
}

/** Same host: same host NQN when both are known, else the same host address. */
export function sameHost(x: Assoc, y: Assoc): boolean {
  return x.hostnqn !== undefined && y.hostnqn !== undefined ? x.hostnqn === y.hostnqn : x.hostAddress === y.hostAddress;
}

/** Same subsystem: same NQN when both are known, else the same controller address. */
export function sameSubsystem(x: Assoc, y: Assoc): boolean {
  return x.subnqn !== undefined && y.subnqn !== undefined ? x.subnqn === y.subnqn : x.controller === y.controller;
}

/** The path string, built once per association (its NQNs are known once its Connect is). */
const pathCache = new WeakMap<Assoc, string>();
export function assocPath(a: Assoc): string {
  let p = pathCache.get(a);
  if (p === undefined) pathCache.set(a, (p = pathOf(a)));
  return p;
}

export function pathOf(a: Assoc): string {
  return `${a.hostnqn ?? a.hostAddress} → ${a.subnqn ?? '?'} @ ${a.controller}`;
}

export { round3 };

export function latency(h: LatencyHistogram): OpcodeStats['latencyMs'] {
  return percentiles(h);
}

export function percentiles(h: LatencyHistogram): { p50: number | null; p90: number | null; p99: number | null; max: number | null } {
  const r = (v: number | null) => (v === null ? null : round3(v));
  return { p50: r(h.quantile(0.5)), p90: r(h.quantile(0.9)), p99: r(h.quantile(0.99)), max: h.count ? round3(h.max) : null };
}

/**
 * The longest keep-alive interval Linux's scheduling explains: every KATO/2, or with TBKAS a check
 * every KATO/4 that skips a run after traffic (two periods); slack covers work-queue delay.
 */
export function keepAliveAllowedMs(a: Assoc): number {
  const expected = a.katoMs / (a.tbkas ? 4 : 2);
  return (a.tbkas ? 2 * expected : 1.5 * expected) + 100;
}

/** Bytes of `q`'s stream that were lost or cut: counted, and every open command may have lost its completion among them. */
export function bytesMissing(q: Queue, d: StreamDiagnostic): void {
  if (d.kind === 'gap' || d.kind === 'truncated-pdu') {
    if (d.kind === 'gap') {
      q.gaps++;
      q.bytesLost += d.length;
    }
    for (const c of q.open.values()) c.gapWhileOpen = true;
  }
  if (d.kind === 'gap' && d.cause === 'snaplen') {
    if (!q.snapCut) q.snapCut = { bytes: 0, segments: 0, first: { frame: d.frame, time: d.time } };
    q.snapCut.bytes += d.length;
    q.snapCut.segments++;
  }
}

/** A queue without a Connect shows it is the admin queue by what it carries: Keep Alive, Property Get/Set. */
export function learnAdminQueue(q: Queue, sqe: Sqe): void {
  if (sqe.opcode === ADMIN_KEEP_ALIVE) {
    q.qid = 0;
    q.qidSource = 'keep-alive';
  } else if (sqe.opcode === FABRICS_OPCODE && (sqe.fctype === FCTYPE_PROPERTY_SET || sqe.fctype === FCTYPE_PROPERTY_GET)) {
    q.qid = 0;
    q.qidSource = 'property-access';
  }
}
