/**
 * Every sentence a finding says, in one place. Rules decide and fill typed
 * details; these functions turn them into English.
 */
import type {
  AfterRetryActivity, CaptureGapDetails, CidReuseDetails, ConnectionResetDetails, DigestMismatchDetails, DuplicateExecutionDetails,
  ErrorStatusDetails, KeepAliveLateDetails, KeepAliveTimeoutDetails, OriginalAliveDetails, RetryDetails, RetryRuleId, StaleDataDetails,
  Finding, RuleId, Stamp, TermReqDetails, TimeoutDuringRecoveryDetails, TlsNotDecryptedDetails, UnansweredDetails, UnknownPduDetails,
} from './types.js';
import { hex } from '../common/text.js';
import { frameLabel } from '../common/frame-ref.js';

const seconds = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
/** Where a finding happened, as the reports' "assoc/q/cid" column shows it. */
export function findingPlace(f: Pick<Finding, 'assoc' | 'qid' | 'cid'>): string {
  return `${f.assoc ?? '-'}/${f.qid ?? '-'}/${f.cid === null ? '-' : hex(f.cid)}`;
}

const dirName = (dir: 'h2c' | 'c2h') => (dir === 'h2c' ? 'host→controller' : 'controller→host');

/** "Write SLBA 2100 NLB 8" */
export function commandLabel(d: { opcode: string; slba: number | null; nlb: number | null }): string {
  return `${d.opcode}${d.slba !== null ? ` SLBA ${d.slba} NLB ${d.nlb}` : ''}`;
}

export function activityLabel(a: AfterRetryActivity): string {
  const what = a.kind === 'r2t' ? 'R2T' : a.kind === 'c2h-data' ? 'C2HData' : 'completion';
  return `${what} in frame ${frameLabel(a.frame)}, ${seconds(a.afterRetryMs)} after the retry`;
}

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

export const MESSAGES = {
  retry(ruleId: RetryRuleId, d: RetryDetails): string {
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
  },
  timeoutDuringRecovery(d: TimeoutDuringRecoveryDetails): string {
    const retried = d.retry ? `; retried in frame ${frameLabel(d.retry.frame)} (${d.retry.ruleId})` : '';
    return `${d.opcode} CID ${hex(d.cid)} on queue ${d.qid} (frame ${frameLabel(d.submitFrame)}) timed out after error recovery had started (kernel log lines ${d.recoveryStarted.line} and ${d.timeout.line}): the host failed it at once instead of waiting${retried}`;
  },
  duplicateExecution(d: DuplicateExecutionDetails): string {
    const t = d.targetTrace;
    const traced = t ? `target trace line${t.retry ? `s ${t.original.line} and ${t.retry.line}` : ` ${t.original.line}`}` : '';
    const c = d.targetCapture;
    if (d.lateCompletionFrame === null && c) {
      const retryDone = c.retryCompleted === null ? '' : ` and completing it (frame ${frameLabel(c.retryCompleted)})`;
      return `${commandLabel(d)} ran twice: the target capture shows the controller receiving the original (frame ${frameLabel(c.originalArrived)}) and completing it (frame ${frameLabel(c.originalCompleted)}), then receiving the retry (frame ${frameLabel(c.retryArrived)})${retryDone}; the host resubmitted it in frame ${frameLabel(d.retryFrame)} and never saw the original's completion${t ? `; executed twice per the ${traced} too` : ''}`;
    }
    if (d.lateCompletionFrame === null) {
      return `${commandLabel(d)} ran twice: the target's own trace shows it completed the original and the retry (${traced}); the host resubmitted it in frame ${frameLabel(d.retryFrame)} and never saw the original's completion`;
    }
    return `${commandLabel(d)} ran twice: the controller completed the original (frame ${frameLabel(d.lateCompletionFrame)}) after the host closed its queue, and the host resubmitted it (frame ${frameLabel(d.retryFrame)})${t ? `; executed twice per the ${traced}` : ''}`;
  },
  staleData(d: StaleDataDetails, opcode: string, retryAssoc: number): string {
    return `write data for ${opcode} (frame ${frameLabel(d.originalFrame)}) left on the old connection after its retry (frame ${frameLabel(d.retryFrame)}) was submitted on association ${retryAssoc}`;
  },
  originalAlive(d: OriginalAliveDetails): string {
    const first = d.activity[0];
    const more = d.activity.length > 1 ? ` and ${d.activity.length - 1} more` : '';
    return `${commandLabel(d)} (frame ${frameLabel(d.originalFrame)}) was still alive on association ${d.originalAssoc} after its retry (frame ${frameLabel(d.retryFrame)}): the controller sent ${activityLabel(first)}${more}`;
  },
  keepAliveTimeout(d: KeepAliveTimeoutDetails, assoc: number): string {
    return `association ${assoc}: no packet from the controller for ${seconds(d.silentMs)} (frames ${frameLabel(d.lastControllerContactFrame)}–${frameLabel(d.untilFrame)}) while the association was open; KATO is ${d.katoMs} ms (${d.katoSource})`;
  },
  keepAliveLate(d: KeepAliveLateDetails, assoc: number, frames: [number, number]): string {
    return `association ${assoc}: ${seconds(d.intervalMs)} between keep-alives (frames ${frameLabel(frames[0])} and ${frameLabel(frames[1])}); expected every ${seconds(d.expectedMs)} for KATO ${d.katoMs} ms${d.tbkas ? ' with traffic-based keep-alive' : ''}`;
  },
  unanswered(d: UnansweredDetails, label: string): string {
    const why = d.outcome === 'unanswered-at-end' ? 'before the capture ended'
      : d.outcome === 'undecidable' ? '(bytes missing from the capture: its completion may be among them)'
      : `before the connection closed (frame ${frameLabel(d.closeFrame)})`;
    return `${label} (frame ${frameLabel(d.submitFrame)}) got no completion ${why}`;
  },
  errorStatus(d: ErrorStatusDetails, submitFrame: number): string {
    return `${d.opcode} (frame ${frameLabel(submitFrame)}) completed with ${d.status}${d.dnr ? ', do not retry' : ''}`;
  },
  termReq(d: TermReqDetails, conn: number): string {
    return `${d.type} on connection ${conn}: fatal error status ${hex(d.fes)} (${d.fesName ?? 'unknown'})`;
  },
  protocolViolation(type: string, conn: number, what: string): string {
    return `${type} on connection ${conn}: ${what}`;
  },
  cidReuse(d: CidReuseDetails, cid: number, qid: number | null): string {
    return `CID ${hex(cid)} reused on queue ${qid ?? '?'} while ${d.previousOpcode} (frame ${frameLabel(d.previousFrame)}) had no completion`;
  },
  connectionReset(d: ConnectionResetDetails, conn: number, outOfWindow: boolean): string {
    return `${d.from} reset connection ${conn} with ${d.inFlight.length} command(s) in flight${outOfWindow ? ' (the RST lay outside the receiver\'s window: it was discarded)' : ''}`;
  },
  digestMismatch(d: DigestMismatchDetails): string {
    return `${d.header === false ? 'header' : 'data'} digest of ${d.type} does not match its bytes`;
  },
  captureGap(d: CaptureGapDetails): string {
    if (d.cause === 'snaplen') {
      return `connection ${d.conn}: ${d.bytes} bytes in ${d.segments} segments were cut by the capture's snapshot length (first in frame ${frameLabel(d.firstFrame)}); commands whose PDUs were cut are undecidable`;
    }
    return `${d.bytes} bytes ${dirName(d.dir)} on connection ${d.conn} were not captured (stream offset ${d.streamOffset}); verdicts on its commands are uncertain`;
  },
  unknownPdu(d: UnknownPduDetails, conn: number, text: string): string {
    if (d.kind === 'unknown-type') return `unknown PDU type 0x${d.type.toString(16)} (${d.plen} bytes) on connection ${conn}`;
    return `connection ${d.conn} ${d.dir}: ${text} (stream offset ${d.streamOffset})`;
  },
  tlsNotDecrypted(d: TlsNotDecryptedDetails, reason: string): string {
    const read = d.records > 0 ? `; ${d.records} records were opened before that` : '';
    return `connection ${d.conn}: ${reason}${read}`;
  },
  /** Words for an evidence step. */
  evidence: {
    originalSent: (label: string, assoc: number) => `${label} sent on association ${assoc}`,
    seenArriving: () => 'the target-side capture shows the command capsule arriving',
    controllerLastCommand: (keepAlive: boolean) => `the last ${keepAlive ? 'Keep Alive' : 'command'} the target-side capture shows reaching the old controller: its keep-alive timer restarts here`,
    arrival: (what: 'capsule' | 'data') => `controller's TCP ACK covers the ${what === 'capsule' ? 'command capsule' : 'last H2CData'}`,
    lastContact: (assoc: number) => `last packet from the controller of association ${assoc}`,
    kernel: (what: string, text: string, line: number) => `kernel log (${what}, line ${line}): ${text}`,
    trace: (what: string, line: number) => `kernel trace line ${line}: ${what}`,
    fence: (kind: string) => `old association fenced (${kind})`,
    teardown: (from: string, kind: string) => `${from} ${kind.toUpperCase()} on the original's queue`,
    retry: (assoc: number) => `retry submitted on association ${assoc}`,
    afterRetry: (a: AfterRetryActivity) => `controller sent ${activityLabel(a)} for the original`,
  },
};

type Sentence = Exclude<keyof typeof MESSAGES, 'evidence'>;

/**
 * The sentence each rule's findings say (the rule's family calls it): every rule id has one —
 * the type requires an entry per FindingDetails key, src/correlate/rules/rules.test.ts checks
 * each names a sentence.
 */
export const SENTENCE_OF: { readonly [K in RuleId]: Sentence } = {
  'retry-before-kato': 'retry', 'retry-after-kato': 'retry', 'retry-after-fence': 'retry', 'duplicate-execution': 'duplicateExecution',
  'stale-data-after-retry': 'staleData', 'original-alive-after-retry': 'originalAlive', 'timeout-during-recovery': 'timeoutDuringRecovery',
  'keep-alive-timeout': 'keepAliveTimeout', 'keep-alive-late': 'keepAliveLate', 'unanswered-command': 'unanswered', 'error-status': 'errorStatus',
  'term-req': 'termReq', 'protocol-violation': 'protocolViolation', 'cid-reuse-in-flight': 'cidReuse', 'connection-reset': 'connectionReset',
  'digest-mismatch': 'digestMismatch', 'capture-gap': 'captureGap', 'unknown-pdu': 'unknownPdu', 'tls-not-decrypted': 'tlsNotDecrypted',
};

