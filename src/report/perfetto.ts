import { isRetryFinding, type CommandRecord, type Finding } from '../correlate/types.js';
import type { Report } from './types.js';

/**
 * The Trace Event Format (JSON) that Perfetto (ui.perfetto.dev) and chrome://tracing open: one
 * process per association, one thread (track) per queue, each command an async span (`b`/`e`)
 * named by opcode; TCP flags, last controller contact, the safe time and findings as instants; a
 * flow arrow from each original to its retry; kernel log lines on a process of their own.
 *
 * Written as the capture is read: a command's span goes out when the command ends, so memory holds
 * only which processes and tracks were named. `ts` is microseconds on the capture's own clock
 * (epoch), so a trace recorded on the same hosts lines up.
 */
export class PerfettoWriter {
  private readonly named = new Set<string>();
  private first = true;
  private spans = 0;

  constructor(private readonly write: (text: string) => void) {
    write('{"displayTimeUnit":"ms","traceEvents":[\n');
  }

  /** Spans written so far: one per command. */
  get commands(): number {
    return this.spans;
  }

  /** One command: its span on its queue's track, from submission to completion (or its last step). */
  command(c: CommandRecord): void {
    this.track(c.assoc, c.conn, c.path, `${c.qid === null ? 'queue ?' : c.qid === 0 ? 'admin q0' : `I/O q${c.qid}`} (conn ${c.conn})`);
    // Unique per command incarnation: a frame can carry several capsules of one queue, a CID recurs.
    const id = `${c.conn}:${c.submitFrame}:${c.cid}`;
    const end = c.completeTime ?? c.steps.at(-1)?.time ?? c.submitTime;
    const args: Record<string, unknown> = { cid: `0x${c.cid.toString(16).padStart(4, '0')}`, submitFrame: c.submitFrame, outcome: c.outcome };
    if (c.slba !== undefined) Object.assign(args, { slba: c.slba, nlb: c.nlb });
    if (c.completeFrame !== undefined) args.completeFrame = c.completeFrame;
    if (c.status) args.status = c.status.name;
    if (c.retryOf !== undefined) args.retryOf = c.retryOf;
    const base = { name: c.opcodeName, cat: c.admin ? 'admin' : 'io', id, pid: c.assoc, tid: c.conn };
    this.event({ ...base, ph: 'b', ts: us(c.submitTime), args });
    this.event({ ...base, ph: 'e', ts: us(Math.max(end, c.submitTime)) });
    this.spans++;
  }

  /** What the whole capture knows: TCP flags, findings with their times, retry arrows, kernel log lines. Closes the file. */
  finish(report: Report): void {
    for (const a of report.associations) {
      for (const q of a.queues) {
        this.track(a.id, q.conn, a.path, `${q.qid === null ? 'queue ?' : q.qid === 0 ? 'admin q0' : `I/O q${q.qid}`} (conn ${q.conn})`);
        for (const t of q.teardown) this.instant(`${t.from} ${t.kind.toUpperCase()}`, 'tcp', a.id, q.conn, t.time, { frame: t.frame, inFlight: t.inFlight });
      }
    }
    for (const f of report.findings) this.finding(f);
    for (const e of report.kernelLog?.events ?? []) {
      if (e.time === null) continue;
      const file = report.kernelLog!.sources[e.source]?.file ?? `log ${e.source}`;
      this.track(KERNEL_PID, e.source + 1, 'kernel logs', file);
      this.instant(e.kind, 'kernel', KERNEL_PID, e.source + 1, e.time, { line: e.line, text: e.text, afterFrame: e.afterFrame, assoc: e.assoc });
    }
    this.write('\n]}\n');
  }

  private finding(f: Finding): void {
    const pid = f.assoc ?? 0;
    this.track(pid, 0, pid === 0 ? 'capture' : `association ${pid}`, 'findings');
    this.instant(f.ruleId, `finding,${f.severity}`, pid, 0, f.time, { message: f.message, frames: f.frames, wiresharkFilter: f.wiresharkFilter });
    if (!isRetryFinding(f)) return;
    const d = f.details;
    const old = d.originalAssoc;
    this.track(old, 0, `association ${old}`, 'findings');
    if (d.lastControllerContactTime !== null) {
      this.instant('last controller contact', 'contact', old, 0, d.lastControllerContactTime, { frame: d.lastControllerContactFrame });
      this.instant(`safe time (${d.rule}, ${d.requiredMs} ms)`, 'contact', old, 0, d.lastControllerContactTime + d.requiredMs / 1000, { katoMs: d.katoMs, cqtMs: d.cqtMs });
    }
    // A flow arrow from the original to its retry. Flows bind to thread slices (not async spans):
    // a 1 µs slice on each association's findings track carries each end.
    const flow = { name: 'retry', cat: 'retry', id: `${d.originalAssoc}:${d.originalFrame}>${d.retryFrame}` };
    const retryPid = f.assoc ?? d.retryAssoc;
    this.track(retryPid, 0, `association ${retryPid}`, 'findings');
    this.event({ name: `original (frame ${d.originalFrame})`, cat: 'retry', ph: 'X', pid: old, tid: 0, ts: us(d.originalTime), dur: 1 });
    this.event({ name: `retry (frame ${d.retryFrame})`, cat: 'retry', ph: 'X', pid: retryPid, tid: 0, ts: us(f.time), dur: 1 });
    this.event({ ...flow, ph: 's', pid: old, tid: 0, ts: us(d.originalTime) });
    this.event({ ...flow, ph: 'f', bp: 'e', pid: retryPid, tid: 0, ts: us(f.time) });
  }

  private instant(name: string, cat: string, pid: number, tid: number, time: number, args: Record<string, unknown>): void {
    this.event({ name, cat, ph: 'i', s: 't', pid, tid, ts: us(time), args });
  }

  /** Names a process and a thread the first time either is used. */
  private track(pid: number, tid: number, process: string, thread: string): void {
    if (!this.named.has(`${pid}`)) {
      this.named.add(`${pid}`);
      const name = pid === KERNEL_PID ? process : pid === 0 ? 'capture' : process ? `assoc ${pid}: ${process}` : `assoc ${pid}`;
      this.event({ name: 'process_name', ph: 'M', pid, tid: 0, args: { name } });
    }
    if (!this.named.has(`${pid}/${tid}`)) {
      this.named.add(`${pid}/${tid}`);
      this.event({ name: 'thread_name', ph: 'M', pid, tid, args: { name: thread } });
    }
  }

  private event(e: Record<string, unknown>): void {
    this.write((this.first ? '' : ',\n') + JSON.stringify(e));
    this.first = false;
  }
}

/** Kernel log lines get a process of their own, apart from every association's. */
const KERNEL_PID = 1_000_000_000;

/** Epoch seconds to whole microseconds (a double holds no finer on the epoch clock). */
function us(seconds: number): number {
  const whole = Math.floor(seconds);
  return whole * 1e6 + Math.round((seconds - whole) * 1e6);
}
