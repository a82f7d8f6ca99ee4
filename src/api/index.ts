export { analyzeCapture, analyzeCaptures, type AnalyzeOptions, type SameTrafficOptions } from './analyze-capture.js';
export { listPdus, type ListPdusOptions } from './list-pdus.js';
export type { PipelineResult } from './pipeline.js';
export { annotateCapture, annotateCaptures } from './annotate.js';
export { PerfettoWriter } from '../report/perfetto.js';
export type { Report } from '../report/types.js';
export { isRetryFinding } from '../correlate/types.js';
export type {
  Finding, FindingOf, FindingDetails, RetryFinding, RetryDetails, EvidenceStep, AfterRetryActivity, RuleId, CommandRecord, RetryRule, Severity,
  AssociationSummary,
} from '../correlate/types.js';
/** Plain data only: the pipeline's live state (connections, reassembly) is not part of the API. */
export type { PduEvent } from '../nvme-tcp/types.js';
export type { KernelLogReport, KernelLogEvent, CountLine } from '../correlate/types.js';
/** Any rule's details: FindingDetails['rule-id']. */
export type { TimeoutDuringRecoveryDetails } from '../correlate/findings/timeout-during-recovery.js';
export { CaptureError, UsageError, ExitCode } from '../common/errors.js';
