/** How a log line states its time. */
export type LogClock =
  /** Seconds since boot (raw dmesg, journalctl -o short-monotonic): needs anchors to meet the capture's clock. */
  | { kind: 'uptime'; seconds: number }
  /** Wall clock, epoch seconds. `yearless`: the line had no year (journalctl short-precise), resolved against the capture. */
  | { kind: 'wall'; epoch: number; yearless: boolean };

export type LogFormat =
  | 'dmesg' | 'dmesg-T' | 'dmesg-iso' | 'journalctl-short-iso-precise' | 'journalctl-short-precise' | 'journalctl-short-monotonic'
  | 'syslog-iso';

/** A controller a line names by subsystem, host NQN or address. */
interface NamesController {
  subnqn?: string;
  hostnqn?: string;
  addr?: string;
}

/** A number the line states: an error number, an attempt, a count of queues, a round-trip or a timeout in ms. */
export interface StatesValue {
  /** connect-failed, keep-alive-failed: the error number; reconnect-failed, reconnected: the attempt; ccr-attempt, ccr-failed: the timeout in ms. */
  value?: number;
}

type Plain = Record<never, never>;

/**
 * What a recognised NVMe kernel line says, by kind, from the kernel's own format strings: each kind's
 * own fields (optional: the kernel does not always print them). A new kind is one line here and one
 * entry in the pattern table of parse.ts.
 */
export interface KernelEventFields {
  /** Queue, block-layer tag, and the wire command identifier and opcode when the kernel printed them. */
  'io-timeout': { qid?: number; tag?: number; cid?: number; opcode?: number };
  'error-recovery': Plain;
  /** The delay before the next attempt. */
  reconnecting: { seconds?: number };
  'connect-failed': StatesValue;
  'reconnect-failed': StatesValue;
  reconnected: StatesValue;
  'creating-io-queues': StatesValue;
  'queues-mapped': StatesValue;
  'new-ctrl': NamesController;
  'removing-ctrl': NamesController;
  'keep-alive-failed': StatesValue;
  'long-keepalive-rtt': StatesValue;
  'no-usable-path': Plain;
  'controller-created': NamesController;
  /** The timer the target ran, in seconds. */
  'keep-alive-expired': { seconds?: number };
  'fatal-error': Plain;
  /** The host's controller fencing (TP8028 patches, 2025–2026): start, a CCR tried, its outcome, the time-based fallback's end. */
  'fencing-started': Plain;
  'ccr-attempt': StatesValue;
  'ccr-succeeded': Plain;
  'ccr-failed': StatesValue;
  'time-based-recovery-finished': Plain;
  /** An NVMe line of no known kind. */
  other: Plain;
}

export type KernelEventKind = keyof KernelEventFields;

/** Where every kernel line comes from and what it says in general. */
export interface KernelEventCommon {
  /** Which --dmesg file, 0-based, and the line in it (1-based). */
  source: number;
  line: number;
  clock: LogClock;
  /** Boot the line belongs to within its file (a log may span reboots): 0-based. */
  boot: number;
  side: 'host' | 'target';
  /** Host device (nvme0) or target controller number, when the line names one. */
  device?: string;
  ctrl?: number;
  /** The line's text after the timestamp (and host name), control characters kept out by the report. */
  text: string;
}

export type KernelEventOf<K extends KernelEventKind> = KernelEventCommon & { kind: K } & KernelEventFields[K];

/** One NVMe kernel line: a union discriminated by `kind`. */
export type KernelEvent = { [K in KernelEventKind]: KernelEventOf<K> }[KernelEventKind];

/** A host device's path; the subsystem NQN is unknown when only the capture's addresses say it. */
export interface DevicePath {
  subnqn: string | undefined;
  addr: string;
}

/** What one boot of one log holds that alignment needs before the capture is read: small, whatever the log's size. */
export interface LogGroup {
  source: number;
  boot: number;
  wall: boolean;
  /** The first anchor lines (controller created, new ctrl, reconnected): a few agreeing ones fix the offset. */
  anchors: KernelEvent[];
  /** The first timeout lines: they break ties between placements the anchors cannot tell apart. */
  probes: KernelEvent[];
  /** Each host device's path, from its `new ctrl` line (the last one). */
  paths: Map<string, DevicePath>;
}

export interface KernelLog {
  file: string;
  format: LogFormat;
  lines: number;
  /** NVMe lines recognised as events (including plain `other` ones). */
  events: number;
  /** Lines longer than the reader keeps: their tail was skipped (counted, never held in memory). */
  longLines: number;
  groups: LogGroup[];
  /** The (queue, CID or tag) pairs timeout lines name, as `qid:cN` / `qid:tN`, and `io:`/`admin:` for any queue of that kind. */
  named: Set<string>;
  /** Reads the log again from its start and hands over every NVMe event in file order (nothing is kept). */
  replay(visit: (e: KernelEvent) => void): void;
}
