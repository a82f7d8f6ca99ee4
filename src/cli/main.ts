import type { Vantage } from '../merge/types.js';
import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CaptureError, ExitCode, UsageError } from '../common/errors.js';
import type { RetryRule, Severity } from '../correlate/types.js';
import { VERSION } from '../api/version.js';
import { ReaderGone } from './output.js';
import { FORMATS, type FormatOptions } from './formats.js';

/** Options every command shares, parsed once from one table; the report formats' own come from their registry. */
export interface CommonOptions extends FormatOptions {
  port?: number[];
  kato?: number;
  cqt?: number;
  rule: RetryRule;
  failOn: Severity | 'none';
  color: boolean;
  quiet?: boolean;
  dmesg?: string[];
  dmesgOffset?: number;
  trace?: string[];
  tlsKeylog?: string[];
  allAssociations?: boolean;
  sameTraffic?: boolean;
  peerOffset?: number;
  vantage?: Vantage[];
}

const RULES: RetryRule[] = ['kato+cqt', 'kato', 'tp4129'];
const SEVERITIES = ['error', 'warning', 'info', 'none'];

function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} takes a whole number, got '${value}'`);
    return n;
  };
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function integer(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} takes a whole number of milliseconds, got '${value}'`);
    return n;
  };
}

function milliseconds(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} takes milliseconds, got '${value}'`);
    return n;
  };
}

function vantages(value: string): Vantage[] {
  const list = value.split(',');
  if (list.length !== 2 || !list.includes('host') || list.some((v) => v !== 'host' && v !== 'target' && v !== 'between')) {
    throw new InvalidArgumentError(`--vantage takes two comma-separated points, one of them host (host,target or target,host), got '${value}'`);
  }
  return list as Vantage[];
}

function ports(value: string, previous: number[] | undefined): number[] {
  const list = value.split(',').map((p) => {
    const n = Number(p);
    if (!/^\d+$/.test(p) || n < 1 || n > 65535) throw new InvalidArgumentError(`'${p}' is not a TCP port`);
    return n;
  });
  return [...(previous ?? []), ...list];
}

/** The option table: the one source of parsing and help for every command. */
function commonOptions(): Option[] {
  return [
    new Option('--port <ports>', 'more TCP port(s) carrying NVMe/TCP, comma-separated or repeated (4420 and 8009 always; an ICReq on any port is found too)').argParser(ports),
    new Option('--kato <ms>', 'keep-alive timeout for associations whose Connect is not in the capture (default: Linux 5000)').argParser(nonNegativeInt('--kato')),
    new Option('--cqt <ms>', 'command quiesce time when Identify Controller did not report one').argParser(nonNegativeInt('--cqt')),
    new Option('--rule <rule>', 'wait required before a retry is safe').choices(RULES).default('kato+cqt'),
    ...FORMATS.map((f) => new Option(`${f.flag} ${f.argument}`, f.help)),
    new Option('--all-associations', 'list every association in full (by default a path\'s uneventful ones are summarised and counted)'),
    new Option('--dmesg <file>', 'kernel log of the host and/or target (dmesg, dmesg -T/--time-format iso, journalctl -k, syslog); repeat for several').argParser(collect),
    new Option('--trace <file>', 'kernel trace of the host and/or target (cat /sys/kernel/tracing/trace, trace-cmd report) with nvme, nvmet and block events; repeat for several').argParser(collect),
    new Option('--tls-keylog <file>', 'TLS key log (SSLKEYLOGFILE of tlshd on the host or target) to decrypt NVMe/TCP over TLS; repeat for several').argParser(collect),
    new Option('--dmesg-offset <ms>', 'milliseconds to add to wall-clock kernel log times (a known clock difference)').argParser(integer('--dmesg-offset')),
    new Option('--same-traffic', 'the two captures hold the same traffic seen at two points (host side and target side): read them as one'),
    new Option('--peer-offset <ms>', 'with --same-traffic: the target-side capture\'s clock minus the host-side one\'s, in ms (default: aligned from the traffic)').argParser(milliseconds('--peer-offset')),
    new Option('--vantage <list>', 'with --same-traffic: where each capture was taken, in order (host,target or target,host; default: inferred from the traffic)').argParser(vantages),
    new Option('--fail-on <severity>', 'exit 1 when a finding reaches this severity (none: never)').choices(SEVERITIES).default('error'),
    new Option('--no-color', 'plain output even on a terminal'),
    new Option('-q, --quiet', 'no progress bar, no summary on stderr'),
  ];
}

function withCommon(cmd: Command): Command {
  for (const option of commonOptions()) cmd.addOption(option);
  return cmd;
}

export function buildProgram(): Command {
  const program = new Command('nvme-tcp-timeline')
    .description('Per-command timelines and KATO retry verdicts from NVMe/TCP packet captures')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();
  program.configureOutput({ writeErr: (text) => process.stderr.write(text) });

  withCommon(program.command('analyze', { isDefault: true }))
    .description('summary and findings for one or more captures (pcap, pcapng, .gz, - for stdin)')
    .argument('<captures...>')
    .action(async (captures: string[], options: CommonOptions) => {
      const { runAnalyze } = await import('./commands.js');
      process.exitCode = await runAnalyze(captures, options);
    });

  withCommon(program.command('timeline'))
    .description('every step of each selected command, with frame numbers and relative times')
    .argument('<captures...>')
    .option('--assoc <n>', 'only this association', nonNegativeInt('--assoc'))
    .option('--qid <n>', 'only this queue id', nonNegativeInt('--qid'))
    .option('--cid <cid>', 'only this command id (decimal or 0x hex)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new InvalidArgumentError(`'${v}' is not a command id`);
      return n;
    })
    .action(async (captures: string[], options: CommonOptions & { assoc?: number; qid?: number; cid?: number }) => {
      const { runTimeline } = await import('./commands.js');
      process.exitCode = await runTimeline(captures, options);
    });

  withCommon(program.command('pdus'))
    .description('one line per NVMe/TCP PDU (JSON lines with --json), for debugging and cross-checking with tshark')
    .argument('<capture>')
    .option('--include-incomplete', 'also list PDUs with bytes that were never captured (dropped; tshark shows none of these)')
    .action(async (capture: string, options: CommonOptions & { includeIncomplete?: boolean }) => {
      const { runPdus } = await import('./commands.js');
      process.exitCode = await runPdus(capture, options);
    });

  withCommon(program.command('check'))
    .description('CI gate: one line per capture, exit 1 when a finding reaches --fail-on')
    .argument('<captures...>')
    .action(async (captures: string[], options: CommonOptions) => {
      const { runCheck } = await import('./commands.js');
      process.exitCode = await runCheck(captures, options);
    });
  return program;
}

/**
 * `--json` and `--markdown` take an optional file, so `analyze --json trace.pcap`
 * would read the capture's name as the output file. When the word after the flag
 * looks like a capture (or is `-`), the flag moves to the end, where it takes no value.
 */
export function normalizeArgv(argv: string[]): string[] {
  let out = argv;
  for (const flag of FORMATS.filter((f) => f.stdout).map((f) => f.flag)) {
    const i = out.indexOf(flag);
    if (i < 0 || i + 1 >= out.length) continue;
    const next = out[i + 1];
    if (next !== '-' && !/\.(pcap|pcapng|cap|ntar|gz)$/i.test(next)) continue;
    out = [...out.slice(0, i), ...out.slice(i + 1), flag];
  }
  return out;
}

/** The one place that turns outcomes into exit codes. */
export async function main(argv: string[]): Promise<void> {
  tuneHeapForStreaming();
  // A reader that closes our output early (`| head`) is no error: what it did not take is not
  // written, and the exit code stays the run's (the verdict, or clean when a listing stops early).
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  try {
    await buildProgram().parseAsync(normalizeArgv(argv));
  } catch (error) {
    process.exitCode = exitCodeFor(error);
  }
}

/**
 * Streaming keeps each connection's state for minutes of capture time, so it outlives the young
 * generation and dies in the old one. V8's defaults then set peak RSS, not what is kept: a 2 x 16
 * MiB young generation (more on Node 22+), and an old-space limit of up to 4x the live size seen at
 * the last full GC, which objects allocated during a slow concurrent mark inflate. On a 20,000-
 * association storm (live heap 10-30 MB) that gave 166-206 MiB on Node 20, 189-357 on 22, 285-377
 * on 24. A young generation held at its initial size and old space grown by 25 % at a time give
 * 79-121 MiB on all three (text, --json, --html); --optimize-for-size bounded it too, at 5 % more
 * time on a day-long keep-alive capture and 15 % on the storm. Both flags are read when the heap
 * grows, so setting them here works; given as node options the growth factor changed nothing
 * (measured). Anyone who sizes the heap themselves (a space size or growing factor in NODE_OPTIONS
 * or node's own flags) keeps their settings.
 */
function tuneHeapForStreaming(): void {
  const given = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  if (/space-size|optimize-for-size|heap-growing/.test(given)) return;
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--heap-growing-percent=25');
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version are not errors; commander already printed the message.
    return error.exitCode === 0 ? ExitCode.clean : ExitCode.usage;
  }
  // `| head` has what it wanted: stopping early is success.
  if (error instanceof ReaderGone) return ExitCode.clean;
  if (error instanceof CaptureError) {
    process.stderr.write(`nvme-tcp-timeline: ${error.message}\n`);
    return ExitCode.unreadableCapture;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`nvme-tcp-timeline: ${error.message}\n`);
    return ExitCode.usage;
  }
  const e = error as Error;
  process.stderr.write(`nvme-tcp-timeline: internal error: ${e?.message ?? String(error)}\n` +
    `This is a bug; please report it with the command line and, if you can, the capture.\n` +
    (process.env.NVME_TCP_TIMELINE_DEBUG ? `${e?.stack ?? ''}\n` : ''));
  return ExitCode.internal;
}
