import { frameLabel } from '../../common/frame-ref.js';
import { commandLabel, seconds } from '../phrases.js';
import type {
  AfterRetryActivity, AssociationSummary, CrossControllerReset, EvidenceStep, FenceKind, RetryKernelEvidence, RetryRule, RetryTraceEvidence, KernelLine, Stamp,
} from '../types.js';
import { declareRule, PLACED_LINE_SCHEMA, type JsonSchema } from './declare.js';

/** The original and its retry: what every finding about a retried command names. */
export interface RetryIdentity {
  originalFrame: number;
  originalTime: number;
  retryFrame: number;
  originalAssoc: number;
  retryAssoc: number;
  originalQid: number | null;
  originalCid: number;
  opcode: string;
  nsid: number;
  slba: number | null;
  nlb: number | null;
}

/** The schema of a retried command's identity: the first fields of every such finding's details. */
export const RETRY_IDENTITY_SCHEMA = {
  required: ['originalFrame', 'originalTime', 'retryFrame', 'originalAssoc', 'retryAssoc', 'originalQid', 'originalCid', 'opcode', 'nsid', 'slba', 'nlb'],
  properties: {
    originalFrame: { $ref: '#/$defs/frameRef' },
    originalTime: { type: 'number' },
    retryFrame: { $ref: '#/$defs/frameRef' },
    originalAssoc: { type: 'integer' },
    retryAssoc: { type: 'integer' },
    originalQid: { type: ['integer', 'null'] },
    originalCid: { type: 'integer' },
    opcode: { type: 'string' },
    nsid: { type: 'integer' },
    slba: { type: ['integer', 'null'] },
    nlb: { type: ['integer', 'null'] },
  },
};

export interface RetryDetails extends RetryIdentity {
  lastControllerContactFrame: number | null;
  lastControllerContactTime: number | null;
  gapMs: number | null;
  requiredMs: number;
  rule: RetryRule;
  katoMs: number;
  katoSource: AssociationSummary['katoSource'];
  cqtMs: number;
  cqtSource: AssociationSummary['cqtSource'];
  tbkas: boolean;
  fencedBy: (Stamp & { kind: FenceKind }) | null;
  /** The last Cross-Controller Reset of the original's controller before the retry, when one was sent. */
  crossControllerReset: CrossControllerReset | null;
  trigger: string;
  samePath: boolean;
  uncertain: boolean;
  /** KATO the retry's own association declared in its Connect, when it did. */
  retryAssocKatoMs: number | null;
  /**
   * The controller's TCP ACK covering the command's last byte (its capsule, or its last H2CData when it used R2T); null: it may never have arrived.
   * With a target-side capture (--same-traffic) that shows the capsule arriving: that frame, as `seenAt` too.
   */
  arrival: (Stamp & { seenAt?: number }) | null;
  /** Only with another capture that watched the connection: did the original reach the controller's side? */
  reachedController?: boolean;
  /**
   * With a target-side capture: what it last shows reaching the old controller before the retry that restarts the
   * controller's keep-alive timer — any command with traffic-based keep-alive (the timer then runs out between KATO and
   * twice KATO after it, as it checks once a period), a Keep Alive otherwise (KATO after it) — and when, relative to
   * the retry, the timer runs out (ms; negative: before the retry).
   */
  controllerLastCommand?: Stamp & { keepAlive: boolean; timerEndsAfterRetryMs: { from: number; to: number } };
  /** The ACK covering the capsule alone. */
  capsuleArrival: Stamp | null;
  /** The old queue's first FIN or RST. */
  teardown: (Stamp & { from: 'host' | 'controller'; kind: 'fin' | 'rst' }) | null;
  /** R2T, C2HData or completions the controller sent for the original after the retry. */
  afterRetry: AfterRetryActivity[];
  evidence: EvidenceStep[];
  /** With --dmesg: the log lines behind the retry. */
  kernelLog?: RetryKernelEvidence;
  /**
   * With --dmesg, when the target logged its keep-alive timer expiring for the original's
   * controller: when it gave up, and the retry's margin to that moment (negative: the retry came first).
   */
  controllerGaveUpAt?: KernelLine & { timerSeconds: number; marginMs: number };
  /** With --trace: what the kernel's own trace says of the original and the retry. */
  kernelTrace?: RetryTraceEvidence;
}

export const RETRY_RULES = ['retry-before-kato', 'retry-after-kato', 'retry-after-fence'] as const;
export type RetryRuleId = (typeof RETRY_RULES)[number];

function arrivalText(arrival: RetryDetails['arrival'], capsuleArrival: Stamp | null, reached: boolean | undefined): string {
  if (arrival?.seenAt !== undefined) return `; the target-side capture shows it reaching the controller in frame ${frameLabel(arrival.seenAt)}`;
  if (reached === false) return '; it never reached the controller: the target-side capture watched its connection and never shows it';
  if (arrival) return `; the controller acknowledged it in frame ${frameLabel(arrival.frame)}`;
  if (capsuleArrival) return `; the controller acknowledged its capsule (frame ${frameLabel(capsuleArrival.frame)}) but not all its data: the data may never have arrived`;
  return '; the controller never acknowledged it: it may never have reached the controller';
}

/** What the target-side capture says of the old controller's keep-alive timer at the retry. */
function controllerTimerText(d: RetryDetails): string {
  const c = d.controllerLastCommand;
  if (!c) return '';
  const { from, to } = c.timerEndsAfterRetryMs;
  const rel = (ms: number) => `${seconds(Math.abs(ms))} ${ms >= 0 ? 'after' : 'before'} the retry`;
  const when = from === to ? rel(from) : from < 0 === to < 0 ? `${seconds(Math.min(Math.abs(from), Math.abs(to)))}–${seconds(Math.max(Math.abs(from), Math.abs(to)))} ${to < 0 ? 'before' : 'after'} the retry` : `between ${rel(from)} and ${rel(to)}`;
  return `; the target-side capture shows the old controller's last ${c.keepAlive ? 'Keep Alive' : 'command'} arriving in frame ${frameLabel(c.frame)}: its keep-alive timer (KATO ${d.katoMs} ms${d.tbkas ? ', traffic-based: checked once a period' : ''}) runs out about ${when}`;
}

/** A Cross-Controller Reset that did not fence the old controller: the host fell back to waiting. */
function resetText(ruleId: RetryRuleId, d: RetryDetails): string {
  const r = d.crossControllerReset;
  if (!r || (ruleId === 'retry-after-fence' && d.fencedBy?.kind === 'cross-controller-reset')) return '';
  const how = r.outcome === 'failed' ? `failed (${r.status})` : r.outcome === 'pending' ? 'completed without resetting it at once (IRS clear)' : 'reset it';
  return `; a Cross-Controller Reset of its controller from association ${r.fromAssoc} (frame ${frameLabel(r.frame)}) ${how}${r.outcome === 'reset' ? '' : ': no fence, the host falls back to time-based recovery'}`;
}

/** What the kernel log adds to a retry's sentence. */
function kernelText(d: RetryDetails): string {
  let text = '';
  const k = d.kernelLog;
  if (k?.trigger?.command && k.trigger.command.frame === d.originalFrame) text += `; its own timeout started error recovery (kernel log line ${k.trigger.line})`;
  if (k?.duringRecovery) text += '; the host logged its timeout while error recovery was already running: failed at once, retried without waiting';
  const g = d.controllerGaveUpAt;
  if (g) {
    const when = g.marginMs >= 0 ? `${seconds(g.marginMs)} before the retry` : `${seconds(-g.marginMs)} after the retry`;
    text += `; the target's keep-alive timer (${g.timerSeconds} s) expired ${when}`;
  }
  return text;
}

/** What the kernel trace adds to a retry's sentence: how the kernel ties it to its original, and what the target did. */
function traceText(d: RetryDetails): string {
  const k = d.kernelTrace;
  if (!k) return '';
  const line = (r: { line: number } | null | undefined) => (r ? ` (trace line ${r.line})` : '');
  const ties = {
    requeued: `; the kernel trace shows the same block request requeued${line(k.requeue)} and sent again`,
    'failed-over': `; the kernel trace shows the original completed with a path status${line(k.original.completion)} and the same range sent again`,
    'different-request': `; the kernel trace shows the retry is a different request${line(k.contradiction)}`,
    unknown: '',
  };
  let text = ties[k.tie];
  const t = k.target;
  if (t) {
    if (!t.original.received) text += '; the target\'s trace shows no arrival of the original: it did not reach the controller';
    else if (t.original.completed && t.retry.completed) text += `; the target's trace shows it executed both (lines ${t.original.completed.line} and ${t.retry.completed.line})`;
    else text += `; the target's trace shows the original arrive${line(t.original.received)}`;
  }
  return text;
}

/** The sentence of a retry finding, written again whenever its evidence grows. */
export function retrySentence(ruleId: RetryRuleId, d: RetryDetails): string {
  const head = `${commandLabel(d)} (frame ${frameLabel(d.originalFrame)}) resubmitted in frame ${frameLabel(d.retryFrame)} on association ${d.retryAssoc}`;
  let body: string;
  if (ruleId === 'retry-after-fence') {
    body = `${head} after the old association was fenced (${d.fencedBy!.kind}, frame ${frameLabel(d.fencedBy!.frame)})`;
  } else {
    const gap = d.gapMs === null ? 'with no controller contact captured' : `${seconds(d.gapMs)} after the last controller contact`;
    // Without the old Connect, KATO is an assumption: say so, and what the reconnect's Connect declared.
    const assumed = d.katoSource === 'connect' ? '' : d.katoSource === '--kato' ? `, KATO ${d.katoMs} ms from --kato` : `, KATO ${d.katoMs} ms assumed: the Linux default, give --kato`;
    const hint = d.katoSource !== 'connect' && d.retryAssocKatoMs !== null && d.retryAssocKatoMs !== d.katoMs
      ? `; the new association's Connect declares KATO ${d.retryAssocKatoMs} ms` : '';
    body = `${head} ${gap}; ${ruleId === 'retry-before-kato' ? 'before' : 'after'} the required ${seconds(d.requiredMs)} (${d.rule}${assumed})${hint}`;
  }
  return body + arrivalText(d.arrival, d.capsuleArrival, d.reachedController) + controllerTimerText(d) + resetText(ruleId, d) + kernelText(d) + traceText(d) + (d.uncertain ? ' [uncertain: bytes missing from the capture]' : '');
}

/** Whether the retried command changes data: a retry before KATO of one can corrupt it. */
export interface RetryFacts {
  dataChanging: boolean;
}

const DETAILS = { name: 'retryDetails', schema: {
  type: 'object',
  required: [
    ...RETRY_IDENTITY_SCHEMA.required,
    'lastControllerContactFrame',
    'lastControllerContactTime',
    'gapMs',
    'requiredMs',
    'rule',
    'katoMs',
    'katoSource',
    'cqtMs',
    'cqtSource',
    'tbkas',
    'fencedBy',
    'crossControllerReset',
    'trigger',
    'samePath',
    'uncertain',
    'retryAssocKatoMs',
    'arrival',
    'capsuleArrival',
    'teardown',
    'afterRetry',
    'evidence',
  ],
  additionalProperties: false,
  properties: {
    ...RETRY_IDENTITY_SCHEMA.properties,
    lastControllerContactFrame: { oneOf: [{ type: 'null' }, { $ref: '#/$defs/frameRef' }] },
    lastControllerContactTime: { type: ['number', 'null'] },
    gapMs: { type: ['number', 'null'] },
    requiredMs: { type: 'number' },
    rule: { $ref: '#/$defs/rule' },
    katoMs: { type: 'integer' },
    katoSource: { enum: ['connect', '--kato', 'assumed'] },
    cqtMs: { type: 'integer' },
    cqtSource: { enum: ['identify', '--cqt', 'none'] },
    tbkas: { type: 'boolean' },
    fencedBy: {
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          required: ['frame', 'time', 'kind'],
          additionalProperties: false,
          properties: { frame: { $ref: '#/$defs/frameRef' }, time: { type: 'number' }, kind: { $ref: '#/$defs/fenceKind' } },
        },
      ],
    },
    crossControllerReset: { oneOf: [{ type: 'null' }, { $ref: '#/$defs/crossControllerReset' }] },
    trigger: { type: 'string' },
    samePath: { type: 'boolean' },
    uncertain: { type: 'boolean' },
    retryAssocKatoMs: { type: ['integer', 'null'] },
    arrival: { oneOf: [{ type: 'null' }, { $ref: '#/$defs/arrivalStamp' }] },
    capsuleArrival: { oneOf: [{ type: 'null' }, { $ref: '#/$defs/stamp' }] },
    teardown: {
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          required: ['frame', 'time', 'from', 'kind'],
          additionalProperties: false,
          properties: {
            frame: { $ref: '#/$defs/frameRef' },
            time: { type: 'number' },
            from: { enum: ['host', 'controller'] },
            kind: { enum: ['fin', 'rst'] },
          },
        },
      ],
    },
    afterRetry: { type: 'array', items: { $ref: '#/$defs/afterRetryActivity' } },
    evidence: { type: 'array', items: { $ref: '#/$defs/evidenceStep' } },
    kernelLog: {
      type: 'object',
      required: ['trigger', 'originalTimeout', 'duringRecovery'],
      additionalProperties: false,
      properties: {
        trigger: {
          oneOf: [
            { type: 'null' },
            {
              type: 'object',
              required: [...PLACED_LINE_SCHEMA.required, 'command'],
              additionalProperties: false,
              properties: {
                ...PLACED_LINE_SCHEMA.properties,
                command: { oneOf: [{ type: 'null' }, { $ref: '#/$defs/commandRef' }] },
              },
            },
          ],
        },
        originalTimeout: { oneOf: [{ type: 'null' }, { $ref: '#/$defs/kernelLine' }] },
        duringRecovery: { type: 'boolean' },
      },
    },
    controllerGaveUpAt: {
      type: 'object',
      required: [...PLACED_LINE_SCHEMA.required, 'timerSeconds', 'marginMs'],
      additionalProperties: false,
      properties: {
        ...PLACED_LINE_SCHEMA.properties,
        timerSeconds: { type: 'integer' },
        marginMs: { type: 'number' },
      },
    },
    kernelTrace: { $ref: '#/$defs/retryTraceEvidence' },
    reachedController: {
      type: 'boolean',
      description: 'only with another capture that watched the connection: did the original reach the controller\'s side',
    },
    controllerLastCommand: {
      type: 'object',
      required: ['frame', 'time', 'keepAlive', 'timerEndsAfterRetryMs'],
      additionalProperties: false,
      description: 'with a target-side capture: what last restarted the old controller\'s keep-alive timer before the retry, and when (ms after the retry; negative: before) that timer runs out',
      properties: {
        frame: { $ref: '#/$defs/frameRef' },
        time: { type: 'number' },
        keepAlive: { type: 'boolean' },
        timerEndsAfterRetryMs: {
          type: 'object',
          required: ['from', 'to'],
          additionalProperties: false,
          properties: { from: { type: 'number' }, to: { type: 'number' } },
        },
      },
    },
  },
} as JsonSchema };

/** A retry resubmitted before the required wait (KATO, and CQT by the rule) since the last controller contact: the old controller may still run it. */
export const RETRY_BEFORE_KATO = declareRule<RetryDetails, RetryFacts>()({
  id: 'retry-before-kato', noisy: false, details: DETAILS,
  severity: (_d, f) => (f.dataChanging ? 'error' : 'warning'),
  sentence: (d) => retrySentence('retry-before-kato', d),
});

/** A retry after the required wait: safe by time. */
export const RETRY_AFTER_KATO = declareRule<RetryDetails, RetryFacts>()({
  id: 'retry-after-kato', noisy: false, details: DETAILS, severity: () => 'info', sentence: (d) => retrySentence('retry-after-kato', d),
});

/** A retry after the old association was fenced (its controller disabled or shut down, its connection closed by the controller, a Cross-Controller Reset). */
export const RETRY_AFTER_FENCE = declareRule<RetryDetails, RetryFacts>()({
  id: 'retry-after-fence', noisy: false, details: DETAILS, severity: () => 'info', sentence: (d) => retrySentence('retry-after-fence', d),
});

/** Each retry verdict's declaration. */
export const RETRY_RULE_OF = { 'retry-before-kato': RETRY_BEFORE_KATO, 'retry-after-kato': RETRY_AFTER_KATO, 'retry-after-fence': RETRY_AFTER_FENCE } as const;
