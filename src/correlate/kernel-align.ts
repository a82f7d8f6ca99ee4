import type { DevicePath, KernelEvent, KernelLog, LogGroup } from '../kernel-log/types.js';
export type { DevicePath, LogGroup };
import type { Assoc } from './model.js';

/** What alignment and ties need of an association: kept compactly for every association, ended ones too. */
export type AnchorAssoc = Pick<Assoc, 'id' | 'cntlid' | 'subnqn' | 'hostnqn' | 'hostAddress' | 'controller' | 'first' | 'connected' | 'ioConnected'>;

export function anchorOf(a: Assoc): AnchorAssoc {
  return {
    id: a.id, cntlid: a.cntlid, subnqn: a.subnqn, hostnqn: a.hostnqn, hostAddress: a.hostAddress, controller: a.controller, first: a.first,
    connected: a.connected, ioConnected: a.ioConnected,
  };
}
import type { KernelLogAlignment } from './types.js';
import { maxOf, median, minOf, msOf, round6 } from '../common/numbers.js';

/** Anchors further than this from the offset most of them agree on are not used (lines of another run, say). */
export const ANCHOR_BOUND_S = 0.25;

/** A log line the capture also shows, paired with where the capture shows it. */
interface Pair {
  event: KernelEvent;
  kind: KernelLogAlignment['anchors'][number]['kind'];
  assoc: AnchorAssoc;
  frame: number;
  offsetS: number;
}

/** Every boot of every log: the lines of one boot share one clock. */
export function groupsOf(logs: readonly KernelLog[]): LogGroup[] {
  return logs.flatMap((l) => l.groups);
}

/** The log time of an event, in seconds on its own clock (a yearless wall clock gets the capture's year). */
export function logSeconds(e: KernelEvent, captureStart: number): number {
  const c = e.clock;
  if (c.kind === 'uptime') return c.seconds;
  if (!c.yearless) return c.epoch;
  // The placeholder year is 2000: move it to the year (around the capture's) that lands nearest the capture.
  const start = new Date(captureStart * 1000);
  let best = c.epoch;
  for (const year of [start.getFullYear() - 1, start.getFullYear(), start.getFullYear() + 1]) {
    const d = new Date(c.epoch * 1000);
    d.setFullYear(year);
    const t = d.getTime() / 1000 + (c.epoch % 1);
    if (Math.abs(t - captureStart) < Math.abs(best - captureStart)) best = t;
  }
  return best;
}

export function onPath(a: AnchorAssoc, path: DevicePath): boolean {
  return (a.subnqn === undefined || path.subnqn === undefined || a.subnqn === path.subnqn) && sameAddress(a.controller, path.addr);
}

/** The capture writes IPv6 controllers as [addr]:port; kernels write them with or without brackets. */
function sameAddress(controller: string, addr: string): boolean {
  return controller === addr || controller.replace(/^\[(.*)\]/, '$1') === addr.replace(/^\[(.*)\]/, '$1');
}

/** Every pairing of a log line with a capture event of the same identity. */
function pairs(group: LogGroup, assocs: readonly AnchorAssoc[], seconds: (e: KernelEvent) => number): Pair[] {
  const out: Pair[] = [];
  const paths = group.paths;
  // The log keeps its first anchor lines: a few agreeing ones fix the offset; a storm's thousands would only cost time.
  for (const e of group.anchors) {
    for (const a of assocs) {
      if (!a.connected) continue;
      const ready = a.ioConnected ?? a.connected;
      if (e.kind === 'controller-created') {
        // The target logs it while handling the admin Connect; its response carries the same controller id.
        if (a.cntlid !== e.ctrl || (a.subnqn !== undefined && a.subnqn !== e.subnqn) || (a.hostnqn !== undefined && a.hostnqn !== e.hostnqn)) continue;
        out.push({ event: e, kind: 'controller-created', assoc: a, frame: a.connected.frame, offsetS: a.connected.time - seconds(e) });
      } else if (e.kind === 'new-ctrl' || e.kind === 'reconnected') {
        // The host logs these once its queues are connected: after the last I/O queue's Connect response.
        const path = e.kind === 'new-ctrl' ? { subnqn: e.subnqn!, addr: e.addr! } : e.device ? paths.get(e.device) : undefined;
        if (path && !onPath(a, path)) continue;
        out.push({ event: e, kind: e.kind, assoc: a, frame: ready.frame, offsetS: ready.time - seconds(e) });
      }
    }
  }
  return out;
}

/**
 * Places one group on the capture's clock. Seconds-since-boot logs: every
 * pairing votes for an offset; the offset most pairings agree on (within
 * ANCHOR_BOUND_S) wins, each log line keeps its pairing nearest to it, and
 * their median is the offset. Wall-clock logs take their own time plus
 * --dmesg-offset; their anchors only measure the disagreement.
 */
export function align(
  group: LogGroup, assocs: readonly AnchorAssoc[], captureStart: number, wallOffsetS: number, support?: (offsetS: number) => number,
): KernelLogAlignment {
  const wall = group.wall;
  const seconds = (e: KernelEvent) => logSeconds(e, captureStart);
  const all = pairs(group, assocs, seconds);
  const base = { source: group.source, boot: group.boot };
  if (all.length === 0 && !wall) {
    return { ...base, method: 'none', offsetS: null, anchors: [], residualMs: null, message: 'no line of this log names an event the capture shows (a Connect answered with controller N, new ctrl, reconnected): not aligned' };
  }
  let chosen: Pair[];
  let offset: number;
  if (wall) {
    offset = wallOffsetS;
    chosen = nearestPerLine(all, offset);
  } else {
    // Slide a window of 2 × ANCHOR_BOUND_S over the sorted offsets: the window with the most lines wins.
    const sorted = [...all].sort((x, y) => x.offsetS - y.offsetS);
    let best: Pair[] = [];
    let bestSupport: number | undefined;
    let tiesScored = 0;
    for (let i = 0, j = 0; i < sorted.length; i++) {
      while (sorted[j].offsetS < sorted[i].offsetS - 2 * ANCHOR_BOUND_S) j++;
      const window = sorted.slice(j, i + 1);
      const centre = (window[0].offsetS + window[window.length - 1].offsetS) / 2;
      const near = nearestPerLine(window, centre);
      if (near.length > best.length) {
        best = near;
        bestSupport = undefined;
        continue;
      }
      if (near.length < best.length) continue;
      // Placements the anchors cannot tell apart (one `new ctrl` line, two hosts on the subsystem):
      // the one under which more of the log's other lines name a captured command wins.
      const apart = Math.abs(middle(near) - middle(best)) > 2 * ANCHOR_BOUND_S;
      if (support && apart && tiesScored < MAX_TIES_SCORED) {
        tiesScored++;
        bestSupport ??= support(middle(best));
        const s = support(middle(near));
        if (s !== bestSupport) {
          if (s > bestSupport) [best, bestSupport] = [near, s];
          continue;
        }
      }
      if (offsetRange(near) < offsetRange(best)) [best, bestSupport] = [near, undefined];
    }
    // The host logs "Successfully reconnected" only after requeueing I/O, tens of ms after the last Connect
    // response: it places the log only when no line the kernel writes at the Connect itself agrees.
    const strong = best.filter((p) => p.kind !== 'reconnected');
    const used = strong.length > 0 ? strong : best;
    offset = median(used.map((p) => p.offsetS));
    chosen = nearestPerLine(used, offset);
    const lines = new Set(all.map((p) => p.event.line)).size;
    if (best.length < 2 && lines >= 2) {
      return { ...base, method: 'none', offsetS: null, anchors: [], residualMs: null, message: `the ${lines} anchor lines of this log disagree by more than ${ANCHOR_BOUND_S * 1000} ms with every placement: not aligned` };
    }
  }
  const residualMs = chosen.length ? msOf(maxOf(chosen.map((p) => Math.abs(p.offsetS - offset)))) : null;
  const anchors = chosen.map((p) => ({ kind: p.kind, line: p.event.line, frame: p.frame, assoc: p.assoc.id, offsetS: round6(p.offsetS) }));
  const message = wall
    ? `wall-clock times${wallOffsetS ? ` shifted by --dmesg-offset ${wallOffsetS * 1000} ms` : ''}; ${anchors.length ? `${anchors.length} anchor(s) disagree with the capture by up to ${residualMs} ms` : 'no anchor to check them against'}`
    : `${anchors.length} anchor(s) agree within ${residualMs} ms${anchors.length === 1 ? ' (a single anchor: not cross-checked)' : ''}`;
  return { ...base, method: wall ? 'wall-clock' : 'anchors', offsetS: round6(offset), anchors, residualMs, message };
}

/** For each log line, its pairing closest to `offset`. */
function nearestPerLine(list: Pair[], offset: number): Pair[] {
  const best = new Map<number, Pair>();
  for (const p of list) {
    const b = best.get(p.event.line);
    if (!b || Math.abs(p.offsetS - offset) < Math.abs(b.offsetS - offset)) best.set(p.event.line, p);
  }
  return [...best.values()].sort((x, y) => x.event.line - y.event.line);
}

/** Tied placements scored by `support` per group: a storm's thousands of equal pairings would only cost time. */
const MAX_TIES_SCORED = 16;

function middle(list: Pair[]): number {
  return median(list.map((p) => p.offsetS));
}

/** How far apart the offsets a set of anchor pairs gives lie. */
function offsetRange(list: Pair[]): number {
  if (list.length === 0) return Infinity;
  const o = list.map((p) => p.offsetS);
  return maxOf(o) - minOf(o);
}

export { round6 };
