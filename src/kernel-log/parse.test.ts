import { describe, expect, it } from 'vitest';
import { decodeLine, eventsOf, LogFormatError, MAX_LINE_CHARS, parseKernelLog, readKernelLog } from './parse.js';

/** Host and target lines as the kernel's format strings print them (drivers/nvme/host/tcp.c, core.c; drivers/nvme/target). */
const HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001';
const SUBNQN = 'nqn.2026-11.io.test:subsys';

describe('kernel log lines', () => {
  it('reads the I/O timeout in both forms: the block-layer tag, and tag plus the command identifier on the wire', () => {
    // "queue %d: timeout request %#x type %d" (older kernels: the tag only)
    expect(decodeLine('nvme nvme0: queue 1: timeout request 0x41 type 4')).toMatchObject({ kind: 'io-timeout', device: 'nvme0', qid: 1, tag: 0x41 });
    expect(decodeLine('nvme nvme0: queue 0: timeout request 0x0 type 4')).toMatchObject({ kind: 'io-timeout', qid: 0, tag: 0 });
    // "I/O tag %d (%04x) type %d opcode %#x (%s) QID %d timeout": a non-zero generation counter in the top 4 bits.
    const e = decodeLine('nvme nvme1: I/O tag 65 (3041) type 4 opcode 0x1 (Write) QID 2 timeout');
    expect(e).toMatchObject({ kind: 'io-timeout', device: 'nvme1', tag: 65, cid: 0x3041, opcode: 1, qid: 2 });
    // The RDMA transport's form has no PDU type.
    expect(decodeLine('nvme nvme0: I/O tag 7 (1007) opcode 0x2 (Read) QID 1 timeout')).toMatchObject({ kind: 'io-timeout', tag: 7, cid: 0x1007, qid: 1 });
  });

  it('reads the host\'s recovery and reconnect lines, old and new forms', () => {
    expect(decodeLine('nvme nvme0: starting error recovery')?.kind).toBe('error-recovery');
    expect(decodeLine('nvme nvme0: Reconnecting in 10 seconds...')).toMatchObject({ kind: 'reconnecting', seconds: 10 });
    expect(decodeLine('nvme nvme0: failed to connect socket: -111')).toMatchObject({ kind: 'connect-failed', value: -111 });
    expect(decodeLine('nvme nvme0: Failed reconnect attempt 3')).toMatchObject({ kind: 'reconnect-failed', value: 3 });
    expect(decodeLine('nvme nvme0: Failed reconnect attempt 3/60')).toMatchObject({ kind: 'reconnect-failed', value: 3 });
    expect(decodeLine('nvme nvme0: Successfully reconnected (2 attempt)')).toMatchObject({ kind: 'reconnected', value: 2 });
    expect(decodeLine('nvme nvme0: Successfully reconnected (attempt 1/600)')).toMatchObject({ kind: 'reconnected', value: 1 });
    expect(decodeLine('nvme nvme0: creating 8 I/O queues.')).toMatchObject({ kind: 'creating-io-queues', value: 8 });
    expect(decodeLine('nvme nvme0: mapped 2/0/0 default/read/poll queues.')).toMatchObject({ kind: 'queues-mapped', value: 2, device: 'nvme0' });
    expect(decodeLine(`nvme nvme0: new ctrl: NQN "${SUBNQN}", addr 192.168.1.2:4420`)).toMatchObject({ kind: 'new-ctrl', subnqn: SUBNQN, addr: '192.168.1.2:4420' });
    expect(decodeLine(`nvme nvme3: new ctrl: NQN "${SUBNQN}", addr 192.168.1.2:4420, hostnqn: ${HOSTNQN}`)).toMatchObject({ kind: 'new-ctrl', hostnqn: HOSTNQN });
    expect(decodeLine(`nvme nvme0: Removing ctrl: NQN "${SUBNQN}"`)).toMatchObject({ kind: 'removing-ctrl', subnqn: SUBNQN });
    expect(decodeLine('nvme nvme0: failed nvme_keep_alive_end_io error=10')).toMatchObject({ kind: 'keep-alive-failed', value: 10 });
    expect(decodeLine('nvme nvme0: long keepalive RTT (4064 ms)')).toMatchObject({ kind: 'long-keepalive-rtt', value: 4064 });
    expect(decodeLine('block nvme0n1: no usable path - requeuing I/O')).toMatchObject({ kind: 'no-usable-path', device: 'nvme0' });
  });

  it('reads the target\'s controller lines, old and new forms, and keeps other NVMe lines as plain events', () => {
    expect(decodeLine(`nvmet: creating nvm controller 3 for subsystem ${SUBNQN} for NQN ${HOSTNQN}.`)).toMatchObject({ kind: 'controller-created', side: 'target', ctrl: 3, subnqn: SUBNQN, hostnqn: HOSTNQN });
    expect(decodeLine(`nvmet: creating controller 3 for subsystem ${SUBNQN} for NQN ${HOSTNQN}.`)).toMatchObject({ ctrl: 3, hostnqn: HOSTNQN });
    expect(decodeLine(`nvmet: Created nvm controller 1 for subsystem ${SUBNQN} for NQN ${HOSTNQN} with DH-HMAC-CHAP.`)).toMatchObject({ ctrl: 1, hostnqn: HOSTNQN });
    expect(decodeLine('nvmet: ctrl 1 keep-alive timer (30 seconds) expired!')).toMatchObject({ kind: 'keep-alive-expired', ctrl: 1, seconds: 30 });
    expect(decodeLine('nvmet: ctrl 2 fatal error occurred!')).toMatchObject({ kind: 'fatal-error', ctrl: 2 });
    expect(decodeLine('nvmet_tcp: enabling port 1 (10.0.2.1:4420)')).toMatchObject({ kind: 'other', side: 'target' });
    expect(decodeLine('nvme nvme0: Identify Descriptors failed (nsid=1, status=0x2)')).toMatchObject({ kind: 'other', side: 'host' });
    expect(decodeLine('e1000e: eth0 NIC Link is Up')).toBeUndefined();
  });
});

describe('kernel log timestamps', () => {
  const body = 'nvme nvme0: starting error recovery';
  const cases: [string, string, object][] = [
    ['dmesg', `[   57.815958] ${body}`, { kind: 'uptime', seconds: 57.815958 }],
    ['journalctl-short-monotonic', `[   57.815958] lab-host kernel: ${body}`, { kind: 'uptime', seconds: 57.815958 }],
    ['dmesg-iso', `2026-11-28T08:04:47,123456+00:00 ${body}`, { kind: 'wall', epoch: Date.UTC(2026, 10, 28, 8, 4, 47) / 1000 + 0.123456, yearless: false }],
    ['journalctl-short-iso-precise', `2026-11-28T09:04:47.123456+0100 lab-host kernel: ${body}`, { kind: 'wall', epoch: Date.UTC(2026, 10, 28, 8, 4, 47) / 1000 + 0.123456, yearless: false }],
    ['syslog-iso', `2026-11-28T08:04:47.123456Z lab-host kernel: [   57.815958] ${body}`, { kind: 'wall', epoch: Date.UTC(2026, 10, 28, 8, 4, 47) / 1000 + 0.123456, yearless: false }],
    ['dmesg-T', `[Sat Nov 28 08:04:47 2026] ${body}`, { kind: 'wall', epoch: new Date(2026, 10, 28, 8, 4, 47).getTime() / 1000, yearless: false }],
    ['journalctl-short-precise', `Nov 28 08:04:47.123456 lab-host kernel: ${body}`, { kind: 'wall', yearless: true }],
  ];
  for (const [format, line, clock] of cases) {
    it(`${format}`, () => {
      const log = parseKernelLog(`some preamble without a time\n${line}\n`, 'k.log', 0);
      expect(log.format).toBe(format);
      expect(eventsOf(log)).toHaveLength(1);
      expect(eventsOf(log)[0]).toMatchObject({ kind: 'error-recovery', device: 'nvme0', line: 2 });
      const c = eventsOf(log)[0].clock;
      expect(c).toMatchObject(clock);
      if (c.kind === 'wall' && 'epoch' in clock) expect(c.epoch).toBeCloseTo((clock as { epoch: number }).epoch, 5);
    });
  }

  it('skips lines that are not about NVMe, and refuses a file with no kernel timestamp', () => {
    const log = parseKernelLog('[    1.000000] Linux version 6.1.0\n[    2.000000] e1000e: eth0 up\n', 'k.log', 0);
    expect(eventsOf(log)).toEqual([]);
    expect(() => parseKernelLog('hello\nworld\n', 'notes.txt', 0)).toThrow(LogFormatError);
  });

  it('keeps lines of two controllers apart by device', () => {
    const log = parseKernelLog([
      '[   10.000000] nvme nvme0: queue 1: timeout request 0x41 type 4',
      '[   10.100000] nvme nvme1: queue 1: timeout request 0x41 type 4',
      '[   10.200000] nvme nvme1: starting error recovery',
    ].join('\n'), 'k.log', 0);
    expect(eventsOf(log).map((e) => `${e.device} ${e.kind}`)).toEqual(['nvme0 io-timeout', 'nvme1 io-timeout', 'nvme1 error-recovery']);
  });

  it('numbers the boots of a log that spans a reboot: seconds since boot start again, or a journal says so', () => {
    const log = parseKernelLog([
      '[  500.000000] nvme nvme0: starting error recovery',
      '[    3.000000] nvme nvme0: creating 1 I/O queues.',
      '-- Boot 0123456789abcdef --',
      '[    4.000000] nvme nvme0: creating 1 I/O queues.',
    ].join('\n'), 'k.log', 0);
    expect(eventsOf(log).map((e) => e.boot)).toEqual([0, 1, 2]);
  });
});

describe('kernel logs read as a stream', () => {
  const text = [
    '[   10.000000] nvme nvme0: queue 1: timeout request 0x41 type 4',
    `[   10.050000] ${'x'.repeat(3 * MAX_LINE_CHARS)}`,
    '[   10.100000] nvme nvme1: I/O tag 65 (3041) type 4 opcode 0x1 (Write) QID 2 timeout',
    '[   10.200000] nvme nvme1: starting error recovery\r',
  ].join('\n');

  it('gives the same events and counts however the text is split into chunks', () => {
    const whole = parseKernelLog(text, 'k.log', 0);
    const expected = eventsOf(whole);
    expect(expected.map((e) => [e.line, e.kind])).toEqual([[1, 'io-timeout'], [3, 'io-timeout'], [4, 'error-recovery']]);
    for (const size of [1, 2, 7, 64, MAX_LINE_CHARS - 1, MAX_LINE_CHARS, MAX_LINE_CHARS + 1]) {
      const chunks = () => Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));
      const log = readKernelLog(chunks, 'k.log', 0);
      expect(eventsOf(log), `chunks of ${size}`).toEqual(expected);
      expect([log.lines, log.longLines, log.events], `chunks of ${size}`).toEqual([4, 1, 3]);
    }
  });

  it('keeps only what alignment needs: the named identifiers, by queue and by kind of queue', () => {
    const log = parseKernelLog(text, 'k.log', 0);
    expect([...log.named].sort()).toEqual(['1:t65', '2:c12353', 'io:c12353', 'io:t65']);
    expect(log.groups).toHaveLength(1);
    expect(log.groups[0].probes.map((e) => e.line)).toEqual([1, 3]);
  });
});
