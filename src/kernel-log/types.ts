/** How a log line states its time. */
export type LogClock =
  /** Seconds since boot (raw dmesg, journalctl -o short-monotonic): needs anchors to meet the capture's clock. */
  | { kind: 'uptime'; seconds: number }
  /** Wall clock, epoch seconds. `yearless`: the line had no year (journalctl short-precise), resolved against the capture. */
  | { kind: 'wall'; epoch: number; yearless: boolean };

export type LogFormat =
  | 'dmesg' | 'dmesg-T' | 'dmesg-iso' | 'journalctl-short-iso-precise' | 'journalctl-short-precise' | 'journalctl-short-monotonic'
  | 'syslog-iso';

/** What a recognised NVMe kernel line says, from the kernel's own format strings. */
export type KernelEventKind =
  | 'io-timeout' | 'error-recovery' | 'reconnecting' | 'connect-failed' | 'reconnect-failed' | 'reconnected' | 'creating-io-queues' | 'queues-mapped'
  | 'new-ctrl' | 'removing-ctrl' | 'keep-alive-failed' | 'long-keepalive-rtt' | 'no-usable-path'
  | 'controller-created' | 'keep-alive-expired' | 'fatal-error'
  /** The host's controller fencing (TP8028 patches, 2025–2026): start, a CCR tried, its outcome, the time-based fallback's end. */
  | 'fencing-started' | 'ccr-attempt' | 'ccr-succeeded' | 'ccr-failed' | 'time-based-recovery-finished'
  | 'other';

export interface KernelEvent {
  /** Which --dmesg file, 0-based, and the line in it (1-based). */
  source: number;
  line: number;
  clock: LogClock;
  /** Boot the line belongs to within its file (a log may span reboots): 0-based. */
  boot: number;
  side: 'host' | 'target';
  kind: KernelEventKind;
  /** Host device (nvme0) or target controller number, when the line names one. */
  device?: string;
  ctrl?: number;
  /** The line's text after the timestamp (and host name), control characters kept out by the report. */
  text: string;
  /** io-timeout: queue, block-layer tag, and the wire command identifier when the kernel printed it. */
  qid?: number;
  tag?: number;
  cid?: number;
  opcode?: number;
  /** new-ctrl, removing-ctrl, controller-created: subsystem and host NQN, controller address. */
  subnqn?: string;
  hostnqn?: string;
  addr?: string;
  /** keep-alive-expired: the timer the target ran, in seconds; reconnecting: the delay. */
  seconds?: number;
  /** connect-failed, keep-alive-failed: the error number; reconnect-failed/reconnected: the attempt; ccr-attempt, ccr-failed: the timeout in ms. */
  value?: number;
}

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
