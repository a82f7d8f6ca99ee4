import type { FindingCollector } from '../finding-collector.js';
import type { CorrelationModel, ModelListener } from '../model.js';
import type { KernelLog } from '../../kernel-log/types.js';
import type { KernelTrace } from '../../kernel-trace/types.js';
import type { KernelLogReport, KernelTraceReport, RecoveryReport, RetryRule, TlsReport } from '../types.js';

/**
 * What rules may ask the model: names, the live associations of a path, the time → frame index and
 * the clock. Rules are told of the model's objects through its events; they never drive it.
 */
export type ModelView = Readonly<Pick<CorrelationModel, 'opName' | 'liveOnPath' | 'frames' | 'lastTime'>>;

export interface RuleContext {
  readonly model: ModelView;
  readonly findings: FindingCollector;
  readonly policy: RetryRule;
  /** --dmesg logs, already read; empty without. */
  readonly kernelLogs: readonly KernelLog[];
  /** --trace files, already checked; empty without. */
  readonly kernelTraces: readonly KernelTrace[];
  /** --dmesg-offset, for logs with wall-clock times. */
  readonly dmesgOffsetMs: number;
  /** Report parts a family produces besides findings. */
  readonly output: { kernelLog?: KernelLogReport; kernelTrace?: KernelTraceReport; recovery?: RecoveryReport; tls?: TlsReport };
}

/**
 * A family of rules: a factory that subscribes to the model events it needs and reports the
 * findings it detects (each declared in src/correlate/findings/). The engine knows the list,
 * never the insides.
 */
export interface RuleFamily {
  name: string;
  create(ctx: RuleContext): ModelListener;
}
