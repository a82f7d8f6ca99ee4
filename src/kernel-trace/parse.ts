import { eachLine, type LogText } from '../common/lines.js';
import type { KernelTrace, TraceCommand, TraceEvent, TraceFormat } from './types.js';

export class TraceFormatError extends Error {}

/**
 * The tracer's prefix: `TASK-PID [CPU] FLAGS TIMESTAMP: EVENT: BODY`. tracefs writes 4 or 5 latency
 * flag characters (none with the irq-info option off) and, with record-tgid, `(TGID)` before the CPU;
 * `trace-cmd report` writes no flags unless asked (-l) and pads the event name.
 */
const FLAGS = /\]\s+[.a-zA-Z0-9]{4,5}\s+\d+\.\d+:/;
/** An event line whose timestamp is a bare count (the x86-tsc and counter trace clocks). */
const TICKS_LINE = /^\s*.+?-\d+\s+(?:\(\s*(?:\d+|-+)\)\s+)?\[\d+\]\s+(?:[.a-zA-Z0-9]{4,5}\s+)?\d+:\s+\w+:/;
const EVENT_LINE = /^\s*(.+?)-(\d+)\s+(?:\(\s*(?:\d+|-+)\)\s+)?\[(\d+)\]\s+(?:([.a-zA-Z0-9]{4,5})\s+)?(\d+\.\d+):\s+(\w+):\s*(.*)$/;

/** The kernel's opcode names (include/trace/events + drivers/nvme/host/trace.h's show_*_opcode_name). */
const IO_NAMES: Record<string, number> = {
  flush: 0x00, write: 0x01, read: 0x02, write_uncor: 0x04, compare: 0x05, write_zeroes: 0x08, dsm: 0x09, verify: 0x0c,
  resv_register: 0x0d, resv_report: 0x0e, resv_acquire: 0x11, resv_release: 0x15, copy: 0x19, zone_mgmt_send: 0x79,
  zone_mgmt_recv: 0x7a, zone_append: 0x7d,
};
const ADMIN_NAMES: Record<string, number> = {
  delete_sq: 0x00, create_sq: 0x01, get_log_page: 0x02, delete_cq: 0x04, create_cq: 0x05, identify: 0x06, abort_cmd: 0x08,
  set_features: 0x09, get_features: 0x0a, async_event: 0x0c, ns_mgmt: 0x0d, activate_fw: 0x10, download_fw: 0x11,
  dev_self_test: 0x14, ns_attach: 0x15, keep_alive: 0x18, directive_send: 0x19, directive_recv: 0x1a, virtual_mgmt: 0x1c,
  nvme_mi_send: 0x1d, nvme_mi_recv: 0x1e, cross_ctrl_reset: 0x38, dbbuf: 0x7c, format_nvm: 0x80, security_send: 0x81,
  security_recv: 0x82, sanitize_nvm: 0x84, get_lba_status: 0x86,
};
const FABRICS_NAMES: Record<string, number> = {
  property_set: 0x00, connect: 0x01, property_get: 0x04, auth_send: 0x05, auth_receive: 0x06, disconnect: 0x08,
};

/** `cmd=(NAME FIELDS)` (host) or `cmd=(NAME, FIELDS)` (target): the opcode and the fields a command is matched by. */
function command(text: string, qid: number): TraceCommand {
  const m = /^(\S+?),?(?:\s+(.*))?$/.exec(text);
  const name = m?.[1] ?? text;
  const fields = new Map<string, string>();
  for (const f of (m?.[2] ?? '').split(/,\s*/)) {
    const eq = f.indexOf('=');
    if (eq > 0) fields.set(f.slice(0, eq).trim(), f.slice(eq + 1).trim());
  }
  let opcode: number | undefined;
  let kind: TraceCommand['kind'];
  const known = (table: Record<string, number>, prefix: string) => (name.startsWith(prefix) ? table[name.slice(prefix.length)] : undefined);
  if ((opcode = known(IO_NAMES, 'nvme_cmd_')) !== undefined) kind = 'io';
  else if ((opcode = known(ADMIN_NAMES, 'nvme_admin_')) !== undefined) kind = 'admin';
  else if ((opcode = known(FABRICS_NAMES, 'nvme_fabrics_type_')) !== undefined) kind = 'fabrics';
  else if (/^0x[0-9a-f]+$/i.test(name)) {
    // An opcode the kernel has no name for: print_symbolic writes the number.
    opcode = parseInt(name, 16);
    kind = qid === 0 ? 'admin' : 'io';
  }
  const n = (key: string) => (fields.has(key) ? Number(fields.get(key)) : undefined);
  return { name, opcode, kind, slba: n('slba'), len: n('len'), connectQid: kind === 'fabrics' && opcode === 0x01 ? n('qid') : undefined };
}

const num = (s: string) => (s.startsWith('0x') ? parseInt(s, 16) : Number(s));

// Format strings of drivers/nvme/host/trace.h and drivers/nvme/target/trace.h, 5.10 to 6.12: `disk=` only
// for namespace commands, `flags`/`meta` since 5.x, a comma after the target's opcode name.
const SETUP = /^nvme(\d+): (?:disk=([^,\s]+), )?qid=(\d+), cmdid=(\d+), nsid=(\d+),(?: flags=0x[0-9a-f]+, meta=0x[0-9a-f]+,)? cmd=\((.*)\)$/;
const COMPLETE = /^nvme(\d+): (?:disk=([^,\s]+), )?qid=(\d+), cmdid=(\d+), res=(0x[0-9a-f]+|\d+), retries=(\d+), flags=0x[0-9a-f]+, status=(0x[0-9a-f]+|\d+)$/;
const ASYNC = /^nvme(\d+): NVME_AEN=(0x[0-9a-f]+|\d+)/;
const TARGET_INIT = /^nvmet(\d+|_): (?:disk=([^,\s]+), )?qid=(\d+), cmdid=(\d+), nsid=(\d+),(?: flags=0x[0-9a-f]+, meta=0x[0-9a-f]+,)? cmd=\((.*)\)$/;
const TARGET_COMPLETE = /^nvmet(\d+|_): (?:disk=([^,\s]+), )?qid=(\d+), cmdid=(\d+), res=(0x[0-9a-f]+|\d+), status=(0x[0-9a-f]+|\d+)$/;
// include/trace/events/block.h: insert/issue print the byte count, requeue/complete do not; 6.10+ add `ioprio` before the comm or error.
const BLOCK = /^(\d+,\d+) (\S+) (?:(\d+) )?\(([^)]*)\) (\d+) \+ (\d+)(?: \S+,\d+,\d+)? \[([^\]]*)\]/;

/** The event kinds this reader decodes; any other event is `other`. */
export type DecodedKind = Exclude<TraceEvent['kind'], 'other'>;
const KIND = {
  nvme_setup_cmd: 'nvme_setup_cmd', nvmet_req_init: 'nvmet_req_init', nvme_complete_rq: 'nvme_complete_rq', nvmet_req_complete: 'nvmet_req_complete',
  nvme_async_event: 'nvme_async_event', block_rq_insert: 'block_rq_insert', block_rq_issue: 'block_rq_issue', block_rq_requeue: 'block_rq_requeue',
  block_rq_complete: 'block_rq_complete',
} as const;
const DECODED = new Set<string>(Object.keys(KIND));

export { detached } from '../common/lines.js';

/**
 * One event line, decoded; undefined when the line is no event line (a header, a comment, garbage);
 * `malformed` when its body did not parse; when its kind is not in `kinds`, its body is not read: `skipped`, or
 * `skipped-known` for a kind this reader decodes.
 * Objects are written out whole (no spread): a trace can hold millions of lines.
 */
export function parseTraceLine(text: string, source = 0, line = 1, kinds?: ReadonlySet<string>): TraceEvent | 'malformed' | 'skipped' | 'skipped-known' | undefined {
  const m = EVENT_LINE.exec(text);
  if (!m) return undefined;
  const event = m[6];
  if (kinds && !kinds.has(event)) return DECODED.has(event) ? 'skipped-known' : 'skipped';
  // Match groups are slices of the line, and the line of its whole read chunk: a kind kept in a
  // vote would keep the chunk alive. Known kinds are the literals below, never the slice.
  const task = m[1].trim();
  const pid = Number(m[2]);
  const cpu = Number(m[3]);
  const time = Number(m[5]);
  const body = m[7];
  text = text.trim();
  switch (event) {
    case 'nvme_setup_cmd':
    case 'nvmet_req_init': {
      const b = (event === 'nvme_setup_cmd' ? SETUP : TARGET_INIT).exec(body);
      if (!b) return 'malformed';
      const qid = Number(b[3]);
      return { source, line, task, pid, cpu, time, text, kind: KIND[event], ctrl: ctrlOf(b[1]), disk: b[2], qid, cmdid: Number(b[4]), nsid: Number(b[5]), cmd: command(b[6], qid) };
    }
    case 'nvme_complete_rq': {
      const b = COMPLETE.exec(body);
      if (!b) return 'malformed';
      return { source, line, task, pid, cpu, time, text, kind: KIND[event], ctrl: Number(b[1]), disk: b[2], qid: Number(b[3]), cmdid: Number(b[4]), result: b[5], retries: Number(b[6]), status: num(b[7]) };
    }
    case 'nvmet_req_complete': {
      const b = TARGET_COMPLETE.exec(body);
      if (!b) return 'malformed';
      return { source, line, task, pid, cpu, time, text, kind: KIND[event], ctrl: ctrlOf(b[1]), disk: b[2], qid: Number(b[3]), cmdid: Number(b[4]), result: b[5], retries: undefined, status: num(b[6]) };
    }
    case 'nvme_async_event': {
      const b = ASYNC.exec(body);
      if (!b) return 'malformed';
      return { source, line, task, pid, cpu, time, text, kind: KIND[event], ctrl: Number(b[1]), result: num(b[2]) };
    }
    case 'block_rq_insert':
    case 'block_rq_issue':
    case 'block_rq_requeue':
    case 'block_rq_complete': {
      const b = BLOCK.exec(body);
      if (!b) return 'malformed';
      const error = event === 'block_rq_complete' && /^-?\d+$/.test(b[7]) ? Number(b[7]) : undefined;
      return { source, line, task, pid, cpu, time, text, kind: KIND[event], dev: b[1], rwbs: b[2], sector: Number(b[5]), sectors: Number(b[6]), error };
    }
    default:
      return { source, line, task, pid, cpu, time, text, kind: 'other', event };
  }
}

/** A target controller id as the tracepoint names it: `_` before the Connect made one. */
function ctrlOf(s: string): number | undefined {
  return s === '_' ? undefined : Number(s);
}

/** A Linux CID and a tracepoint's cmdid name the same command: equal, or the cmdid is the tag alone (versions that print CID & 0xfff). */
export function sameCid(cid: number, cmdid: number): boolean {
  return cid === cmdid || (cmdid < 0x1000 && (cid & 0xfff) === cmdid);
}

/** The status codes a Linux host retries on another path or after reconnecting rather than failing up: host aborted and path errors. */
export function isFailoverStatus(status: number): boolean {
  return (status & 0x700) === 0x300;
}

/**
 * Checks that a text is a trace (reading up to its first event line: a file with none is not) and
 * names its format. The events are handed over by `replay`, streamed from the start each time (a
 * trace can be gigabytes), which also counts what it read.
 */
export function readKernelTrace(text: LogText, file: string, source: number): KernelTrace {
  let format: TraceFormat | undefined;
  let found = false;
  let ticks = false;
  const read = eachLine(text, (line) => {
    ticks ||= TICKS_LINE.test(line);
    // tracefs starts with its `# tracer:` header; trace-cmd report with `cpus=N` (or `version = N`).
    if (format === undefined && line.trim() !== '') format = line.startsWith('#') ? 'tracefs' : /^(?:cpus=\d+|version = \d+)/.test(line) ? 'trace-cmd' : undefined;
    if (!EVENT_LINE.test(line)) return;
    // A headerless file: trace_pipe and tracefs write latency flags, trace-cmd report does not by default.
    format ??= FLAGS.test(line) ? 'tracefs' : 'trace-cmd';
    found = true;
    return false;
  });
  if (!found && ticks) {
    throw new TraceFormatError(`${file}: its timestamps are clock ticks, not seconds (trace_clock x86-tsc or counter): record with the local, global, mono or boot clock`);
  }
  if (!found) throw new TraceFormatError(`${file}: no trace event line in ${read.lines} lines (expected the text of /sys/kernel/tracing/trace or trace-cmd report)`);
  return {
    file, source, format: format ?? 'tracefs',
    replay(visit, kinds) {
      const wanted = kinds ? new Set<string>(kinds) : undefined;
      let events = 0;
      let decoded = 0;
      let malformed = 0;
      const counts = eachLine(text, (line, n) => {
        const e = parseTraceLine(line, source, n, wanted);
        if (e === undefined) return;
        events++;
        if (e === 'skipped-known') decoded++;
        else if (e === 'skipped') return;
        else if (e === 'malformed') malformed++;
        else {
          if (e.kind !== 'other') decoded++;
          visit(e);
        }
      });
      return { lines: counts.lines, longLines: counts.long, events, decoded, malformed };
    },
  };
}

/** A whole trace from a string (tests, small inputs). */
export function parseKernelTrace(text: string, file = 'trace', source = 0): KernelTrace {
  return readKernelTrace(() => [text], file, source);
}
