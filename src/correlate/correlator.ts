import { round3 } from '../common/numbers.js';
import type { MergeSink } from '../merge/types.js';
import { FindingCollector } from './finding-collector.js';
import type { LatencyHistogram } from './histogram.js';
import { CorrelationModel, type PathStats } from './model.js';
import { RULE_FAMILIES } from './rules/index.js';
import { buildIncidents } from './incidents.js';
import type { RuleContext } from './rules/rule.js';
import type { KernelLog } from '../kernel-log/types.js';
import type { KernelTrace } from '../kernel-trace/types.js';
import type {
  AssociationSummary, CommandRecord, CommandStart, Finding, KernelLogReport, KernelTraceReport, OpcodeStats, PathSummary, QueueSummary, RecoveryReport, RetryRule, Severity, StreamProblem,
  TlsReport, Incident,
} from './types.js';

export { LINUX_DEFAULT_KATO_MS } from './model.js';
export { frameFilter } from './finding-collector.js';

export interface CorrelateOptions {
  katoMs?: number;
  cqtMs?: number;
  rule: RetryRule;
  /** Receives every command when it ends; with `commandSteps` (default true), with its steps. */
  onCommand?: (command: CommandRecord) => void;
  /** Receives every command when it is submitted. */
  onSubmit?: (command: CommandStart) => void;
  commandSteps?: boolean;
  /** List every association in full (--all-associations). */
  allAssociations?: boolean;
  /** Kernel logs (--dmesg), already read, and the offset for wall-clock ones. */
  kernelLogs?: KernelLog[];
  dmesgOffsetMs?: number;
  /** Kernel traces (--trace), already checked. */
  kernelTraces?: KernelTrace[];
}

export interface CorrelationResult {
  associations: AssociationSummary[];
  paths: PathSummary[];
  /** Associations summarised in `paths` but not listed. */
  associationsNotListed: number;
  unassociated: QueueSummary[];
  unassociatedNotListed: number;
  associationCount: number;
  /** Every finding by severity, listed or only counted. */
  findingTotals: Record<Severity, number>;
  /** Unanswered commands let go without a retry after the retention window. */
  outstandingEvicted: number;
  opcodes: OpcodeStats[];
  findings: Finding[];
  streamProblems: StreamProblem[];
  streamProblemsDropped: number;
  commands: number;
  kernelLog: KernelLogReport | null;
  kernelTrace: KernelTraceReport | null;
  tls: TlsReport | null;
  incidents: Incident[];
  recovery: RecoveryReport;
}

function minMedianMax(h: LatencyHistogram): PathSummary['lifetimeMs'] {
  return h.count ? { min: round3(h.min), p50: round3(h.quantile(0.5)!), max: round3(h.max) } : { min: null, p50: null, max: null };
}

/** Correlation: the model, with every rule family listening to it. */
export class Correlator {
  private readonly model: CorrelationModel;
  private readonly findings = new FindingCollector();
  private readonly output: RuleContext['output'] = {};
  private readonly policy: CorrelateOptions['rule'];

  constructor(options: CorrelateOptions) {
    this.policy = options.rule;
    const kernelLogs = options.kernelLogs ?? [];
    const kernelTraces = options.kernelTraces ?? [];
    this.model = new CorrelationModel({ ...options, frameIndex: kernelLogs.length + kernelTraces.length > 0 });
    this.findings.onAdd = (assoc) => this.model.noteFinding(assoc);
    this.model.listen({ associationEnded: (a) => this.findings.forgetAssociation(a.id) });
    for (const family of RULE_FAMILIES) {
      this.model.listen(family.create({
        model: this.model, findings: this.findings, policy: options.rule, kernelLogs, kernelTraces, dmesgOffsetMs: options.dmesgOffsetMs ?? 0, output: this.output,
      }));
    }
  }

  /** Where the NVMe/TCP stage pushes its events. */
  get sink(): MergeSink {
    return this.model;
  }

  /** Ends every queue still open and collects the report's correlation part. */
  result(): CorrelationResult {
    const m = this.model;
    m.end();
    const paths = [...m.paths.values()];
    const listed = (p: PathStats) => (p.firstListed ? 1 : 0) + p.listed.length + (p.latest ? 1 : 0);
    const associations = m.associations();
    const findings = this.findings.result(m.lastTime);
    const recovery = this.output.recovery ?? { episodes: [], episodesNotListed: 0, byPath: [] };
    return {
      associations,
      paths: paths.map((p) => ({
        path: p.path, hostnqn: p.hostnqn, subnqn: p.subnqn, controller: p.controller, associations: p.associations, withFindings: p.withFindings,
        lifetimeMs: minMedianMax(p.lifetimes), reconnectDelayMs: minMedianMax(p.reconnectDelays), listed: listed(p), notListed: p.notListed,
      })),
      associationsNotListed: paths.reduce((n, p) => n + p.notListed, 0),
      associationCount: paths.reduce((n, p) => n + p.associations, 0),
      outstandingEvicted: m.evictedOutstanding,
      unassociated: m.listing.unassociated.items,
      unassociatedNotListed: m.listing.unassociated.notListed,
      opcodes: m.opcodeRows(),
      findings,
      incidents: buildIncidents(recovery.episodes, findings, associations, this.policy),
      findingTotals: { ...this.findings.totals },
      streamProblems: m.listing.streamProblems.items,
      streamProblemsDropped: m.listing.streamProblems.notListed,
      commands: m.commandCount,
      kernelLog: this.output.kernelLog ?? null,
      kernelTrace: this.output.kernelTrace ?? null,
      tls: this.output.tls ?? null,
      recovery,
    };
  }
}
