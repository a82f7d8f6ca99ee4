import type { PduSink } from '../nvme-tcp/types.js';
import { FindingCollector } from './findings.js';
import { Model } from './model.js';
import { RULE_FAMILIES } from './rules/index.js';
import type { KernelLog } from '../kernel-log/types.js';
import type {
  AssociationSummary, CommandRecord, Finding, KernelLogReport, OpcodeStats, QueueSummary, RetryRule, StreamProblem,
} from './types.js';

export { LINUX_DEFAULT_KATO_MS } from './model.js';
export { frameFilter } from './findings.js';

export interface CorrelateOptions {
  katoMs?: number;
  cqtMs?: number;
  rule: RetryRule;
  /** Receives every command when it ends; steps are recorded only when set. */
  onCommand?: (command: CommandRecord) => void;
  /** Kernel logs (--dmesg), already read, and the offset for wall-clock ones. */
  kernelLogs?: KernelLog[];
  dmesgOffsetMs?: number;
}

export interface CorrelationResult {
  associations: AssociationSummary[];
  unassociated: QueueSummary[];
  opcodes: OpcodeStats[];
  findings: Finding[];
  streamProblems: StreamProblem[];
  streamProblemsDropped: number;
  commands: number;
  kernelLog: KernelLogReport | null;
}

/** Correlation: the model, with every rule family listening to it. */
export class Correlator {
  private readonly model: Model;
  private readonly findings = new FindingCollector();
  private readonly output: { kernelLog?: KernelLogReport } = {};

  constructor(options: CorrelateOptions) {
    const kernelLogs = options.kernelLogs ?? [];
    this.model = new Model({ ...options, frameIndex: kernelLogs.length > 0 });
    for (const family of RULE_FAMILIES) {
      this.model.listen(family.create({
        model: this.model, findings: this.findings, policy: options.rule, kernelLogs, dmesgOffsetMs: options.dmesgOffsetMs ?? 0, output: this.output,
      }));
    }
  }

  /** Where the NVMe/TCP stage pushes its events. */
  get sink(): PduSink {
    return this.model;
  }

  /** Ends every queue still open and collects the report's correlation part. */
  result(): CorrelationResult {
    const m = this.model;
    m.end();
    return {
      associations: m.assocs.map((a) => m.summarize(a)),
      unassociated: m.allQueues.filter((q) => !q.assoc).map((q) => m.queueSummary(q)),
      opcodes: m.opcodeRows(),
      findings: this.findings.result(m.lastTime),
      streamProblems: m.streamProblems,
      streamProblemsDropped: m.streamProblemsDropped,
      commands: m.commandCount,
      kernelLog: this.output.kernelLog ?? null,
    };
  }
}
