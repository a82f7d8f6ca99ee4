import { eachLine, ownText, type LogText } from '../common/lines.js';
import type { KernelEvent, KernelEventFields, KernelEventKind, KernelEventOf, KernelLog, LogClock, LogFormat, LogGroup, StatesValue } from './types.js';

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

/** One timestamp layout: how to recognise it, and how to read its clock and message. */
interface Layout {
  format: LogFormat;
  re: RegExp;
  clock(m: RegExpExecArray): LogClock;
}

/** Local-time fields to epoch seconds (the analysing machine's time zone, like the tools that wrote them). */
function local(year: number, month: number, day: number, h: number, mi: number, s: number, frac: string): number {
  return new Date(year, month, day, h, mi, s).getTime() / 1000 + (frac ? Number(`0.${frac}`) : 0);
}

function iso(text: string): number {
  // dmesg --time-format iso writes a comma before the fraction; journalctl writes +0000 without a colon.
  const normal = text.replace(',', '.').replace(/([+-]\d\d)(\d\d)$/, '$1:$2');
  const whole = Date.parse(normal.replace(/\.\d+/, ''));
  const frac = /\.(\d+)/.exec(normal);
  return whole / 1000 + (frac ? Number(`0.${frac[1]}`) : 0);
}

const ISO = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)`;

/** Tried in order on the first lines; a file keeps the layout its first timestamped line has. */
const LAYOUTS: Layout[] = [
  { format: 'journalctl-short-monotonic', re: /^\[\s*(\d+\.\d+)\]\s+\S+\s+kernel:\s?(.*)$/, clock: (m) => ({ kind: 'uptime', seconds: Number(m[1]) }) },
  { format: 'dmesg', re: /^\[\s*(\d+\.\d+)\]\s?(.*)$/, clock: (m) => ({ kind: 'uptime', seconds: Number(m[1]) }) },
  {
    format: 'dmesg-T', re: /^\[\w{3} (\w{3})\s+(\d+) (\d\d):(\d\d):(\d\d) (\d{4})\]\s?(.*)$/,
    clock: (m) => ({ kind: 'wall', epoch: local(Number(m[6]), MONTHS[m[1]], Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), ''), yearless: false }),
  },
  // journalctl writes the zone as +0100, syslog (RFC 3339) as +01:00 or Z.
  {
    format: 'journalctl-short-iso-precise', re: /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?[+-]\d{4})\s+\S+\s+kernel:\s?(.*)$/,
    clock: (m) => ({ kind: 'wall', epoch: iso(m[1]), yearless: false }),
  },
  { format: 'syslog-iso', re: new RegExp(String.raw`^(${ISO})\s+\S+\s+kernel:\s+(?:\[\s*\d+\.\d+\]\s+)?(.*)$`), clock: (m) => ({ kind: 'wall', epoch: iso(m[1]), yearless: false }) },
  { format: 'dmesg-iso', re: new RegExp(String.raw`^(${ISO})\s(.*)$`), clock: (m) => ({ kind: 'wall', epoch: iso(m[1]), yearless: false }) },
  {
    format: 'journalctl-short-precise', re: /^(\w{3}) (\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?\s+\S+\s+kernel:\s?(.*)$/,
    // No year in the line: this one is a placeholder, resolved against the capture's year when aligning.
    clock: (m) => ({ kind: 'wall', epoch: local(2000, MONTHS[m[1]], Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), m[6] ?? ''), yearless: true }),
  },
];

/** The message is the last group of every layout. */
function message(m: RegExpExecArray): string {
  return m[m.length - 1];
}

/** A journal's boot separator (journalctl -b all, --list-boots output). */
const BOOT_LINE = /^-- (?:Boot [0-9a-f]+|Reboot) --$/;

/** Anchor and probe lines kept per boot for alignment (the rest are read again when the log is replayed). */
const ANCHORS_KEPT = 64;
const PROBES_KEPT = 64;

export class LogFormatError extends Error {}
export { MAX_LINE_CHARS, type LogText } from '../common/lines.js';

/**
 * Every NVMe event of a log in file order: recognises its timestamp layout, keeps the NVMe lines
 * (host `nvme`, `nvme_tcp`, `nvme_fabrics`, `block nvme…`; target `nvmet`, `nvmet_tcp`) and decodes
 * what each says. Returns the layout and line counts; throws LogFormatError when no line carries a
 * timestamp this reader knows.
 */
function scan(text: LogText, file: string, source: number, visit: (e: KernelEvent) => void): { layout: Layout; lines: number; long: number } {
  let layout: Layout | undefined;
  let boot = 0;
  let lastUptime = -1;
  let events = 0;
  const counts = eachLine(text, (line, n) => {
    if (line.length < 120 && BOOT_LINE.test(line.trim())) {
      if (events > 0 || lastUptime >= 0) boot++;
      lastUptime = -1;
      return;
    }
    let m: RegExpExecArray | null = null;
    if (layout) m = layout.re.exec(line);
    else {
      for (const l of LAYOUTS) {
        m = l.re.exec(line);
        if (m) {
          layout = l;
          break;
        }
      }
    }
    if (!m || !layout) return;
    const clock = layout.clock(m);
    if (clock.kind === 'uptime') {
      // Seconds since boot going back by more than rounding: the machine restarted in between.
      if (lastUptime >= 0 && clock.seconds + 1 < lastUptime) boot++;
      lastUptime = clock.seconds;
    }
    const event = decodeLine(message(m).trim());
    if (!event) return;
    events++;
    // Kept lines (anchors, probes, the report's listing) must not keep their read chunk alive.
    const texts: { [key in 'text' | 'device' | 'subnqn' | 'hostnqn' | 'addr']?: string } = event;
    for (const key of ['text', 'device', 'subnqn', 'hostnqn', 'addr'] as const) if (texts[key] !== undefined) texts[key] = ownText(texts[key]);
    visit({ source, line: n, clock, boot, ...event });
  });
  if (!layout) throw new LogFormatError(`${file}: no line has a kernel log timestamp (dmesg, dmesg -T or --time-format iso, journalctl -k -o short-precise, short-iso-precise or short-monotonic, or syslog with ISO times)`);
  return { layout, lines: counts.lines, long: counts.long };
}

/**
 * Reads a kernel log once for what alignment and matching need before the capture (anchors, the
 * identifiers timeout lines name, device paths), in memory bounded whatever the log's size; the
 * events themselves are read again by `replay`.
 */
export function readKernelLog(text: LogText, file: string, source: number): KernelLog {
  const groups = new Map<number, LogGroup>();
  const named = new Set<string>();
  let events = 0;
  const { layout, lines, long } = scan(text, file, source, (e) => {
    events++;
    let g = groups.get(e.boot);
    if (!g) groups.set(e.boot, (g = { source, boot: e.boot, wall: e.clock.kind === 'wall', anchors: [], probes: [], paths: new Map() }));
    if ((e.kind === 'controller-created' || e.kind === 'new-ctrl' || e.kind === 'reconnected') && g.anchors.length < ANCHORS_KEPT) g.anchors.push(e);
    if (e.kind === 'new-ctrl' && e.device && e.subnqn && e.addr) g.paths.set(e.device, { subnqn: e.subnqn, addr: e.addr });
    if (e.kind === 'io-timeout' && e.qid !== undefined) {
      if (g.probes.length < PROBES_KEPT) g.probes.push(e);
      for (const key of namedKeys(e)) named.add(key);
    }
  });
  return {
    file, format: layout.format, lines, events, longLines: long, groups: [...groups.values()], named,
    replay: (visit) => void scan(text, file, source, visit),
  };
}

/** The keys a timeout line names a command by: its queue, and any queue of its kind (for queues the capture cannot number). */
function namedKeys(e: KernelEventOf<'io-timeout'>): string[] {
  const id = e.cid !== undefined ? `c${e.cid}` : e.tag !== undefined ? `t${e.tag}` : undefined;
  if (id === undefined || e.qid === undefined) return [];
  return [`${e.qid}:${id}`, `${e.qid === 0 ? 'admin' : 'io'}:${id}`];
}

/** A log held as one string (tests, small files). */
export function parseKernelLog(text: string, file: string, source: number): KernelLog {
  return readKernelLog(() => [text], file, source);
}

/** Every event of a log, collected (tests and small logs only: a large log is replayed, never held). */
export function eventsOf(log: KernelLog): KernelEvent[] {
  const all: KernelEvent[] = [];
  log.replay((e) => void all.push(e));
  return all;
}

/** A line's event before its place in the file is known. */
type Decoded = { [K in KernelEventKind]: Omit<KernelEventOf<K>, 'source' | 'line' | 'clock' | 'boot'> }[KernelEventKind];

const HOST_PREFIX = /^(?:nvme (nvme\d+)|nvme_tcp|nvme_fabrics|nvme_core|block (nvme\d+)(?:c\d+)?n\d+|nvme (nvme\d+)(?:c\d+)?n\d+):\s*(.*)$/;
const TARGET_PREFIX = /^(nvmet|nvmet_tcp):\s*(.*)$/;
const NUMBER = String.raw`(0x[0-9a-fA-F]+|\d+)`;

/**
 * One kind of kernel log line: its pattern and what it reads from the match. A new kind is one
 * entry here (and its name in KernelEventKind).
 */
interface LinePattern<K extends KernelEventKind> {
  kind: K;
  re: RegExp;
  fill?: (m: RegExpExecArray, d: KernelEventFields[K]) => void;
}
type AnyLinePattern = { [K in KernelEventKind]: LinePattern<K> }[KernelEventKind];

const value = (m: RegExpExecArray, d: StatesValue) => void (d.value = Number(m[1]));

/** Host message patterns, from drivers/nvme/host (core.c, fabrics.c, tcp.c, multipath.c). */
const HOST: AnyLinePattern[] = [
  {
    kind: 'io-timeout', re: new RegExp(String.raw`^queue (\d+): timeout (?:request|cid) ${NUMBER} type (\d+)`),
    fill: (m, d) => {
      d.qid = Number(m[1]);
      d.tag = num(m[2]);
    },
  },
  {
    kind: 'io-timeout', re: new RegExp(String.raw`^I/O tag (\d+) (?:\(([0-9a-fA-F]{4})\) )?(?:type (\d+) )?opcode ${NUMBER}(?: \(([^)]*)\))? QID (\d+) timeout`),
    fill: (m, d) => {
      d.tag = Number(m[1]);
      if (m[2]) d.cid = parseInt(m[2], 16);
      d.opcode = num(m[4]);
      d.qid = Number(m[6]);
    },
  },
  { kind: 'error-recovery', re: /^starting error recovery/ },
  { kind: 'reconnecting', re: /^Reconnecting in (\d+) seconds/, fill: (m, d) => void (d.seconds = Number(m[1])) },
  { kind: 'connect-failed', re: /^failed to connect socket: (-?\d+)/, fill: value },
  { kind: 'reconnect-failed', re: /^Failed reconnect attempt (\d+)/, fill: value },
  { kind: 'reconnected', re: /^Successfully reconnected \((?:attempt (\d+)|(\d+) attempt)/, fill: (m, d) => void (d.value = Number(m[1] ?? m[2])) },
  { kind: 'creating-io-queues', re: /^creating (\d+) I\/O queues/, fill: value },
  // tcp.c after the I/O queues connect: how many serve default, read and poll I/O (the value: default).
  { kind: 'queues-mapped', re: /^mapped (\d+)\/(\d+)\/(\d+) default\/read\/poll queues/, fill: value },
  {
    kind: 'new-ctrl', re: /^new ctrl: NQN "([^"]*)", addr ([^,\s]+)(?:, hostnqn: (\S+))?/,
    fill: (m, d) => {
      d.subnqn = m[1];
      d.addr = m[2];
      if (m[3]) d.hostnqn = m[3];
    },
  },
  { kind: 'removing-ctrl', re: /^Removing ctrl: NQN "([^"]*)"/, fill: (m, d) => void (d.subnqn = m[1]) },
  { kind: 'removing-ctrl', re: /^Removing controller(?: \((\d+)\))?/ },
  { kind: 'keep-alive-failed', re: /^failed nvme_keep_alive_end_io error=(-?\d+)/, fill: value },
  { kind: 'long-keepalive-rtt', re: /^long keepalive RTT \((\d+) ms\)/, fill: value },
  { kind: 'no-usable-path', re: /^no usable path - requeuing I\/O/ },
  // Controller fencing with Cross-Controller Reset (the TP8028 series posted to linux-nvme).
  { kind: 'fencing-started', re: /^starting controller fencing/ },
  { kind: 'ccr-attempt', re: /^attempting CCR, timeout (\d+) ?ms/, fill: value },
  { kind: 'ccr-succeeded', re: /^CCR succeeded using (\S+)/ },
  { kind: 'ccr-failed', re: /^CCR failed, switch to time-based recovery, timeout = (\d+) ?ms/, fill: value },
  { kind: 'time-based-recovery-finished', re: /^Time-based recovery finished/ },
];

/** Target message patterns, from drivers/nvme/target (fabrics-cmd.c, core.c): each names its controller first. */
const TARGET: AnyLinePattern[] = [
  {
    kind: 'controller-created', re: /^(?:creating|Created) (?:(?:nvm|discovery) )?controller (\d+) for subsystem (\S+) for NQN (\S+?)(?:\.$|\.? )/,
    fill: (m, d) => {
      d.subnqn = m[2];
      d.hostnqn = m[3];
    },
  },
  { kind: 'keep-alive-expired', re: /^ctrl (\d+) keep-alive timer \((\d+) seconds\) expired/, fill: (m, d) => void (d.seconds = Number(m[2])) },
  { kind: 'fatal-error', re: /^ctrl (\d+) fatal error occurred/ },
];

function num(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  return text.startsWith('0x') ? parseInt(text, 16) : Number(text);
}

/** The line's event: the first pattern that matches `body` and what it reads, or `other`. */
function match(patterns: readonly AnyLinePattern[], body: string, d: Decoded): RegExpExecArray | undefined {
  for (const p of patterns) {
    const m = p.re.exec(body);
    if (!m) continue;
    d.kind = p.kind;
    // The pattern fills the fields of its own kind, which `d` now is.
    (p.fill as ((m: RegExpExecArray, fields: Decoded) => void) | undefined)?.(m, d);
    return m;
  }
  return undefined;
}

/** What one line's message says, or undefined when it is not about NVMe. */
export function decodeLine(text: string): Decoded | undefined {
  const host = HOST_PREFIX.exec(text);
  if (host) {
    const device = host[1] ?? host[2] ?? host[3];
    const d: Decoded = { side: 'host', kind: 'other', text };
    if (device) d.device = device;
    match(HOST, host[4], d);
    return d;
  }
  const target = TARGET_PREFIX.exec(text);
  if (!target) return undefined;
  const d: Decoded = { side: 'target', kind: 'other', text };
  const m = match(TARGET, target[2], d);
  if (m) d.ctrl = Number(m[1]);
  return d;
}
