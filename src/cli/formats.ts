import { withFrameObjects } from '../common/frame-ref.js';
/**
 * Every report format the CLI writes, in one list: the option table, the output-file checks, the
 * artifacts written after the analysis, the stdout dispatch and `pdus`'s refusals all read it. A
 * new format is a renderer in src/report and one entry here.
 */
import type { CaptureError } from '../common/errors.js';
import type { Severity } from '../correlate/types.js';
import type { HtmlCollector } from '../report/html-report.js';
import type { Report } from '../report/types.js';
import { writeOutputFile } from './output.js';

/** One capture's analysis as the formats see it. */
export interface Outcome {
  file: string;
  report?: Report;
  /** Seconds the analysis of this capture took (JUnit's time). */
  seconds?: number;
  error?: CaptureError;
  /** Commands kept for the HTML timeline (only with --html). */
  collected?: HtmlCollector;
}

/** What a renderer is told besides the outcomes. */
export interface FormatContext {
  failOn: Severity | 'none';
}

/** The formats' option keys: what commander sets for each flag (a file, or true for stdout). */
export const FORMAT_KEYS = ['json', 'html', 'perfetto', 'junit', 'markdown', 'annotate'] as const;
export type FormatOptions = Partial<Record<(typeof FORMAT_KEYS)[number], string | true>>;

export interface ReportFormat {
  /** The option key in CommonOptions and its flag, argument and help. */
  key: (typeof FORMAT_KEYS)[number];
  flag: string;
  argument: '[file]' | '<file>' | '<out.pcapng>';
  help: string;
  /** The argument is optional: without a file the document goes to stdout. */
  stdout: boolean;
  /** It needs every command as the capture is read (kept or streamed): analysis hooks are set up for it. */
  perCommand: boolean;
  /** Why it takes exactly one capture, when it does. */
  oneCapture?: string;
  /** Why it cannot read standard input, when it cannot. */
  noStdin?: string;
  /** The whole document, from the outcomes (formats written after the analysis). */
  render?(outcomes: Outcome[], context: FormatContext): Promise<string>;
  /** Writes the file itself (a format that is not one string). */
  write?(outcomes: Outcome[], file: string): Promise<void>;
}

function reports(outcomes: Outcome[]): Report[] {
  return outcomes.flatMap((x) => (x.report ? [x.report] : []));
}

/** Deterministic JSON: same capture, same bytes. */
export function reportJson(value: Report | Report[]): string {
  const view = (r: Report) => (r.sameTraffic ? withFrameObjects(r) : r);
  return JSON.stringify(Array.isArray(value) ? value.map(view) : view(value), null, 2) + '\n';
}

/** The Markdown of each report, with the command line that made it. */
async function markdown(list: Report[]): Promise<string> {
  const { renderMarkdown } = await import('../report/markdown.js');
  const words = process.argv.slice(2).map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`));
  return list.map((r) => renderMarkdown(r, { commandLine: ['nvme-tcp-timeline', ...words].join(' ') })).join('\n');
}

export const FORMATS: readonly ReportFormat[] = [
  {
    key: 'json', flag: '--json', argument: '[file]', stdout: true, perCommand: false,
    help: 'write the JSON report to a file, or to stdout without one',
    render: async (outcomes) => {
      const list = reports(outcomes);
      return reportJson(list.length === 1 ? list[0] : list);
    },
  },
  {
    key: 'html', flag: '--html', argument: '<file>', stdout: false, perCommand: true,
    help: 'write a self-contained HTML timeline',
    render: async (outcomes) => {
      const { renderHtml } = await import('../report/html-report.js');
      return renderHtml(outcomes.flatMap((x) => (x.report && x.collected ? [{ report: x.report, collected: x.collected }] : [])));
    },
  },
  {
    key: 'perfetto', flag: '--perfetto', argument: '<file>', stdout: false, perCommand: true,
    help: 'write the timeline as a Trace Event Format JSON file for ui.perfetto.dev or chrome://tracing',
    oneCapture: '--perfetto writes the trace of one capture: give exactly one',
    // Streamed while the capture is read (commands.ts): nothing is left to write after it.
  },
  {
    key: 'junit', flag: '--junit', argument: '<file>', stdout: false, perCommand: false,
    help: 'write JUnit XML (one test case per capture)',
    render: async (outcomes, context) => {
      const { renderJunit } = await import('../report/junit.js');
      const cases = outcomes.map((x) => ({ file: x.file, report: x.report, error: x.error?.message, seconds: x.seconds }));
      return renderJunit(cases, context.failOn === 'none' ? 'error' : context.failOn);
    },
  },
  {
    key: 'markdown', flag: '--markdown', argument: '[file]', stdout: true, perCommand: false,
    help: 'write a Markdown report for an issue or a mailing list to a file, or to stdout without one',
    render: async (outcomes) => markdown(reports(outcomes)),
  },
  {
    key: 'annotate', flag: '--annotate', argument: '<out.pcapng>', stdout: false, perCommand: false,
    help: 'write the capture as pcapng with a packet comment on every frame a finding names (open it in Wireshark); with --same-traffic, one per capture (OUT-target.pcapng beside it)',
    oneCapture: '--annotate writes one capture: give exactly one',
    noStdin: '--annotate reads the capture a second time: give a file, not standard input',
    write: async (outcomes, file) => {
      const list = reports(outcomes);
      if (list.length !== 1) return;
      const { annotateCapture, annotateCaptures } = await import('../api/annotate.js');
      if (list[0].sameTraffic) await annotateCaptures(list[0], file);
      else await annotateCapture(outcomes[0].file, list[0], file);
    },
  },
];

/** The option's value: a file, `true` (stdout), or undefined (not asked for). */
export function requested(o: FormatOptions, f: ReportFormat): string | true | undefined {
  return o[f.key];
}

/** The files the options ask for, to be checked before any capture is read. */
export function outputFiles(o: FormatOptions): (string | undefined)[] {
  return FORMATS.map((f) => {
    const v = requested(o, f);
    return typeof v === 'string' ? v : undefined;
  });
}

/** Writes every file format the options ask for, after the analysis. */
export async function writeFormats(outcomes: Outcome[], o: FormatOptions, context: FormatContext): Promise<void> {
  for (const f of FORMATS) {
    const file = requested(o, f);
    if (typeof file !== 'string') continue;
    if (f.write) await f.write(outcomes, file);
    else if (f.render) await writeOutputFile(file, await f.render(outcomes, context));
  }
}

/** The format asked for on stdout (`--json` or `--markdown` without a file), if any. */
export function stdoutFormat(o: FormatOptions): ReportFormat | undefined {
  return FORMATS.find((f) => f.stdout && requested(o, f) === true);
}
