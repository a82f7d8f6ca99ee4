import { describe, expect, it } from 'vitest';
import { detached, isFailoverStatus, parseKernelTrace, parseTraceLine, readKernelTrace, sameCid, TraceFormatError } from './parse.js';
import type { TraceBlock, TraceCompletion, TraceSetup } from './types.js';

/** Sample lines written from the format strings of drivers/nvme/{host,target}/trace.h and include/trace/events/block.h. */
const SETUP_61 = '    kworker/1:1H-115     [001] .....    13.508084: nvme_setup_cmd: nvme0: disk=nvme0n1, qid=1, cmdid=16466, nsid=1, flags=0x0, meta=0x0, cmd=(nvme_cmd_write slba=14100, len=7, ctrl=0x0, dsmgmt=0, reftag=0)';

describe('parseTraceLine: the tracer prefix', () => {
  it('reads tracefs with 5 and 4 latency flags, without flags, with a TGID column, and trace-cmd report with padded event names', () => {
    const body = 'nvme0: qid=0, cmdid=0, nsid=1, flags=0x0, meta=0x0, cmd=(nvme_fabrics_type_connect recfmt=0, qid=2, sqsize=127, cattr=0, kato=0)';
    const lines = [
      `    kworker/0:1H-42      [000] .....    11.897939: nvme_setup_cmd: ${body}`,
      `    kworker/0:1H-42      [000] d..1    11.897939: nvme_setup_cmd: ${body}`,
      `    kworker/0:1H-42      [000]    11.897939: nvme_setup_cmd: ${body}`,
      `    kworker/0:1H-42      (     42) [000] .N.1.    11.897939: nvme_setup_cmd: ${body}`,
      `  kworker/0:1H-42    [000]    11.897939: nvme_setup_cmd:       ${body}`,
      `  kworker/0:1H-42    [000] d..1.   11.897939123: nvme_setup_cmd:       ${body}`,
    ];
    for (const l of lines) {
      const e = parseTraceLine(l, 2, 7) as TraceSetup;
      expect(e, l).toMatchObject({ source: 2, line: 7, task: 'kworker/0:1H', pid: 42, cpu: 0, kind: 'nvme_setup_cmd', ctrl: 0, qid: 0, cmdid: 0, nsid: 1 });
      expect(e.time).toBeCloseTo(11.897939, 6);
      expect(e.cmd).toEqual({ name: 'nvme_fabrics_type_connect', opcode: 0x01, kind: 'fabrics', slba: undefined, len: undefined, connectQid: 2 });
    }
  });

  it('keeps a task name with dashes and spaces whole, and skips headers and garbage', () => {
    const e = parseTraceLine('   my task-name-7-1234  [003] .....  100.000001: tracing_mark_write: lab step 1');
    expect(e).toMatchObject({ task: 'my task-name-7', pid: 1234, cpu: 3, kind: 'other', event: 'tracing_mark_write' });
    for (const l of ['# tracer: nop', '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION', 'cpus=2', '', 'garbage [x] 1.0: y', 'CPU 0 is empty']) {
      expect(parseTraceLine(l), l).toBeUndefined();
    }
  });
});

describe('parseTraceLine: NVMe and block events', () => {
  it('nvme_setup_cmd of 6.1 with disk=, and of older kernels without flags and meta', () => {
    const e = parseTraceLine(SETUP_61) as TraceSetup;
    expect(e).toMatchObject({ kind: 'nvme_setup_cmd', ctrl: 0, disk: 'nvme0n1', qid: 1, cmdid: 0x4052, nsid: 1 });
    expect(e.cmd).toMatchObject({ name: 'nvme_cmd_write', opcode: 0x01, kind: 'io', slba: 14100, len: 7 });
    const old = parseTraceLine('  fio-999 [002] ....  5.000000: nvme_setup_cmd: nvme1: qid=3, cmdid=65, nsid=1, cmd=(nvme_cmd_read slba=8, len=0, ctrl=0x0, dsmgmt=0, reftag=0)') as TraceSetup;
    expect(old).toMatchObject({ ctrl: 1, disk: undefined, qid: 3, cmdid: 65 });
    expect(old.cmd).toMatchObject({ opcode: 0x02, kind: 'io', slba: 8, len: 0 });
  });

  it('admin names, Keep Alive, and an opcode the kernel has no name for (printed as a number)', () => {
    const ka = parseTraceLine('  kworker/0:2-60 [000] .....  20.0: nvme_setup_cmd: nvme0: qid=0, cmdid=12289, nsid=0, flags=0x0, meta=0x0, cmd=(nvme_admin_keep_alive cdw10=00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00)') as TraceSetup;
    expect(ka.cmd).toMatchObject({ opcode: 0x18, kind: 'admin' });
    const ccr = parseTraceLine('  kworker/0:2-60 [000] .....  20.0: nvme_setup_cmd: nvme1: qid=0, cmdid=7, nsid=0, flags=0x0, meta=0x0, cmd=(0x38 cdw10=01 00 07 00)') as TraceSetup;
    expect(ccr.cmd).toMatchObject({ name: '0x38', opcode: 0x38, kind: 'admin' });
  });

  it('nvme_complete_rq with the full CID (6.1) or the tag alone (other versions): both name the command', () => {
    const full = parseTraceLine('  ksoftirqd/0-14 [000] ..s..  16.511001: nvme_complete_rq: nvme0: disk=nvme0n1, qid=1, cmdid=16466, res=0x0, retries=0, flags=0x1, status=0x371') as TraceCompletion;
    expect(full).toMatchObject({ kind: 'nvme_complete_rq', ctrl: 0, qid: 1, cmdid: 16466, retries: 0, status: 0x371, result: '0x0' });
    const tag = parseTraceLine('  ksoftirqd/0-14 [000] ..s.  16.511001: nvme_complete_rq: nvme0: disk=nvme0n1, qid=1, cmdid=82, res=0, retries=2, flags=0x0, status=0') as TraceCompletion;
    expect(tag).toMatchObject({ cmdid: 82, retries: 2, status: 0 });
    expect(sameCid(0x4052, full.cmdid)).toBe(true);
    expect(sameCid(0x4052, tag.cmdid)).toBe(true);
    expect(sameCid(0x4052, 0x5052)).toBe(false);
    expect(sameCid(0x4053, 82)).toBe(false);
  });

  it('nvmet_req_init and nvmet_req_complete: the target controller id, or none before the Connect made one', () => {
    const init = parseTraceLine('  kworker/0:1H-42 [000] .....  22.707945: nvmet_req_init: nvmet2: disk=/dev/nullb0, qid=1, cmdid=20, nsid=1, flags=0x40, meta=0x0, cmd=(nvme_cmd_read, slba=14200, len=0, ctrl=0x0, dsmgmt=0, reftag=0)') as TraceSetup;
    expect(init).toMatchObject({ kind: 'nvmet_req_init', ctrl: 2, disk: '/dev/nullb0', qid: 1, cmdid: 20 });
    expect(init.cmd).toMatchObject({ name: 'nvme_cmd_read', opcode: 0x02, kind: 'io', slba: 14200, len: 0 });
    const connect = parseTraceLine('  kworker/0:1H-42 [000] .....  11.9: nvmet_req_init: nvmet_: qid=0, cmdid=0, nsid=1, flags=0x40, meta=0x0, cmd=(nvme_fabrics_type_connect, recfmt=0, qid=1, sqsize=127, cattr=0, kato=0)') as TraceSetup;
    expect(connect).toMatchObject({ ctrl: undefined });
    expect(connect.cmd.connectQid).toBe(1);
    const done = parseTraceLine('  kworker/0:1H-42 [000] .N...  11.911403: nvmet_req_complete: nvmet1: qid=0, cmdid=0, res=0x1, status=0x0') as TraceCompletion;
    expect(done).toMatchObject({ kind: 'nvmet_req_complete', ctrl: 1, qid: 0, cmdid: 0, status: 0, retries: undefined });
  });

  it('block_rq_* with and without the byte count, with the 6.10+ ioprio column, and an error on completion', () => {
    const cases: [string, Partial<TraceBlock>][] = [
      ['dd-261 [001] ...1.  13.508084: block_rq_insert: 259,0 WS 4096 () 112800 + 8 [dd]', { kind: 'block_rq_insert', dev: '259,0', rwbs: 'WS', sector: 112800, sectors: 8 }],
      ['kworker/1:1H-115 [001] .....  13.508084: block_rq_issue: 259,0 WS 4096 () 112800 + 8 none,0,0 [kworker/1:1H]', { kind: 'block_rq_issue', sector: 112800 }],
      ['ksoftirqd/0-14 [000] ..s..  16.511231: block_rq_requeue: 259,0 WS () 112800 + 8 [0]', { kind: 'block_rq_requeue', sectors: 8 }],
      ['ksoftirqd/0-14 [000] ..s..  16.6: block_rq_complete: 259,0 WS () 112800 + 8 be,0,4 [-5]', { kind: 'block_rq_complete', error: -5 }],
      ['ksoftirqd/0-14 [000] ..s..  16.6: block_rq_complete: 0,0 N () 18446744073709551615 + 0 [0]', { kind: 'block_rq_complete', error: 0, sectors: 0 }],
    ];
    for (const [l, want] of cases) expect(parseTraceLine(l), l).toMatchObject(want);
  });

  it('a known event whose body does not parse is malformed, not guessed; nvme_async_event is read', () => {
    expect(parseTraceLine('x-1 [000] ..... 1.0: nvme_setup_cmd: nvme0: something else')).toBe('malformed');
    expect(parseTraceLine('x-1 [000] ..... 1.0: nvme_async_event: nvme0: NVME_AEN=0x000001 [NVME_AER_NOTICE_NS_CHANGED]')).toMatchObject({ kind: 'nvme_async_event', ctrl: 0, result: 1 });
  });

  it('failover statuses: host aborted and path errors (SCT 3), not media or generic errors', () => {
    expect(isFailoverStatus(0x371)).toBe(true);
    expect(isFailoverStatus(0x370)).toBe(true);
    expect(isFailoverStatus(0x302)).toBe(true);
    expect(isFailoverStatus(0x281)).toBe(false);
    expect(isFailoverStatus(0x4)).toBe(false);
  });
});

describe('readKernelTrace', () => {
  const text = ['# tracer: nop', '#', SETUP_61, 'garbage', 'x-1 [000] ..... 1.0: nvme_setup_cmd: nvme0: broken', 'x-1 [000] ..... 2.0: sched_switch: prev=a next=b'].join('\n');

  it('names the format, and each replay counts lines, events, decoded and malformed ones and hands over the same events whatever the chunking', () => {
    const t = parseKernelTrace(text, 'trace.txt', 1);
    expect(t).toMatchObject({ file: 'trace.txt', source: 1, format: 'tracefs' });
    const lines = (tr: typeof t) => {
      const out: string[] = [];
      const counts = tr.replay((e) => out.push(`${e.line}:${e.kind}`));
      expect(counts).toEqual({ lines: 6, events: 3, decoded: 1, malformed: 1, longLines: 0 });
      return out;
    };
    expect(lines(t)).toEqual(['3:nvme_setup_cmd', '6:other']);
    for (const size of [1, 3, 17, 100]) {
      const chunks = () => Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));
      expect(lines(readKernelTrace(chunks, 'trace.txt', 1)), `chunks of ${size}`).toEqual(['3:nvme_setup_cmd', '6:other']);
    }
    // Asked for some kinds, a replay decodes only those: the rest are counted by name, their bodies never read (so never malformed).
    const only: string[] = [];
    expect(t.replay((e) => only.push(e.kind), ['block_rq_issue'])).toEqual({ lines: 6, events: 3, decoded: 2, malformed: 0, longLines: 0 });
    expect(only).toEqual([]);
    expect(parseKernelTrace(`cpus=2\n${SETUP_61}`).format).toBe('trace-cmd');
    expect(parseKernelTrace('  kworker/1:1H-115   [001]    13.508084: sched_switch: x').format).toBe('trace-cmd');
  });

  it('the check reads no further than the first event line', () => {
    let chunks = 0;
    const text = function* () {
      for (let i = 0; i < 1000; i++) {
        chunks++;
        yield `${SETUP_61}\n`;
      }
    };
    readKernelTrace(text, 'big.txt', 0);
    expect(chunks).toBeLessThanOrEqual(2);
  });

  it('a file with no event line is not a trace', () => {
    expect(() => parseKernelTrace('# tracer: nop\n#\nhello\n', 'prose.txt')).toThrow(TraceFormatError);
    expect(() => parseKernelTrace('[   1.000000] nvme nvme0: new ctrl\n', 'dmesg.txt')).toThrow(/dmesg\.txt: no trace event line in 1 lines/);
    // A clock that counts ticks cannot be laid on a capture's seconds: said so, not "no event line".
    expect(() => parseKernelTrace('  kworker/1:1H-115 [001] ..... 123456789012: nvme_setup_cmd: nvme0: qid=1\n', 'tsc.txt')).toThrow(/tsc\.txt: its timestamps are clock ticks/);
  });
});

describe('detached', () => {
  it('is an equal copy that shares no object with the event read', () => {
    const e = parseTraceLine(SETUP_61) as TraceSetup;
    const d = detached(e);
    expect(d).toEqual(JSON.parse(JSON.stringify(e)));
    expect(d).not.toBe(e);
    expect(d.cmd).not.toBe(e.cmd);
  });
});
