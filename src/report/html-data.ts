import { sameTrafficLines } from './same-traffic.js';
import type { Passage } from '../merge/types.js';
import { round6 } from '../common/numbers.js';
import { commandLabel } from '../correlate/phrases.js';
import { isRetryFinding, type CommandRecord, type Outcome, type RetryDetails, type RetryFinding } from '../correlate/types.js';
import { count } from '../common/text.js';
import { findingPlace } from '../correlate/phrases.js';
import { tracedLines } from './traced-lines.js';
import type { Report } from './types.js';

/** Outcome codes in the embedded data (kept short: thousands of commands). */
export const OUTCOME_CODE: Record<Outcome, number> = {
  completed: 0, error: 1, 'unanswered-at-close': 2, 'unanswered-at-end': 3, undecidable: 4,
};

/**
 * Completed commands kept one by one; past this they are drawn as density only. The page is
 * benchmarked at 20,000 commands, and every kept row is live memory for the whole analysis.
 */
/** PDU passages kept for the page (--same-traffic): those seen at both points, and those one point alone saw. */
const PASSAGES_BOTH_CAP = 4000;
const PASSAGES_ONE_SIDED_CAP = 2000;
const DETAIL_CAP = 20_000;
/** Commands that did not simply complete (errors, unanswered, retries) kept one by one: a storm has many. */
const NOTABLE_CAP = 20_000;
/** Connections given their own density of omitted commands; a storm's are drawn per path instead. */
const CONN_DENSITY_CAP = 32;
/** Density buckets per lane before two neighbours merge (and the bucket width doubles). */
const DENSITY_BUCKETS = 4096;

interface Density {
  widthS: number;
  counts: number[];
}

function bump(d: Density, rel: number): void {
  let i = Math.floor(rel / d.widthS);
  while (i >= DENSITY_BUCKETS) {
    const merged: number[] = [];
    for (let k = 0; k < d.counts.length; k += 2) merged.push((d.counts[k] ?? 0) + (d.counts[k + 1] ?? 0));
    d.counts = merged;
    d.widthS *= 2;
    i = Math.floor(rel / d.widthS);
  }
  while (d.counts.length <= i) d.counts.push(0);
  d.counts[i]++;
}

/** Fabrics Connect (opcode 0x7f, fctype 1) on the admin queue: an association starts. */
function relOr(time: number | null, t0: number): number {
  return time === null ? -1 : round6(time - t0);
}

function isAdminConnect(c: CommandRecord): boolean {
  return c.opcode === 0x7f && c.qid === 0 && c.opcodeName === 'Connect';
}

/**
 * Collects what the HTML timeline draws, in bounded memory: commands as
 * compact rows (every one that did not simply complete, up to a cap, and
 * completed ones up to a cap), and, for every command, counts over time per
 * path and queue id, and association starts per path: the storm view.
 */
export class HtmlCollector {
  /**
   * [conn, submit s, complete s | -1, outcome, cid, opcode index, submit frame, complete frame | -1, slba | -1, nlb | -1, keep-alive 0/1],
   * times relative to captureStart.
   */
  readonly rows: number[][] = [];
  readonly opcodes: string[] = [];
  private readonly opIndex = new Map<string, number>();
  private completedKept = 0;
  private notableKept = 0;
  /** Omitted commands per connection (the first CONN_DENSITY_CAP connections). */
  readonly density = new Map<number, Density>();
  /** Every command per path and queue id, and association starts per path. */
  readonly pathLanes = new Map<string, Map<number, Density>>();
  readonly pathStarts = new Map<string, Density>();
  omitted = 0;
  captureStart: number | undefined;
  /** With two captures (--same-traffic): [conn, host s | -1, target s | -1] per PDU, relative to captureStart; bounded. */
  readonly passages: number[][] = [];
  private passagesBoth = 0;
  private passagesOneSided = 0;

  addPassage(p: Passage, captureStart: number): void {
    this.captureStart ??= captureStart;
    const both = p.hostTime !== null && p.targetTime !== null;
    // Every PDU one point alone saw is kept first: those are the story; the rest up to a bound.
    if (both ? this.passagesBoth++ >= PASSAGES_BOTH_CAP : this.passagesOneSided++ >= PASSAGES_ONE_SIDED_CAP) return;
    this.passages.push([p.conn, relOr(p.hostTime, captureStart), relOr(p.targetTime, captureStart)]);
  }

  add(c: CommandRecord, captureStart: number): void {
    this.captureStart ??= captureStart;
    const rel = Math.max(0, c.submitTime - captureStart);
    let lanes = this.pathLanes.get(c.path);
    if (!lanes) this.pathLanes.set(c.path, (lanes = new Map()));
    const qid = c.qid ?? -1;
    let lane = lanes.get(qid);
    if (!lane) lanes.set(qid, (lane = { widthS: 0.001, counts: [] }));
    bump(lane, rel);
    if (isAdminConnect(c)) {
      let starts = this.pathStarts.get(c.path);
      if (!starts) this.pathStarts.set(c.path, (starts = { widthS: 0.001, counts: [] }));
      bump(starts, rel);
    }
    const plain = c.outcome === 'completed' && c.retryOf === undefined;
    if (plain ? this.completedKept < DETAIL_CAP : this.notableKept < NOTABLE_CAP) {
      if (plain) this.completedKept++;
      else this.notableKept++;
      this.rows.push(this.row(c, captureStart));
      return;
    }
    this.omitted++;
    let d = this.density.get(c.conn);
    if (!d && this.density.size < CONN_DENSITY_CAP) this.density.set(c.conn, (d = { widthS: 0.001, counts: [] }));
    if (d) bump(d, rel);
  }

  private row(c: CommandRecord, t0: number): number[] {
    let op = this.opIndex.get(c.opcodeName);
    if (op === undefined) {
      op = this.opcodes.length;
      this.opcodes.push(c.opcodeName);
      this.opIndex.set(c.opcodeName, op);
    }
    return [
      c.conn, round6(c.submitTime - t0), c.completeTime === undefined ? -1 : round6(c.completeTime - t0), OUTCOME_CODE[c.outcome], c.cid, op,
      c.submitFrame, c.completeFrame ?? -1, c.slba ?? -1, c.nlb ?? -1, c.admin && c.opcode === 0x18 ? 1 : 0,
    ];
  }
}

/** The data the page's script draws from; every string in it came from the capture and is treated as text. */
export interface HtmlCapture {
  file: string;
  t0: number;
  durationS: number;
  summary: string;
  groups: { title: string; subtitle: string; lanes: number[] }[];
  lanes: { label: string; assoc: number | null; qid: number | null; conn: number }[];
  /** [lane, submit s, complete s | -1, outcome, cid, opcode index, submit frame, complete frame | -1, slba | -1, nlb | -1, keep-alive 0/1] */
  commands: number[][];
  opcodes: string[];
  /** Counts over time: omitted commands of a lane, or a storm path's commands and association starts. offsetS: where bucket 0 starts. */
  density: { lane: number; widthS: number; counts: number[]; what: string; offsetS?: number }[];
  omitted: number;
  tcp: { lane: number; t: number; kind: string; from: string; frame: number; inFlight: number }[];
  gaps: { lane: number; t: number; frame: number; bytes: number; dir: string }[];
  retries: {
    finding: number; from: { lane: number; t: number; frame: number }; to: { lane: number; t: number; frame: number };
    contact: { t: number; frame: number } | null; windowEnd: number | null; group: number; ruleId: string; label: string;
    evidence: { lane: number; t: number; frame: number | null; step: string; what: string }[];
  }[];
  findings: { ruleId: string; severity: string; t: number; frames: number[]; where: string; message: string; filter: string }[];
  /**
   * Each break in service: one KATO window, its retries (indexes into `retries`) drawn as one
   * bundle when there are many, its findings (indexes into `findings`) grouped in the table.
   */
  incidents: {
    id: number; severity: string; verdict: string; t0: number; t1: number; contact: { t: number; frame: number } | null; windowEnd: number | null;
    group: number; retries: number[]; findings: number[]; filter: string;
  }[];
  /** --same-traffic: [lane, host s | -1, target s | -1] per PDU (bounded): seen at both points, or at one only. */
  passages: number[][];
  /** Kernel log lines tied to an association, on its host/target kernel lanes. */
  kernel: { lane: number; t: number; kind: string; text: string; afterFrame: number | null; commandFrame: number | null }[];
}

/** Turns a report and its collected commands into the page's data. */
export function htmlCapture(report: Report, collected: HtmlCollector): HtmlCapture {
  const storm = report.associationsNotListed > 0;
  return storm ? stormCapture(report, collected) : detailCapture(report, collected);
}

/** The page's common parts: header, findings table. */
function base(report: Report, collected: HtmlCollector, t0: number) {
  const findings = report.findings.map((f) => ({
    ruleId: f.ruleId, severity: f.severity, t: round6(f.time - t0), frames: f.frames,
    where: findingPlace(f),
    message: f.message, filter: f.wiresharkFilter,
  }));
  const s = report.summary;
  return {
    file: report.capture.file, t0, durationS: report.capture.durationS ?? 0,
    summary: sameTrafficLines(report).map((line) => `${line}. `).join('') + `${report.capture.format}${report.capture.compressed ? '.gz' : ''}, ${count(report.capture.frames, 'frame')}, ${count(s.associations, 'association')}, ${count(s.commands, 'command')}, ${s.findings.error} error / ${s.findings.warning} warning / ${s.findings.info} info findings`,
    opcodes: collected.opcodes, omitted: collected.omitted, findings,
  };
}

/** A retry arrow from the original's lane to the retry's, with its KATO window: the same for association lanes and a storm's path lanes. */
function retryLane(f: RetryFinding, finding: number, from: number, to: number, group: number, t0: number, evidence: HtmlCapture['retries'][number]['evidence']): HtmlCapture['retries'][number] {
  const d = f.details;
  const contactT = d.lastControllerContactTime !== null ? round6(d.lastControllerContactTime - t0) : null;
  return {
    finding, ruleId: f.ruleId,
    from: { lane: from, t: round6(d.originalTime - t0), frame: d.originalFrame },
    to: { lane: to, t: round6(f.time - t0), frame: d.retryFrame },
    contact: contactT === null || d.lastControllerContactFrame === null ? null : { t: contactT, frame: d.lastControllerContactFrame },
    windowEnd: contactT === null ? null : round6(contactT + d.requiredMs / 1000),
    group, label: retryLabel(d), evidence,
  };
}

function retryLabel(d: RetryDetails): string {
  return `${commandLabel(d)}: gap ${d.gapMs === null ? '-' : (d.gapMs / 1000).toFixed(3)} s, required ${(d.requiredMs / 1000).toFixed(3)} s (${d.rule}, KATO ${d.katoMs} ms from ${d.katoSource})`;
}

/** One lane group per listed association, a lane per queue: every command, marker and retry drawn. */
function detailCapture(report: Report, collected: HtmlCollector): HtmlCapture {
  const t0 = report.capture.firstTime ?? collected.captureStart ?? 0;
  // Rows are relative to the collector's start; the page's zero is the capture's first packet.
  const shift = (collected.captureStart ?? t0) - t0;
  const layout = laneLayout(report, t0);
  const { laneByConn } = layout;
  const tcp: HtmlCapture['tcp'] = [];
  for (const q of [...report.associations.flatMap((a) => a.queues), ...report.unassociatedConnections]) {
    for (const e of q.teardown) tcp.push({ lane: laneByConn.get(q.conn)!, t: round6(e.time - t0), kind: e.kind, from: e.from, frame: e.frame, inFlight: e.inFlight });
  }
  const { gaps, retries } = findingMarks(report, layout, t0);
  const density = [...collected.density].flatMap(([conn, d]) => (laneByConn.has(conn) ? [{ lane: laneByConn.get(conn)!, widthS: d.widthS, counts: d.counts, what: 'completed commands' }] : []));
  return {
    ...base(report, collected, t0), groups: layout.groups, lanes: layout.lanes, commands: commandRows(collected, laneByConn, shift), passages: passageRows(collected, laneByConn, shift), density, tcp, gaps, retries,
    kernel: layout.kernel, incidents: incidentsOf(report, retries, t0),
  };
}

interface LaneLayout {
  lanes: HtmlCapture['lanes'];
  groups: HtmlCapture['groups'];
  kernel: HtmlCapture['kernel'];
  laneByConn: Map<number, number>;
  laneByAssocQid: Map<string, number>;
}

/** A group per association (its queues, then a lane per kernel log side and for the trace lines it cites), then the connections that never became a queue. */
function laneLayout(report: Report, t0: number): LaneLayout {
  const out: LaneLayout = { lanes: [], groups: [], kernel: [], laneByConn: new Map(), laneByAssocQid: new Map() };
  const { lanes, kernel } = out;
  const kernelEvents = report.kernelLog?.events.filter((e) => e.time !== null && e.assoc !== null) ?? [];
  const traced = tracedLines(report);
  const lane = (l: HtmlCapture['lanes'][number], g: { lanes: number[] }) => {
    g.lanes.push(lanes.length);
    lanes.push(l);
    return lanes.length - 1;
  };
  for (const a of report.associations) {
    const g = { title: `Association ${a.id}  cntlid ${a.cntlid ?? '?'}  KATO ${a.katoMs} ms (${a.katoSource})${a.cqtMs ? `  CQT ${a.cqtMs} ms` : ''}`, subtitle: a.path, lanes: [] as number[] };
    for (const q of a.queues) {
      const k = lane({ label: `${q.qid === 0 ? 'admin q0' : q.qid === null ? 'queue ?' : `I/O q${q.qid}`}  conn ${q.conn}`, assoc: a.id, qid: q.qid, conn: q.conn }, g);
      out.laneByConn.set(q.conn, k);
      out.laneByAssocQid.set(`${a.id}/${q.qid}`, k);
    }
    for (const side of ['host', 'target'] as const) {
      const mine = kernelEvents.filter((e) => e.assoc === a.id && e.side === side);
      if (mine.length === 0) continue;
      const k = lane({ label: `${side} kernel log`, assoc: a.id, qid: null, conn: -1 }, g);
      for (const e of mine) kernel.push({ lane: k, t: round6(e.time! - t0), kind: e.kind, text: e.text, afterFrame: e.afterFrame, commandFrame: e.command?.frame ?? null });
    }
    const cited = traced.filter((x) => x.assoc === a.id);
    if (cited.length > 0) {
      const k = lane({ label: 'kernel trace', assoc: a.id, qid: null, conn: -1 }, g);
      for (const { line } of cited) kernel.push({ lane: k, t: round6(line.time - t0), kind: 'trace', text: `trace line ${line.line}: ${line.text}`, afterFrame: line.afterFrame, commandFrame: null });
    }
    out.groups.push(g);
  }
  if (report.unassociatedConnections.length) {
    const g = { title: 'Connections that never became a queue', subtitle: '', lanes: [] as number[] };
    for (const q of report.unassociatedConnections) out.laneByConn.set(q.conn, lane({ label: `conn ${q.conn} ${q.host} → ${q.controller}`, assoc: null, qid: null, conn: q.conn }, g));
    out.groups.push(g);
  }
  return out;
}

/** The collected PDU passages on their connections' lanes, times moved to the page's zero. */
function passageRows(collected: HtmlCollector, laneByConn: Map<number, number>, shift: number): number[][] {
  const rows: number[][] = [];
  for (const [conn, h, t] of collected.passages) {
    const lane = laneByConn.get(conn);
    if (lane !== undefined) rows.push([lane, h < 0 ? -1 : round6(h + shift), t < 0 ? -1 : round6(t + shift)]);
  }
  return rows;
}

/** The collected command rows on their lanes, times moved to the page's zero. */
function commandRows(collected: HtmlCollector, laneByConn: Map<number, number>, shift: number): number[][] {
  const commands: number[][] = [];
  for (const r of collected.rows) {
    const lane = laneByConn.get(r[0]);
    if (lane === undefined) continue;
    const row = r.slice();
    row[0] = lane;
    row[1] = round6(row[1] + shift);
    if (row[2] >= 0) row[2] = round6(row[2] + shift);
    commands.push(row);
  }
  return commands;
}

/** Capture gaps on their lanes, and each retry as an arrow from the original's lane to the retry's with its evidence. */
function findingMarks(report: Report, layout: LaneLayout, t0: number): Pick<HtmlCapture, 'gaps' | 'retries'> {
  const gaps: HtmlCapture['gaps'] = [];
  const retries: HtmlCapture['retries'] = [];
  report.findings.forEach((f, i) => {
    if (f.ruleId === 'capture-gap' && 'cause' in f.details && f.details.cause === 'not-captured' && layout.laneByConn.has(f.details.conn)) {
      const d = f.details;
      gaps.push({ lane: layout.laneByConn.get(d.conn)!, t: round6(f.time - t0), frame: f.frames[0], bytes: d.bytes, dir: d.dir });
    }
    if (isRetryFinding(f)) {
      const d = f.details;
      const from = layout.laneByAssocQid.get(`${d.originalAssoc}/${d.originalQid}`);
      const to = layout.laneByAssocQid.get(`${d.retryAssoc}/${f.qid}`);
      if (from === undefined || to === undefined) return;
      // Every step sits on the original's lane but the retry, which ends the arrow on its own lane.
      const evidence = d.evidence.map((e) => ({ lane: e.step === 'retry' ? to : from, t: round6(e.time - t0), frame: e.frame, step: e.step, what: e.what }));
      retries.push(retryLane(f, i, from, to, report.associations.findIndex((a) => a.id === d.originalAssoc), t0, evidence));
    }
  });
  return { gaps, retries };
}

/**
 * A reconnect storm: one lane group per path, a lane per queue id over all its
 * associations (counts over time), and a lane of association starts; retries
 * are drawn between those lanes. Bounded by paths and queues, not associations.
 */
function stormCapture(report: Report, collected: HtmlCollector): HtmlCapture {
  const t0 = report.capture.firstTime ?? collected.captureStart ?? 0;
  const shift = (collected.captureStart ?? t0) - t0;
  const lanes: HtmlCapture['lanes'] = [];
  const groups: HtmlCapture['groups'] = [];
  const density: HtmlCapture['density'] = [];
  const laneByPathQid = new Map<string, number>();
  const fmt = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(3)} s`);
  report.paths.forEach((p) => {
    const g = {
      title: `${count(p.associations, 'association')} (${p.withFindings} with findings), lived ${fmt(p.lifetimeMs.p50)} median, reconnect delay ${fmt(p.reconnectDelayMs.p50)} median`,
      subtitle: p.path, lanes: [] as number[],
    };
    const starts = collected.pathStarts.get(p.path);
    if (starts) {
      const lane = lanes.length;
      lanes.push({ label: 'association starts', assoc: null, qid: null, conn: -1 });
      g.lanes.push(lane);
      density.push({ lane, widthS: starts.widthS, counts: starts.counts, what: 'associations started', offsetS: shift });
    }
    for (const [qid, d] of [...(collected.pathLanes.get(p.path) ?? new Map<number, Density>())].sort((x, y) => x[0] - y[0])) {
      const lane = lanes.length;
      lanes.push({ label: `${qid === 0 ? 'admin q0' : qid < 0 ? 'queue ?' : `I/O q${qid}`}  (all associations)`, assoc: null, qid: qid < 0 ? null : qid, conn: -1 });
      laneByPathQid.set(`${p.path}/${qid}`, lane);
      g.lanes.push(lane);
      density.push({ lane, widthS: d.widthS, counts: d.counts, what: 'commands', offsetS: shift });
    }
    groups.push(g);
  });
  const pathOfAssoc = new Map(report.associations.map((a) => [a.id, a.path]));
  const retries: HtmlCapture['retries'] = [];
  report.findings.forEach((f, i) => {
    if (!isRetryFinding(f)) return;
    const d = f.details;
    const fromPath = pathOfAssoc.get(d.originalAssoc);
    const toPath = pathOfAssoc.get(d.retryAssoc) ?? fromPath;
    const from = fromPath === undefined ? undefined : laneByPathQid.get(`${fromPath}/${d.originalQid ?? -1}`);
    const to = toPath === undefined ? undefined : laneByPathQid.get(`${toPath}/${f.qid ?? -1}`);
    if (from === undefined || to === undefined) return;
    retries.push(retryLane(f, i, from, to, report.paths.findIndex((p) => p.path === fromPath), t0, []));
  });
  return { ...base(report, collected, t0), groups, lanes, commands: [], passages: [], density, tcp: [], gaps: [], retries, kernel: [], incidents: incidentsOf(report, retries, t0, (i) => report.paths.findIndex((p) => p.path === i.path)) };
}


/** The page's incidents: times relative to the capture, the retries drawn for them, their findings. */
function incidentsOf(report: Report, retries: HtmlCapture['retries'], t0: number, groupOf?: (i: Report['incidents'][number]) => number): HtmlCapture['incidents'] {
  return report.incidents.map((i) => {
    const members = new Set(i.findings);
    const contact = i.lastControllerContact;
    return {
      id: i.id, severity: i.severity, verdict: i.verdict, t0: round6(i.firstTime - t0), t1: round6(i.lastTime - t0),
      contact: contact ? { t: round6(contact.time - t0), frame: contact.frame } : null,
      windowEnd: i.deadline?.time === null || i.deadline === null ? null : round6(i.deadline.time - t0),
      group: groupOf ? groupOf(i) : report.associations.findIndex((a) => a.id === i.assoc),
      retries: retries.flatMap((r, k) => (members.has(r.finding) ? [k] : [])), findings: i.findings, filter: i.wiresharkFilter,
    };
  });
}
