import { CAPTURE_STRIDE, frameLabel } from '../common/frame-ref.js';
import { isRetryFinding, type CommandRecord, type CommandStart, type Finding } from '../correlate/types.js';
import { tracedLines } from './traced-lines.js';
import type { Report } from './types.js';

/**
 * The Trace Event Format (JSON) that Perfetto (ui.perfetto.dev) and chrome://tracing open: one
 * process per association, one thread (track) per queue, each command an async span (`b`/`e`)
 * named by opcode; TCP flags, last controller contact, the safe time and findings as instants; a
 * flow arrow from each original to its retry; kernel log lines on a process of their own.
 *
 * Written as the capture is read: a command's span opens when it is submitted and closes when it
 * ends, so a track's events come in time order and memory holds only which tracks were named. `ts` is microseconds on the capture's own clock
 * (epoch), so a trace recorded on the same hosts lines up.
 */
export class PerfettoWriter {
  private readonly named = new Set<string>();
  /** Per track, the latest timestamp written: a span given up at a queue's end closes no earlier. */
  private readonly lastTs = new Map<string, number>();
  private first = true;

  constructor(private readonly write: (text: string) => void) {
    write('{"displayTimeUnit":"ms","traceEvents":[\n');
  }

  /** A command was submitted: its span opens on its queue's track (events of a track come in time order). */
  start(c: CommandStart): void {
    this.track(c.assoc, c.conn, c.path, queueName(c.qid, c.conn));
    const args: Record<string, unknown> = { cid: `0x${c.cid.toString(16).padStart(4, '0')}`, submitFrame: fr(c.submitFrame) };
    if (c.slba !== undefined) Object.assign(args, { slba: c.slba, nlb: c.nlb });
    this.event({ name: c.opcodeName, cat: c.admin ? 'admin' : 'io', id: spanId(c), pid: c.assoc, tid: c.conn, ph: 'b', ts: us(c.submitTime), args });
  }

  /** The command ended: its span closes, with how (completion frame, status, outcome, retry of). */
  end(c: CommandRecord): void {
    const args: Record<string, unknown> = { outcome: c.outcome };
    if (c.completeFrame !== undefined) args.completeFrame = fr(c.completeFrame);
    if (c.status) args.status = c.status.name;
    if (c.retryOf !== undefined) args.retryOf = fr(c.retryOf);
    // Without a completion it was given up when its queue ended or its CID was reused: no earlier than what the track showed last.
    const ts = c.completeTime !== undefined ? us(c.completeTime) : Math.max(us(c.submitTime), this.lastTs.get(`${c.assoc}/${c.conn}`) ?? 0);
    this.event({ name: c.opcodeName, cat: c.admin ? 'admin' : 'io', id: spanId(c), pid: c.assoc, tid: c.conn, ph: 'e', ts, args });
  }

  /** What the whole capture knows, in time order: TCP flags, findings, retry arrows, kernel log lines. Closes the file. */
  finish(report: Report): void {
    const late: Record<string, unknown>[] = [];
    const instant = (name: string, cat: string, pid: number, tid: number, time: number, args: Record<string, unknown>) =>
      late.push({ name, cat, ph: 'i', s: 't', pid, tid, ts: us(time), args });
    for (const a of report.associations) {
      for (const q of a.queues) {
        // On a track of their own beside the queue's: the queue's track already holds its spans in time order.
        this.track(a.id, TCP_TRACK + q.conn, a.path, `${queueName(q.qid, q.conn)} TCP`);
        for (const t of q.teardown) instant(`${t.from} ${t.kind.toUpperCase()}`, 'tcp', a.id, TCP_TRACK + q.conn, t.time, { frame: fr(t.frame), inFlight: t.inFlight });
      }
    }
    // Each incident on the findings track of the association that broke: its start carries the story's verdict and filter.
    for (const i of report.incidents) {
      this.track(i.assoc, 0, `association ${i.assoc}`, 'findings');
      instant(`incident ${i.id}`, `incident,${i.severity}`, i.assoc, 0, i.firstTime, {
        verdict: i.verdict, counts: i.counts, findings: i.findings.length, wiresharkFilter: i.wiresharkFilter, tookOver: i.tookOver,
      });
    }
    for (const f of report.findings) this.finding(f, instant, late);
    for (const e of report.kernelLog?.events ?? []) {
      if (e.time === null) continue;
      const file = report.kernelLog!.sources[e.source]?.file ?? `log ${e.source}`;
      this.track(KERNEL_PID, e.source + 1, 'kernel logs', file);
      instant(e.kind, 'kernel', KERNEL_PID, e.source + 1, e.time, { line: e.line, text: e.text, afterFrame: fr(e.afterFrame), assoc: e.assoc });
    }
    // The trace lines the findings cite, one track per --trace file after the logs' tracks.
    const logs = report.kernelLog?.sources.length ?? 0;
    for (const { assoc, cid, line } of tracedLines(report)) {
      const file = report.kernelTrace!.sources[line.source]?.file ?? `trace ${line.source}`;
      this.track(KERNEL_PID, logs + line.source + 1, 'kernel logs', file);
      instant(/: (\w+): /.exec(line.text)?.[1] ?? 'trace', 'kernel-trace', KERNEL_PID, logs + line.source + 1, line.time, { line: line.line, text: line.text, afterFrame: fr(line.afterFrame), assoc, cid });
    }
    late.sort((x, y) => (x.ts as number) - (y.ts as number));
    for (const e of late) this.event(e);
    this.write('\n]}\n');
  }

  private finding(f: Finding, instant: (name: string, cat: string, pid: number, tid: number, time: number, args: Record<string, unknown>) => void, late: Record<string, unknown>[]): void {
    const pid = f.assoc ?? 0;
    this.track(pid, 0, pid === 0 ? 'capture' : `association ${pid}`, 'findings');
    instant(f.ruleId, `finding,${f.severity}`, pid, 0, f.time, { message: f.message, frames: f.frames.map(fr), wiresharkFilter: f.wiresharkFilter });
    if (!isRetryFinding(f)) return;
    const d = f.details;
    const old = d.originalAssoc;
    this.track(old, 0, `association ${old}`, 'findings');
    if (d.lastControllerContactTime !== null) {
      instant('last controller contact', 'contact', old, 0, d.lastControllerContactTime, { frame: fr(d.lastControllerContactFrame) });
      instant(`safe time (${d.rule}, ${d.requiredMs} ms)`, 'contact', old, 0, d.lastControllerContactTime + d.requiredMs / 1000, { katoMs: d.katoMs, cqtMs: d.cqtMs });
    }
    // A flow arrow from the original to its retry. Flows bind to thread slices (not async spans):
    // a 1 µs slice on each association's findings track carries each end.
    const flow = { name: 'retry', cat: 'retry', id: `${d.originalAssoc}:${d.originalFrame}>${d.retryFrame}` };
    const retryPid = f.assoc ?? d.retryAssoc;
    this.track(retryPid, 0, `association ${retryPid}`, 'findings');
    late.push({ name: `original (frame ${frameLabel(d.originalFrame)})`, cat: 'retry', ph: 'X', pid: old, tid: 0, ts: us(d.originalTime), dur: 1 });
    late.push({ name: `retry (frame ${frameLabel(d.retryFrame)})`, cat: 'retry', ph: 'X', pid: retryPid, tid: 0, ts: us(f.time), dur: 1 });
    late.push({ ...flow, ph: 's', pid: old, tid: 0, ts: us(d.originalTime) });
    late.push({ ...flow, ph: 'f', bp: 'e', pid: retryPid, tid: 0, ts: us(f.time) });
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
    if (typeof e.ts === 'number') this.lastTs.set(`${e.pid}/${e.tid}`, e.ts);
    this.write((this.first ? '' : ',\n') + JSON.stringify(e));
    this.first = false;
  }
}

/** A frame as an argument: another capture's (--same-traffic) as the reports write it (target#148), the host capture's a number. */
function fr(ref: number | null): number | string | null {
  return ref !== null && ref >= CAPTURE_STRIDE ? frameLabel(ref) : ref;
}

/** Unique per command incarnation: a frame can carry several capsules of one queue, a CID recurs. */
function spanId(c: Pick<CommandRecord, 'conn' | 'submitFrame' | 'cid'>): string {
  return `${c.conn}:${c.submitFrame}:${c.cid}`;
}

function queueName(qid: number | null, conn: number): string {
  return `${qid === null ? 'queue ?' : qid === 0 ? 'admin q0' : `I/O q${qid}`} (conn ${conn})`;
}

/** TCP flags of connection N go on track TCP_TRACK + N of its association. */
const TCP_TRACK = 1_000_000;

/** Kernel log lines get a process of their own, apart from every association's. */
const KERNEL_PID = 1_000_000_000;

/** Epoch seconds to whole microseconds (a double holds no finer on the epoch clock). */
function us(seconds: number): number {
  const whole = Math.floor(seconds);
  return whole * 1e6 + Math.round((seconds - whole) * 1e6);
}
