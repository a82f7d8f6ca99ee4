import { LatencyHistogram } from './histogram.js';
import type { CapsuleCmdPdu, Sqe } from '../nvme-tcp/types.js';
import type { Stamp } from './types.js';
import { assocPath, contactSeen, endsKey, hostAddressOf, removeFrom, setStamp } from './model-helpers.js';
import { LINUX_DEFAULT_KATO_MS, type Assoc, type AttachedQueue, type ModelOptions, type Queue } from './model-types.js';

/**
 * The associations still open: which queue joins which (by Connect, or inferred by host and
 * controller address), by id, by host and controller address, by path. An association leaves
 * when its last queue ends (the model folds it into its path then).
 */
export class AssociationRegistry {
  /** By id, oldest first. */
  readonly byId = new Map<number, Assoc>();
  private readonly byEnds = new Map<string, Assoc[]>();
  /** Per path (filled once an association's path is known: at its first queue). */
  private readonly byPath = new Map<string, Assoc[]>();
  private count = 0;

  constructor(private readonly options: Pick<ModelOptions, 'katoMs' | 'cqtMs'>) {}

  /** `a` ended: it is no longer live. */
  ended(a: Assoc): void {
    this.byId.delete(a.id);
    removeFrom(this.byEnds, endsKey(a.hostAddress, a.controller), a);
    removeFrom(this.byPath, assocPath(a), a);
  }

  /** A Connect on `q`: the admin queue's starts an association, an I/O queue's joins the one it names (a queue already attached stays so). */
  attachByConnect(q: Queue, p: CapsuleCmdPdu, connect: NonNullable<Sqe['connect']>): AttachedQueue {
    const data = p.connectData;
    if (isAttached(q)) return q;
    if (connect.qid === 0) {
      const a = this.newAssoc(q, p.frame, p.time, false);
      a.hostnqn = data?.hostnqn;
      a.subnqn = data?.subnqn;
      if (connect.katoMs > 0 || this.options.katoMs === undefined) {
        a.katoMs = connect.katoMs;
        a.katoSource = 'connect';
      }
      return this.join(a, q);
    }
    const host = hostAddressOf(q);
    const match = this.latestAssoc(q, (a) =>
      a.controller === q.controller && a.hostAddress === host &&
      (data === undefined || ((a.hostnqn === undefined || a.hostnqn === data.hostnqn) && (a.subnqn === undefined || a.subnqn === data.subnqn) &&
        (a.cntlid === undefined || a.cntlid === data.cntlid))));
    if (match) return this.join(match, q);
    const a = this.newAssoc(q, p.frame, p.time, true);
    a.hostnqn = data?.hostnqn;
    a.subnqn = data?.subnqn;
    a.cntlid = data?.cntlid;
    return this.join(a, q);
  }

  /** No Connect captured: join the association of the same host and controller that is still open, or start one. */
  attachInferred(q: Queue): AttachedQueue {
    const host = hostAddressOf(q);
    const match = this.latestAssoc(q, (a) =>
      a.controller === q.controller && a.hostAddress === host && a.queues.some((o) => !o.hostClosed && !o.ended));
    return this.join(match ?? this.newAssoc(q, q.firstFrame, q.nvme.tcp.firstTime, true), q);
  }

  /** The newest live association between this host and controller address that passes `test`: search from the newest. */
  private latestAssoc(q: Queue, test: (a: Assoc) => boolean): Assoc | undefined {
    const list = this.byEnds.get(endsKey(hostAddressOf(q), q.controller));
    if (list) for (let i = list.length - 1; i >= 0; i--) if (test(list[i])) return list[i];
    return undefined;
  }

  /** Live associations of a path, oldest first. */
  onPath(path: string): readonly Assoc[] {
    return this.byPath.get(path) ?? [];
  }

  private newAssoc(q: Queue, frame: number, time: number, inferred: boolean): Assoc {
    const a: Assoc = {
      id: ++this.count, hostnqn: undefined, subnqn: undefined, hostAddress: hostAddressOf(q), controller: q.controller,
      cntlid: undefined,
      katoMs: this.options.katoMs ?? LINUX_DEFAULT_KATO_MS, katoSource: this.options.katoMs !== undefined ? '--kato' : 'assumed',
      cqtMs: this.options.cqtMs ?? 0, cqtSource: this.options.cqtMs !== undefined ? '--cqt' : 'none', tbkas: false, instance: undefined, inferred,
      queues: [], first: { frame, time }, lastCtrl: undefined, lastCtrlSeen: undefined, afterHostClose: undefined, lastHost: undefined, enabled: inferred ? 'unknown' : 'no', fences: [], resets: [], termReq: undefined, peerLastCommand: undefined, peerLastKeepAlive: undefined,
      silence: undefined, kaSent: 0, kaAnswered: 0, kaLast: undefined, kaClock: undefined, kaIntervals: new LatencyHistogram(),
      kaMaxInterval: undefined, kaMaxRtt: undefined, kaOpen: [], hostTeardown: undefined, connected: undefined, ioConnected: undefined,
      kaRtts: new LatencyHistogram(), kaLate: 0, findings: 0, ended: false,
    };
    this.byId.set(a.id, a);
    const key = endsKey(a.hostAddress, a.controller);
    const list = this.byEnds.get(key);
    if (list) list.push(a);
    else this.byEnds.set(key, [a]);
    return a;
  }

  private join(a: Assoc, q: Queue): AttachedQueue {
    q.assoc = a;
    const attached = q as AttachedQueue;
    if (a.queues.length === 0) {
      // Its first queue: the NQNs it will have are known now, and so its path.
      const path = assocPath(a);
      const list = this.byPath.get(path);
      if (list) list.push(a);
      else this.byPath.set(path, [a]);
    }
    a.queues.push(q);
    if (q.lastCtrl) {
      controllerContact(a, q.lastCtrl);
      contactSeen(a, q.lastCtrl.frame, q.lastCtrl.time);
    }
    if (q.lastHost && (!a.lastHost || q.lastHost.time > a.lastHost.time)) a.lastHost = setStamp(a.lastHost, q.lastHost.frame, q.lastHost.time);
    return attached;
  }
}

/** The association's own stamps are updated in place: copy, never share, a queue's stamp. */
export function controllerContact(a: Assoc, stamp: Stamp): void {
  if (a.lastCtrl && !a.hostTeardown) checkSilence(a, stamp);
  if (!a.lastCtrl || stamp.time >= a.lastCtrl.time) a.lastCtrl = setStamp(a.lastCtrl, stamp.frame, stamp.time);
}

/** Records the controller's silence up to `until` if it is the longest so far. */
export function checkSilence(a: Assoc, until: Stamp): void {
  const from = a.lastCtrl;
  if (!from) return;
  const ms = (until.time - from.time) * 1000;
  const best = a.silence ? (a.silence.to.time - a.silence.from.time) * 1000 : 0;
  if (ms > best) a.silence = { from: { frame: from.frame, time: from.time }, to: { frame: until.frame, time: until.time } };
}

/** A FIN or RST from one side of `q` (even an RST the peer discards says its sender let the connection go). */
export function closedBy(q: Queue, fromHost: boolean, kind: 'fin' | 'rst', frame: number, time: number): void {
  if (!fromHost) {
    if (!q.ctrlClosed) q.ctrlClosed = { frame, time, kind };
    return;
  }
  if (!q.hostClosed) q.hostClosed = { frame, time };
  const a = q.assoc;
  // The host tears an association down on its admin queue (or on a queue not known yet to be an I/O one).
  if (a && !a.hostTeardown && (q.qid === 0 || q.qid === undefined)) {
    a.hostTeardown = { frame, time };
    checkSilence(a, { frame, time });
  }
}

/** The host wrote CC (Property Set, completed): EN=0 or a shutdown fences the controller, EN=1 enables it. */
export function ccWritten(a: Assoc, value: number, at: Stamp): void {
  const shn = (value >> 14) & 3;
  if ((value & 1) === 0 || shn !== 0) {
    // Disabling a controller that was never enabled (connect-time init) fences nothing.
    if (a.enabled !== 'no') a.fences.push({ frame: at.frame, time: at.time, kind: shn !== 0 ? 'cc-shutdown' : 'cc-disable' });
    a.enabled = 'no';
  } else a.enabled = 'yes';
}

/** Has the queue joined an association (every queue that carries a command has)? */
export function isAttached(q: Queue): q is AttachedQueue {
  return q.assoc !== undefined;
}
