/**
 * Breaks in service scripted with their kernel log: commands sent into a cut, timeouts and error
 * recovery in dmesg, the teardown, the reconnect and the retries, late completions of the originals.
 * The incidents tests and the HTML tests build their captures with it.
 */
import { capsuleResp, ioCmd } from './builders.js';
import { connectAssociation, HOSTNQN, Scenario, SUBNQN, type AssociationConns } from './scenario.js';

const WRITE = 0x01;

/** A raw dmesg line at capture time `t` for a machine that booted at `boot`. */
export function raw(t: number, boot: number, text: string): string {
  return `[${(t - boot).toFixed(6).padStart(12)}] ${text}`;
}

export interface Path {
  a: AssociationConns;
  ctrl: string;
  cntlid: number;
  dev: string;
}

export class Lab {
  readonly s = new Scenario();
  readonly log: string[] = [];
  readonly boot = this.s.time - 100;

  connect(ctrl: string, cntlid: number, nvme: number): Path {
    const a = connectAssociation(this.s, { ctrl, katoMs: 30000, cntlid });
    this.log.push(raw(this.s.time - 0.01, this.boot, `nvmet: creating nvm controller ${cntlid} for subsystem ${SUBNQN} for NQN ${HOSTNQN}.`));
    this.log.push(raw(this.s.time, this.boot, `nvme nvme${nvme}: new ctrl: NQN "${SUBNQN}", addr ${ctrl}:4420`));
    return { a, ctrl, cntlid, dev: `nvme nvme${nvme}` };
  }

  /** `count` commands into a cut on `p` (acknowledged, never answered), CIDs from `first`. */
  send(p: Path, first: number, count: number, opcode = WRITE): number[] {
    const cids = Array.from({ length: count }, (_, i) => first + i);
    for (const cid of cids) p.a.io[0].host(ioCmd(opcode, cid, 1000 + 8 * cid, 8));
    p.a.io[0].ack(false);
    return cids;
  }

  /** The first command times out and starts error recovery; the rest time out during it. */
  timeouts(p: Path, cids: number[]): void {
    this.log.push(raw(this.s.time, this.boot, `${p.dev}: queue 1: timeout request 0x${cids[0].toString(16)} type 4`));
    this.log.push(raw(this.s.time + 0.001, this.boot, `${p.dev}: starting error recovery`));
    for (const cid of cids.slice(1)) this.log.push(raw(this.s.time + 0.002, this.boot, `${p.dev}: queue 1: timeout request 0x${cid.toString(16)} type 4`));
  }

  teardown(p: Path): void {
    p.a.io[0].fin(true);
    p.a.admin.fin(true);
  }

  /** A new association on the same path, and the retries of `cids` on it (new CIDs), completed. */
  reconnect(p: Path, cids: number[], opcode = WRITE): Path {
    const next = this.connect(p.ctrl, p.cntlid + 1, Number(p.dev.slice(-1)));
    for (const cid of cids) next.a.io[0].host(ioCmd(opcode, cid + 0x100, 1000 + 8 * cid, 8));
    for (const cid of cids) next.a.io[0].ctrl(capsuleResp({ cid: cid + 0x100 }));
    return next;
  }

  /** The old controller completes some originals on the closed queue: they ran twice. */
  late(p: Path, cids: number[]): void {
    for (const cid of cids) p.a.io[0].ctrl(capsuleResp({ cid }));
    p.a.io[0].rst(true);
    p.a.admin.rst(true);
  }

}

/**
 * One break on `p`: `count` commands (CIDs from `first`) into a cut, the first times out after
 * `timeoutMs` and starts recovery, the others time out during it, the host tears down, reconnects
 * after `downMs` and retries them all. Returns the association that took over and the CIDs.
 */
export function breakAndRetry(lab: Lab, p: Path, first: number, count: number, opts: { opcode?: number; timeoutMs?: number; downMs?: number } = {}): { next: Path; cids: number[] } {
  const cids = lab.send(p, first, count, opts.opcode);
  lab.s.wait(opts.timeoutMs ?? 4000);
  lab.timeouts(p, cids);
  lab.s.wait(20);
  lab.teardown(p);
  lab.s.wait(opts.downMs ?? 2000);
  return { next: lab.reconnect(p, cids, opts.opcode), cids };
}

/** The linux-nvme burst: 24 writes into a cut, one timeout starts recovery, 23 time out during it, all retried inside KATO, 14 originals completed late. */
export function burst(): Lab {
  const lab = new Lab();
  const p = lab.connect('10.0.0.2', 1, 0);
  lab.s.wait(500);
  const { cids } = breakAndRetry(lab, p, 0x40, 24, { timeoutMs: 4190, downMs: 5000 });
  lab.s.wait(3800);
  lab.late(p, cids.slice(0, 14));
  return lab;
}
