import { CAPTURE_STRIDE, captureLabel, captureOf, frameOf } from '../common/frame-ref.js';
import type { FindingPlace, RuleDeclaration } from './findings/declare.js';
import { NOISY_RULES } from './findings/index.js';
import { worse, type Finding, type FindingDetails, type FindingOf, type ListedFinding, type RuleId, type Severity } from './types.js';

/** Findings of one noisy rule per association before the rest are only counted. */
export const FINDING_CAP = 50;
/** Findings of any one rule in the whole report before the rest are only counted (a reconnect storm's thousands). */
export const RULE_CAP = 100;


/** Collects findings, caps the noisy ones per association, and hands them out in time order. */
export class FindingCollector {
  private readonly noisy = NOISY_RULES;

  private readonly findings: ListedFinding[] = [];
  /** Told the association of every finding, listed or only counted. */
  onAdd: ((assoc: number | null) => void) | undefined;
  private readonly suppressed = new Map<string, { count: number; rule: RuleId; severity: Severity; assoc: number | null }>();
  /** Findings listed so far per noisy rule and association. */
  private readonly listed = new Map<string, number>();

  /**
   * Reports a finding of `rule` at `place`: its severity and sentence are the rule's, from the
   * details and the facts. Returns the stored finding (rules may add evidence to it later), or
   * undefined when its rule is over the cap.
   */
  add<R extends RuleId, F>(
    rule: RuleDeclaration<R, FindingDetails[R], F>, place: FindingPlace, details: FindingDetails[R], ...facts: F extends void ? [] : [F]
  ): FindingOf<R> | undefined {
    const given = facts[0] as F;
    return this.store({ ruleId: rule.id, severity: rule.severity(details, given), message: rule.sentence(details, given), ...place, details });
  }

  private store<R extends RuleId>(f: Omit<FindingOf<R>, 'wiresharkFilter'> & { wiresharkFilter?: string }): FindingOf<R> | undefined {
    this.onAdd?.(f.assoc);
    this.totals[f.severity]++;
    const perAssoc = `${f.ruleId}@${f.assoc ?? '-'}`;
    if (this.noisy.has(f.ruleId) && this.bump(perAssoc) > FINDING_CAP) return this.suppress(perAssoc, f.ruleId, f.severity, f.assoc);
    if (this.bump(f.ruleId) > RULE_CAP) return this.suppress(`${f.ruleId}@all`, f.ruleId, f.severity, null);
    const frames = [...new Set(f.frames)].sort((x, y) => x - y);
    const stored = { ...f, frames, wiresharkFilter: f.wiresharkFilter ?? frameFilter(frames) } as FindingOf<R>;
    this.findings.push(stored as ListedFinding);
    return stored;
  }

  /** An association has ended: its per-association counters go (memory stays with what is open). */
  forgetAssociation(assoc: number): void {
    for (const rule of this.noisy) this.listed.delete(`${rule}@${assoc}`);
  }

  /** Every finding by severity, listed or only counted. */
  readonly totals: Record<Severity, number> = { error: 0, warning: 0, info: 0 };

  private bump(key: string): number {
    const n = (this.listed.get(key) ?? 0) + 1;
    this.listed.set(key, n);
    return n;
  }

  private suppress(key: string, rule: RuleId, severity: Severity, assoc: number | null): undefined {
    const s = this.suppressed.get(key);
    if (s) {
      s.count++;
      s.severity = worse(s.severity, severity);
    } else this.suppressed.set(key, { count: 1, rule, severity, assoc });
    return undefined;
  }

  /** The findings stored so far, in the order they came (for families that add to others' findings at the end). */
  stored(): readonly ListedFinding[] {
    return this.findings;
  }

  /** Every finding, with one count line per capped rule and association, in time order. */
  result(lastTime: number): Finding[] {
    const all: Finding[] = this.findings.slice();
    for (const [, s] of [...this.suppressed.entries()].sort(([x], [y]) => (x < y ? -1 : 1))) {
      all.push({
        ruleId: s.rule, severity: s.severity, message: `${s.count} more ${s.rule} findings${s.assoc === null ? '' : ` on association ${s.assoc}`} not listed`,
        frames: [], time: Math.max(lastTime, 0), assoc: s.assoc, qid: null, cid: null, wiresharkFilter: 'nvme-tcp', details: { suppressed: s.count },
      });
    }
    return all.sort(compareFindings);
  }
}

/**
 * Frames of several captures (--same-traffic): one filter per capture, each labelled with it
 * (`host: frame.number in {111 112}; target: frame.number == 148`), since a frame number means
 * something only in its own capture.
 */
function perCapture(frames: number[], filter: (frames: number[]) => string): string | undefined {
  if (frames.every((f) => f < CAPTURE_STRIDE)) return undefined;
  const by = new Map<number, number[]>();
  for (const f of frames) {
    const c = captureOf(f);
    let list = by.get(c);
    if (!list) by.set(c, (list = []));
    list.push(frameOf(f));
  }
  return [...by.keys()].sort((a, b) => a - b).map((c) => `${captureLabel(c)}: ${filter(by.get(c)!)}`).join('; ');
}

/** A display filter that shows exactly the given frames. */
export function frameFilter(frames: number[]): string {
  if (frames.length === 0) return 'nvme-tcp';
  const several = perCapture(frames, frameFilter);
  if (several !== undefined) return several;
  if (frames.length === 1) return `frame.number == ${frames[0]}`;
  return `frame.number in {${frames.join(' ')}}`;
}

/** Frames closer than this share one range of a range filter: the filter stays short, every frame stays in it. */
const RANGE_JOIN = 16;
/** Ranges a range filter holds at most; past it the closest ranges are joined. */
const RANGES_MAX = 12;

/** A display filter of frame ranges (`frame.number in {17..43 59..83}`) covering every frame given. */
export function frameRangeFilter(frames: number[]): string {
  const several = perCapture(frames, frameRangeFilter);
  if (several !== undefined) return several;
  const sorted = [...new Set(frames)].sort((a, b) => a - b);
  if (sorted.length <= 1) return frameFilter(sorted);
  const ranges: [number, number][] = [];
  for (const f of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && f - last[1] <= RANGE_JOIN) last[1] = f;
    else ranges.push([f, f]);
  }
  while (ranges.length > RANGES_MAX) {
    let k = 0;
    for (let j = 1; j < ranges.length - 1; j++) if (ranges[j + 1][0] - ranges[j][1] < ranges[k + 1][0] - ranges[k][1]) k = j;
    ranges.splice(k, 2, [ranges[k][0], ranges[k + 1][1]]);
  }
  // Commas: Wireshark 4.0 reads ranges in a set only comma-separated.
  return `frame.number in {${ranges.map(([a, b]) => (a === b ? `${a}` : `${a}..${b}`)).join(', ')}}`;
}

function compareFindings(x: Finding, y: Finding): number {
  return x.time - y.time || (x.frames[0] ?? 0) - (y.frames[0] ?? 0) || (x.ruleId < y.ruleId ? -1 : x.ruleId > y.ruleId ? 1 : 0) ||
    (x.message < y.message ? -1 : x.message > y.message ? 1 : 0);
}
