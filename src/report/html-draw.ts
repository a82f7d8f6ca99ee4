/**
 * The HTML timeline's drawing, one function per layer. Like the rest of the page's script
 * (html-client.ts) these run in the browser, serialised into the page with toString(): each
 * uses nothing but its arguments, the other functions of the page's script and the DOM. What a
 * drawing reads of its capture comes in `D` (the layout, the data, the page's constants).
 */
import type { HtmlCapture } from './html-data.js';

/** One drawing's geometry: the layout is read once per draw, never per element. */
export interface View {
  a: number;
  b: number;
  w: number;
  plotW: number;
  x: (t: number) => number;
  tAt: (px: number) => number;
}

/** What the drawing functions read of one capture's section of the page. */
export interface Drawing {
  cap: HtmlCapture;
  capIndex: number;
  rows: { y: number; lane: number | null; group: number | null }[];
  laneY: number[];
  groupSpan: { top: number; bottom: number }[];
  height: number;
  /** An unanswered command is drawn up to its connection's first FIN/RST (or the end of the capture). */
  closeAt: number[];
  /** A command row's index, for its tooltip. */
  index: Map<number[], number>;
  /** Per lane drawn as density: its columns, for the tooltip under the pointer. */
  densityOf: Map<number, { counts: Uint32Array; from: number }>;
  /** Which incident each retry belongs to, and the incidents whose bundle was clicked open. */
  incidentOfRetry: Map<number, HtmlCapture['incidents'][number]>;
  expanded: Set<number>;
  OUTCOMES: string[];
  LANE_H: number;
  /** Width of one 9px TCP flag word ("FIN ") in a marker label. */
  LABEL_WORD_PX: number;
  GROUP_H: number;
  LABEL_W: number;
  AXIS_H: number;
  MAX_DRAWN: number;
  /** An incident's retries, from this many, are one bundled arrow with their count until clicked. */
  BUNDLE_MIN: number;
}

export function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, parent: Element): SVGElementTagNameMap[K] {
  const e = document.createElementNS('http://www.w3.org/2000/svg', name);
  for (const k of Object.keys(attrs)) e.setAttribute(k, String(attrs[k]));
  parent.appendChild(e);
  return e;
}

export function fmt(t: number): string {
  return `${t.toFixed(6)} s`;
}

/**
 * A frame reference as the reports write it (src/common/frame-ref.ts: frameLabel): this function
 * is serialised into the page and can import nothing, so the two-line rule is repeated here.
 */
export function fl(ref: number | null): string {
  if (ref === null) return '-';
  const capture = Math.floor(ref / 4294967296);
  return capture === 0 ? String(ref) : `${capture === 1 ? 'target' : `mid${capture - 1}`}#${ref % 4294967296}`;
}

export function drawAxis(D: Drawing, v: View, root: Element): void {
  const span = v.b - v.a;
  const step = Math.pow(10, Math.floor(Math.log10(span / 8)));
  const nice = span / step > 40 ? step * 5 : span / step > 16 ? step * 2 : step;
  for (let t = Math.ceil(v.a / nice) * nice; t <= v.b; t += nice) {
    el('line', { x1: v.x(t), x2: v.x(t), y1: D.AXIS_H - 6, y2: D.height, class: 'grid' }, root);
    el('text', { x: v.x(t) + 2, y: D.AXIS_H - 10, class: 'axis' }, root).textContent = `${+t.toFixed(6)} s`;
  }
}

export function drawLabels(D: Drawing, v: View, root: Element): void {
  for (const r of D.rows) {
    if (r.group !== null) {
      const g = D.cap.groups[r.group];
      el('rect', { x: 0, y: r.y, width: v.w, height: D.GROUP_H, class: 'group-bg' }, root);
      el('text', { x: 6, y: r.y + 14, class: 'group-title' }, root).textContent = g.title;
      el('text', { x: 6, y: r.y + 28, class: 'group-sub' }, root).textContent = g.subtitle;
    } else if (r.lane !== null) {
      const lane = D.cap.lanes[r.lane];
      const g = el('g', { class: 'lane', 'data-lane': r.lane, 'data-conn': lane.conn, 'data-qid': lane.qid ?? '' }, root);
      el('rect', { x: 0, y: r.y, width: v.w, height: D.LANE_H, class: 'lane-bg' }, g);
      el('text', { x: 12, y: r.y + 16, class: 'lane-label' }, g).textContent = lane.label;
    }
  }
}

/**
 * KATO windows and last controller contacts, behind everything: one window per incident (and per
 * retry outside any), never one per retry: translucent windows stacked by the dozen would be an
 * opaque block over the lanes.
 */
export function drawWindows(D: Drawing, v: View, plot: Element): void {
  // A span already drawn (two retries of one break outside an incident, say) is not drawn again.
  const drawn = new Set<string>();
  const windows = [
    ...D.cap.incidents.map((inc) => ({ contact: inc.contact, end: inc.windowEnd, group: inc.group, finding: inc.findings[0] ?? -1, what: `incident ${inc.id}: ${inc.verdict}` })),
    ...D.cap.retries.flatMap((r, k) => (D.incidentOfRetry.has(k) ? [] : [{ contact: r.contact, end: r.windowEnd, group: r.group, finding: r.finding, what: r.ruleId === 'retry-before-kato' ? 'retry inside it' : 'retry outside it' }])),
  ];
  for (const { contact, end, group, finding, what } of windows) {
    if (!contact || end === null || drawn.has(`${contact.t}/${end}`)) continue;
    drawn.add(`${contact.t}/${end}`);
    const span2 = D.groupSpan[Math.max(0, group)] ?? { top: D.AXIS_H, bottom: D.height };
    el('rect', {
      x: v.x(contact.t), y: D.AXIS_H, width: Math.max(1, v.x(end) - v.x(contact.t)), height: D.height - D.AXIS_H, class: 'kato-window',
      'data-finding': finding, 'data-t0': contact.t, 'data-t1': end,
      'data-frames': String(contact.frame),
      'data-tip': `KATO window (${what})\nfrom last controller contact ${fmt(contact.t)} (frame ${fl(contact.frame)})\nto ${fmt(end)}: a retry before this end may run twice`,
    }, plot);
    el('line', {
      x1: v.x(contact.t), x2: v.x(contact.t), y1: span2.top, y2: span2.bottom, class: 'contact', 'data-t': contact.t,
      'data-frames': String(contact.frame), 'data-tip': `last controller contact ${fmt(contact.t)} (frame ${fl(contact.frame)})`,
    }, plot);
  }
}

export function drawGaps(D: Drawing, v: View, plot: Element): void {
  for (const gp of D.cap.gaps) {
    if (gp.t < v.a || gp.t > v.b) continue;
    el('rect', {
      x: v.x(gp.t) - 3, y: D.laneY[gp.lane], width: 6, height: D.LANE_H, class: 'gap', 'data-frames': String(gp.frame),
      'data-tip': `capture gap: ${gp.bytes} bytes ${gp.dir} not captured\nframe ${fl(gp.frame)} at ${fmt(gp.t)}`,
    }, plot);
  }
}

/**
 * Commands one by one while a lane's visible ones are fewer than its pixel
 * columns (and D.MAX_DRAWN in all); past that, that lane as a per-pixel
 * density: the number of elements is bounded by the drawing's width.
 */
export function drawCommands(D: Drawing, v: View, plot: Element): void {
  const byLane = new Map<number, number[][]>();
  for (const c of D.cap.commands) {
    if ((c[2] < 0 ? D.closeAt[c[0]] ?? D.cap.durationS : c[2]) < v.a || c[1] > v.b) continue;
    let list = byLane.get(c[0]);
    if (!list) byLane.set(c[0], (list = []));
    list.push(c);
  }
  D.densityOf.clear();
  let budget = D.MAX_DRAWN;
  for (const [lane, list] of byLane) {
    // One bar per command while bars average two pixels or more apart; past that, density.
    if (list.length <= Math.min(v.plotW / 2, budget)) {
      budget -= list.length;
      for (const c of list) drawCommand(D, v, plot, c, D.index.get(c)!);
    } else drawLaneDensity(D, v, plot, lane, list);
  }
}

export function drawCommand(D: Drawing, v: View, plot: Element, c: number[], k: number): void {
  const [lane, s, e, o, , op, f, g, , , ka] = c;
  const end = e >= 0 ? e : D.closeAt[lane] ?? D.cap.durationS;
  const aer = D.cap.opcodes[op] === 'Asynchronous Event Request';
  const frames = g >= 0 ? `${f} ${g}` : String(f);
  // The tooltip is written on hover (commandTip): no string per element per draw.
  if (ka) {
    el('line', { x1: v.x(s), x2: v.x(s), y1: D.laneY[lane] + 3, y2: D.laneY[lane] + D.LANE_H - 3, class: `ka${o ? ' unanswered' : ''}`, 'data-frames': frames, 'data-c': k }, plot);
  } else {
    el('rect', {
      x: v.x(s), y: D.laneY[lane] + 6, width: Math.max(2, v.x(end) - v.x(s)), height: D.LANE_H - 12,
      class: `cmd ${aer ? 'aer' : o === 0 ? 'ok' : o === 1 ? 'err' : o === 4 ? 'undecided' : 'unanswered'}`, 'data-frames': frames, 'data-c': k,
    }, plot);
  }
}

/**
 * Both ends of the wire (--same-traffic): each PDU as a slanted line across its lane from its
 * host-side time (the lane's top edge) to its target-side time (the bottom edge) — down for what
 * the host sent, up for what the controller sent, the slant the delay between the points; what one
 * point alone saw ends in a cross.
 */
export function drawPassages(D: Drawing, v: View, plot: Element): void {
  const cross = (x: number, y: number) => el('path', { d: `M ${x - 3} ${y - 3} L ${x + 3} ${y + 3} M ${x - 3} ${y + 3} L ${x + 3} ${y - 3}`, class: 'passage lost' }, plot);
  for (const [lane, h, t] of D.cap.passages) {
    const at = h >= 0 ? h : t;
    if (at < v.a || at > v.b) continue;
    const top = D.laneY[lane] + 2;
    const bottom = D.laneY[lane] + D.LANE_H - 2;
    if (h >= 0 && t >= 0) {
      el('line', { x1: v.x(h), y1: top, x2: v.x(t), y2: bottom, class: 'passage', 'data-tip': `seen at the host ${fmt(h)}, at the target ${fmt(t)}: ${((t - h) * 1e6).toFixed(0)} µs apart` }, plot);
    } else if (h >= 0) {
      el('line', { x1: v.x(h), y1: top, x2: v.x(h) + 6, y2: bottom - 4, class: 'passage', 'data-tip': `seen at the host only, ${fmt(h)}` }, plot);
      cross(v.x(h) + 6, bottom - 4);
    } else {
      el('line', { x1: v.x(t), y1: bottom, x2: v.x(t) + 6, y2: top + 4, class: 'passage', 'data-tip': `seen at the target only, ${fmt(t)}` }, plot);
      cross(v.x(t) + 6, top + 4);
    }
  }
}

export function commandTip(D: Drawing, c: number[]): string {
  const [, s, e, o, cid, op, f, g, slba, nlb] = c;
  const name = D.cap.opcodes[op];
  const text = `${name} cid 0x${cid.toString(16).padStart(4, '0')}${slba >= 0 ? ` SLBA ${slba} NLB ${nlb}` : ''}\n` +
    `submitted ${fmt(s)} (frame ${fl(f)})\n${e >= 0 ? `completed ${fmt(e)} (frame ${fl(g)}), ${((e - s) * 1000).toFixed(3)} ms` : 'no completion'}\n${D.OUTCOMES[o]}`;
  return name === 'Asynchronous Event Request' ? `${text} (outstanding by design: the controller answers only when an event occurs)` : text;
}

/** A lane as one path per outcome, one column per pixel: three elements however many commands. */
export function drawLaneDensity(D: Drawing, v: View, plot: Element, lane: number, list: number[][]): void {
  const px = Math.ceil(v.plotW);
  const counts = new Uint32Array(px);
  const worst = new Uint8Array(px);
  for (const c of list) {
    const col = Math.max(0, Math.min(px - 1, Math.floor(v.x(c[1]) - D.LABEL_W)));
    counts[col]++;
    worst[col] = Math.max(worst[col], c[3] === 0 ? 0 : c[3] === 1 ? 1 : 2);
  }
  let max = 1;
  for (let i = 0; i < px; i++) if (counts[i] > max) max = counts[i];
  const paths = ['', '', ''];
  const bottom = D.laneY[lane] + D.LANE_H - 3;
  for (let i = 0; i < px; i++) {
    if (!counts[i]) continue;
    const h = Math.max(2, ((D.LANE_H - 6) * counts[i]) / max);
    paths[worst[i]] += `M${D.LABEL_W + i} ${bottom - h}h1v${h}h-1z`;
  }
  D.densityOf.set(lane, { counts, from: D.LABEL_W });
  ['ok', 'err', 'unanswered'].forEach((kind, k) => {
    if (paths[k]) el('path', { d: paths[k], class: `density ${kind}`, 'data-density': lane }, plot);
  });
}

/** Counts over time, pre-bucketed (omitted commands, or a storm's paths): merged so no bucket is thinner than a pixel. */
export function drawOmitted(D: Drawing, v: View, plot: Element): void {
  for (const d of D.cap.density) {
    const origin = d.offsetS ?? 0;
    const perPixel = Math.max(1, Math.ceil((v.b - v.a) / v.plotW / d.widthS));
    let max = 1;
    for (let i = 0; i < d.counts.length; i += perPixel) {
      let n = 0;
      for (let k = i; k < i + perPixel && k < d.counts.length; k++) n += d.counts[k];
      if (n > max) max = n;
    }
    let path = '';
    for (let i = 0; i < d.counts.length; i += perPixel) {
      let n = 0;
      for (let k = i; k < i + perPixel && k < d.counts.length; k++) n += d.counts[k];
      if (!n) continue;
      const t = origin + i * d.widthS;
      const width = perPixel * d.widthS;
      if (t + width < v.a || t > v.b) continue;
      const h = Math.max(1, ((D.LANE_H - 6) * n) / max);
      path += `M${v.x(t)} ${D.laneY[d.lane] + D.LANE_H - 3 - h}h${Math.max(1, v.x(t + width) - v.x(t))}v${h}h${-Math.max(1, v.x(t + width) - v.x(t))}z`;
    }
    if (path) {
      el('path', { d: path, class: 'density ok', 'data-tip': `${d.what}: bar height is the count per ${(perPixel * d.widthS * 1000).toFixed(1)} ms, tallest ${max}` }, plot);
    }
  }
}

/** Kernel log lines: a tick on their side's lane; the tip shows the line as logged. */
export function drawKernel(D: Drawing, v: View, plot: Element): void {
  for (const k of D.cap.kernel) {
    if (k.t < v.a || k.t > v.b) continue;
    const kx = v.x(k.t);
    el('path', {
      d: `M ${kx} ${D.laneY[k.lane] + 4} L ${kx + 4} ${D.laneY[k.lane] + D.LANE_H - 4} L ${kx - 4} ${D.laneY[k.lane] + D.LANE_H - 4} z`,
      class: `kernel ${k.kind}`, 'data-t': k.t, 'data-frames': k.commandFrame === null ? '' : String(k.commandFrame),
      'data-tip': `${k.text}\nat ${fmt(k.t)}, after frame ${fl(k.afterFrame)}${k.commandFrame !== null ? `\nnames the command of frame ${fl(k.commandFrame)}` : ''}`,
    }, plot);
  }
}

/** SYN/FIN/RST markers; markers closer than a label's width share one label ("FIN RST") instead of overprinting. */
export function drawTcp(D: Drawing, v: View, plot: Element): void {
  const rowLabels = new Map<number, { text: SVGElement; end: number }>();
  for (const m of D.cap.tcp) {
    if (m.t < v.a || m.t > v.b) continue;
    const cx = v.x(m.t);
    const cy = D.laneY[m.lane] + (m.from === 'host' ? 7 : D.LANE_H - 7);
    const g = el('g', {
      class: `tcp ${m.kind}`, 'data-frames': String(m.frame), 'data-t': m.t,
      'data-tip': `${m.from} ${m.kind.toUpperCase()} frame ${fl(m.frame)} at ${fmt(m.t)}${m.inFlight ? `\n${m.inFlight} command(s) in flight` : ''}`,
    }, plot);
    el('path', { d: `M ${cx} ${cy - 5} L ${cx + 5} ${cy} L ${cx} ${cy + 5} L ${cx - 5} ${cy} z` }, g);
    const word = m.kind.toUpperCase();
    const previous = rowLabels.get(cy);
    if (previous && cx + 6 < previous.end) {
      previous.text.textContent += ` ${word}`;
      previous.end += D.LABEL_WORD_PX;
    } else {
      // At the right edge the label goes left of its marker, and takes every later word of the row.
      const atEdge = cx + 6 + 2 * D.LABEL_WORD_PX > v.x(v.b);
      const text = el('text', atEdge ? { x: cx - 7, y: cy + 4, class: 'tcp-label', 'text-anchor': 'end' } : { x: cx + 6, y: cy + 4, class: 'tcp-label' }, g);
      text.textContent = word;
      rowLabels.set(cy, { text, end: atEdge ? Infinity : cx + 6 + D.LABEL_WORD_PX });
    }
  }
}

/** An incident's many retries as one arrow with their count: a click opens it into one arrow each. */
export function drawBundles(D: Drawing, v: View, plot: Element): void {
  for (const inc of D.cap.incidents) {
    if (inc.retries.length < D.BUNDLE_MIN || D.expanded.has(inc.id)) continue;
    const list = inc.retries.map((k) => D.cap.retries[k]);
    const first = list.reduce((a, b) => (b.from.t < a.from.t ? b : a));
    const last = list.reduce((a, b) => (b.to.t > a.to.t ? b : a));
    const x1 = v.x(first.from.t);
    const y1 = D.laneY[first.from.lane] + D.LANE_H / 2;
    const x2 = v.x(last.to.t);
    const y2 = D.laneY[last.to.lane] + D.LANE_H / 2;
    const bend = Math.min(80, Math.abs(x2 - x1) / 2);
    const early = list.filter((r) => r.ruleId === 'retry-before-kato').length;
    const frames = list.flatMap((r) => [r.from.frame, r.to.frame]).join(' ');
    const tipText = `incident ${inc.id}: ${list.length} retries (${early} before KATO) — click to show each\n${inc.verdict}`;
    const attrs = { 'data-incident': inc.id, 'data-frames': frames, 'data-tip': tipText, 'data-count': list.length };
    el('path', {
      d: `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`, class: `retry-arrow retry-bundle ${early ? 'retry-before-kato' : list[0].ruleId}`,
      'marker-end': `url(#arrow${D.capIndex})`, 'data-x1': x1, 'data-x2': x2, ...attrs,
    }, plot);
    el('text', { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6, class: 'bundle-label', ...attrs }, plot).textContent = `×${list.length}`;
  }
}

/** Retry arrows from the original to the resubmission, with each retry's evidence chain. */
export function drawRetries(D: Drawing, v: View, plot: Element): void {
  drawBundles(D, v, plot);
  for (const [k, r] of D.cap.retries.entries()) {
    const inc = D.incidentOfRetry.get(k);
    if (inc && inc.retries.length >= D.BUNDLE_MIN && !D.expanded.has(inc.id)) continue;
    const x1 = v.x(r.from.t);
    const y1 = D.laneY[r.from.lane] + D.LANE_H / 2;
    const x2 = v.x(r.to.t);
    const y2 = D.laneY[r.to.lane] + D.LANE_H / 2;
    const bend = Math.min(80, Math.abs(x2 - x1) / 2);
    el('path', {
      d: `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`, class: `retry-arrow ${r.ruleId}`,
      'marker-end': `url(#arrow${D.capIndex})`, 'data-finding': r.finding, 'data-x1': x1, 'data-x2': x2,
      ...(inc && inc.retries.length >= D.BUNDLE_MIN ? { 'data-incident': inc.id } : {}),
      'data-frames': `${r.from.frame} ${r.to.frame}`,
      'data-tip': `${r.ruleId}\n${r.label}\noriginal frame ${fl(r.from.frame)} at ${fmt(r.from.t)}\nretry frame ${fl(r.to.frame)} at ${fmt(r.to.t)}`,
    }, plot);
    // The evidence chain: one marker per step, joined in time order and ending on the retry.
    const points = r.evidence.map((e) => `${v.x(e.t)},${D.laneY[e.lane] + D.LANE_H / 2}`);
    if (points.length > 1) el('polyline', { points: points.join(' '), class: 'evidence-chain', 'data-finding': r.finding }, plot);
    r.evidence.forEach((e, k) => {
      el('circle', {
        cx: v.x(e.t), cy: D.laneY[e.lane] + D.LANE_H / 2, r: 3.5, class: `evidence ${e.step}`, 'data-finding': r.finding, 'data-t': e.t,
        'data-frames': e.frame === null ? '' : String(e.frame), 'data-tip': `${k + 1}. ${e.step}: ${e.what}\n${e.step.startsWith('kernel-') ? 'after frame' : 'frame'} ${fl(e.frame)} at ${fmt(e.t)}`,
      }, plot);
    });
  }
}

/** What changes as the user zooms, pans and points: the view, and the frames highlighted. */
export interface ViewState {
  view: { a: number; b: number };
  full: { a: number; b: number };
  current: View;
  drag: { px: number; a: number; b: number } | null;
  pending: boolean;
  highlighted: Set<number>;
}

export function measure(wrap: HTMLElement, view: { a: number; b: number }, labelW: number): View {
  const w = Math.max(600, wrap.clientWidth);
  const plotW = w - labelW - 10;
  const { a, b } = view;
  return { a, b, w, plotW, x: (t) => labelW + ((t - a) / (b - a)) * plotW, tAt: (px) => a + ((px - labelW) / plotW) * (b - a) };
}

/** Redraws every layer into a fragment, then swaps it in: one layout, whatever the element count. */
export function drawAll(D: Drawing, S: ViewState, svg: SVGSVGElement, wrap: HTMLElement): void {
  S.pending = false;
  const v = (S.current = measure(wrap, S.view, D.LABEL_W));
  const frag = document.createDocumentFragment() as unknown as Element;
  const defs = el('defs', {}, frag);
  const clip = el('clipPath', { id: `plot${D.capIndex}` }, defs);
  el('rect', { x: D.LABEL_W, y: 0, width: v.w - D.LABEL_W, height: D.height }, clip);
  const marker = el('marker', { id: `arrow${D.capIndex}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, defs);
  el('path', { d: 'M 0 0 L 10 5 L 0 10 z' }, marker);
  drawAxis(D, v, frag);
  drawLabels(D, v, frag);
  const plot = el('g', { 'clip-path': `url(#plot${D.capIndex})` }, frag);
  drawWindows(D, v, plot);
  drawGaps(D, v, plot);
  drawCommands(D, v, plot);
  drawPassages(D, v, plot);
  drawOmitted(D, v, plot);
  drawKernel(D, v, plot);
  drawTcp(D, v, plot);
  drawRetries(D, v, plot);
  svg.replaceChildren(frag);
  svg.setAttribute('width', String(v.w));
  svg.setAttribute('viewBox', `0 0 ${v.w} ${D.height}`);
  applyHighlight(svg, S.highlighted);
}

/** Marks the elements of the highlighted frames; with nothing highlighted it touches no element. */
export function applyHighlight(svg: SVGSVGElement, highlighted: Set<number>): void {
  svg.querySelectorAll('.hl').forEach((e) => e.classList.remove('hl'));
  if (highlighted.size === 0) return;
  svg.querySelectorAll('[data-frames]').forEach((e) => {
    const frames = (e.getAttribute('data-frames') || '').split(' ').map(Number);
    if (frames.some((f) => highlighted.has(f))) e.classList.add('hl');
  });
}

/** What the rest of the page's script (html-client.ts, another module) calls here: handed to it as one object. */
export const PAGE_DRAW = { el, fmt, fl, commandTip, measure, drawAll, applyHighlight };
export type PageDraw = typeof PAGE_DRAW;
