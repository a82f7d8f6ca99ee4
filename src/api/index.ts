export { analyzeCapture, type AnalyzeOptions } from './analyze-capture.js';
export { listPdus, type ListPdusOptions } from './list-pdus.js';
export { runPipeline, type PipelineOptions, type PipelineResult } from './pipeline.js';
export type { Report } from '../report/types.js';
export { isRetryFinding } from '../correlate/types.js';
export type {
  Finding, FindingOf, FindingDetails, RetryFinding, RetryDetails, EvidenceStep, AfterRetryActivity, RuleId, CommandRecord, RetryRule, Severity,
  AssociationSummary,
} from '../correlate/types.js';
export type { PduEvent, NvmeConnection } from '../nvme-tcp/types.js';
export { CaptureError, UsageError, ExitCode } from '../common/errors.js';
