/** Which text the trace is: tracefs (`cat trace`) or `trace-cmd report`. */
export type TraceFormat = 'tracefs' | 'trace-cmd';

/** What every event line carries, from the tracer's own prefix. */
interface TraceLine {
  /** Which --trace file, 0-based, and the line in it (1-based). */
  source: number;
  line: number;
  /** Seconds on the trace clock (local, global, …: never assumed to be the capture's). */
  time: number;
  task: string;
  pid: number;
  cpu: number;
  /** The line as written, trimmed (cited by the findings that use it). */
  text: string;
}

/** A command as the kernel printed it: opcode name, and the parsed fields of `cmd=(…)`. */
export interface TraceCommand {
  /** The opcode's name as the kernel prints it (nvme_cmd_write, nvme_admin_keep_alive, nvme_fabrics_type_connect, or 0x38). */
  name: string;
  /** Its number, admin/I/O/fabrics kind, when the name is known. */
  opcode: number | undefined;
  kind: 'io' | 'admin' | 'fabrics' | undefined;
  slba: number | undefined;
  /** The 0-based block count (`len=`): NLB. */
  len: number | undefined;
  /** A Connect's own queue id (the tracepoint's `qid=` is the queue the Connect travels on). */
  connectQid: number | undefined;
}

/**
 * nvme_setup_cmd / nvmet_req_init: the host setting a command up, the target receiving it.
 * `cmdid` is the CID on the wire (genctr included) on every version whose format string we read.
 */
export interface TraceSetup extends TraceLine {
  kind: 'nvme_setup_cmd' | 'nvmet_req_init';
  /** Host: the controller instance (nvme0 → 0). Target: the controller id (nvmet1 → 1), undefined before the Connect made one (`nvmet_`). */
  ctrl: number | undefined;
  disk: string | undefined;
  qid: number;
  cmdid: number;
  nsid: number;
  cmd: TraceCommand;
}

/** nvme_complete_rq / nvmet_req_complete: the host completing a request, the target completing a command. */
export interface TraceCompletion extends TraceLine {
  kind: 'nvme_complete_rq' | 'nvmet_req_complete';
  ctrl: number | undefined;
  disk: string | undefined;
  qid: number;
  /** On 6.1 the full CID; other versions print the block-layer tag (CID & 0xfff): compare with `sameCid`. */
  cmdid: number;
  /** The completion's result (DW0/DW1) as printed. */
  result: string;
  /** The status field: SCT and SC (and More/DNR) as the kernel keeps them: 0x371 host aborted. */
  status: number;
  retries: number | undefined;
}

export interface TraceAsyncEvent extends TraceLine {
  kind: 'nvme_async_event';
  ctrl: number;
  result: number;
}

/** block_rq_insert, _issue, _requeue, _complete: a block request by device and sector range. */
export interface TraceBlock extends TraceLine {
  kind: 'block_rq_insert' | 'block_rq_issue' | 'block_rq_requeue' | 'block_rq_complete';
  /** major,minor as printed (259,0). */
  dev: string;
  rwbs: string;
  /** 512-byte sectors (precise below 2^53; `-1` requests print 2^64 - 1). */
  sector: number;
  sectors: number;
  /** block_rq_complete: the error it carried (0: none). */
  error: number | undefined;
}

export interface TraceOther extends TraceLine {
  kind: 'other';
  event: string;
}

export type TraceEvent = TraceSetup | TraceCompletion | TraceAsyncEvent | TraceBlock | TraceOther;

/** What one reading of a trace went through. */
export interface TraceCounts {
  lines: number;
  /** Event lines (every tracepoint, NVMe and block or not). */
  events: number;
  /** Event lines of the tracepoints this reader decodes (of kinds a reading did not ask for: by their name alone). */
  decoded: number;
  /** Lines of the kinds the reading decoded whose body did not parse: skipped. */
  malformed: number;
  longLines: number;
}

export interface KernelTrace {
  file: string;
  source: number;
  format: TraceFormat;
  /**
   * Reads the trace again from its start, handing over every event in file order (nothing is kept);
   * with `kinds`, only those are decoded and handed over (the rest are counted, their bodies unread).
   */
  replay(visit: (e: TraceEvent) => void, kinds?: readonly TraceEvent['kind'][]): TraceCounts;
}
