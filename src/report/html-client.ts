/**
 * The HTML report's script. It runs in the browser: the function is
 * serialised into the page with toString(), so it must use nothing from
 * outside its own body. Every capture-derived string goes through
 * textContent or setAttribute, never innerHTML.
 */
export function clientMain(): void {
  type Cap = {
    file: string; t0: number; durationS: number; summary: string;
    groups: { title: string; subtitle: string; lanes: number[] }[];
    lanes: { label: string; assoc: number | null; qid: number | null; conn: number }[];
    commands: number[][]; opcodes: string[]; density: { lane: number; widthS: number; counts: number[]; what: string; offsetS?: number }[]; omitted: number;
    tcp: { lane: number; t: number; kind: string; from: string; frame: number; inFlight: number }[];
    gaps: { lane: number; t: number; frame: number; bytes: number; dir: string }[];
    retries: { finding: number; from: { lane: number; t: number; frame: number }; to: { lane: number; t: number; frame: number };
      contact: { t: number; frame: number } | null; windowEnd: number | null; group: number; ruleId: string; label: string;
      evidence: { lane: number; t: number; frame: number | null; step: string; what: string }[] }[];
    findings: { ruleId: string; severity: string; t: number; frames: number[]; where: string; message: string; filter: string }[];
    kernel: { lane: number; t: number; kind: string; text: string; afterFrame: number | null; commandFrame: number | null }[];
    incidents: { id: number; severity: string; verdict: string; t0: number; t1: number; contact: { t: number; frame: number } | null; windowEnd: number | null;
      group: number; retries: number[]; findings: number[]; filter: string }[];
  };
  const SVG = 'http://www.w3.org/2000/svg';
  const OUTCOMES = ['completed', 'error', 'unanswered at close', 'unanswered at end', 'undecidable'];
  const LANE_H = 24;
  /** Width of one 9px TCP flag word ("FIN ") in a marker label. */
  const LABEL_WORD_PX = 22;
  const GROUP_H = 34;
  const LABEL_W = 230;
  const AXIS_H = 26;
  const MAX_DRAWN = 4000;
  /** An incident's retries, from this many, are one bundled arrow with their count until clicked. */
  const BUNDLE_MIN = 2;
  const caps: Cap[] = JSON.parse((document.getElementById('timeline-data') as HTMLElement).textContent || '[]');
  const tip = document.getElementById('tip') as HTMLElement;

  function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, parent: Element): SVGElementTagNameMap[K] {
    const e = document.createElementNS(SVG, name);
    for (const k of Object.keys(attrs)) e.setAttribute(k, String(attrs[k]));
    parent.appendChild(e);
    return e;
  }
  function html<K extends keyof HTMLElementTagNameMap>(name: K, text: string | null, parent: Element, cls?: string): HTMLElementTagNameMap[K] {
    const e = document.createElement(name);
    if (text !== null) e.textContent = text;
    if (cls) e.className = cls;
    parent.appendChild(e);
    return e;
  }
  function fmt(t: number): string {
    return `${t.toFixed(6)} s`;
  }
  /**
   * A frame reference as the reports write it (src/common/frame-ref.ts: frameLabel): this function
   * is serialised into the page and can import nothing, so the two-line rule is repeated here.
   */
  function fl(ref: number | null): string {
    if (ref === null) return '-';
    const capture = Math.floor(ref / 4294967296);
    return capture === 0 ? String(ref) : `${capture === 1 ? 'target' : `mid${capture - 1}`}#${ref % 4294967296}`;
  }

  caps.forEach((cap, capIndex) => {
    const root = html('section', null, document.body, 'capture');
    html('h2', cap.file, root);
    html('p', cap.summary + (cap.omitted ? ` — ${cap.omitted} completed commands drawn as density only` : ''), root, 'summary');
    const controls = html('div', null, root, 'controls');
    const reset = html('button', 'Reset zoom', controls);
    html('span', 'Wheel: zoom · drag: pan · hover: details · click a finding: show it', controls, 'hint');
    const wrap = html('div', null, root, 'wrap');
    const rows: { y: number; lane: number | null; group: number | null }[] = [];
    let y = AXIS_H;
    const laneY: number[] = [];
    const groupSpan: { top: number; bottom: number }[] = [];
    cap.groups.forEach((g, gi) => {
      rows.push({ y, lane: null, group: gi });
      const top = y;
      y += GROUP_H;
      for (const lane of g.lanes) {
        laneY[lane] = y;
        rows.push({ y, lane, group: null });
        y += LANE_H;
      }
      groupSpan[gi] = { top, bottom: y };
      y += 6;
    });
    const height = y + 4;
    const svg = el('svg', { class: 'timeline', height, 'data-capture': capIndex }, wrap);
    let view = { a: -cap.durationS * 0.02, b: cap.durationS * 1.02 || 1 };
    const full = { ...view };

    /** One drawing's geometry: the layout is read once per draw, never per element. */
    interface View { a: number; b: number; w: number; plotW: number; x: (t: number) => number; tAt: (px: number) => number }
    function measure(): View {
      const w = Math.max(600, wrap.clientWidth);
      const plotW = w - LABEL_W - 10;
      const { a, b } = view;
      return { a, b, w, plotW, x: (t) => LABEL_W + ((t - a) / (b - a)) * plotW, tAt: (px) => a + ((px - LABEL_W) / plotW) * (b - a) };
    }
    let current = measure();

    function drawAxis(v: View, root: Element): void {
      const span = v.b - v.a;
      const step = Math.pow(10, Math.floor(Math.log10(span / 8)));
      const nice = span / step > 40 ? step * 5 : span / step > 16 ? step * 2 : step;
      for (let t = Math.ceil(v.a / nice) * nice; t <= v.b; t += nice) {
        el('line', { x1: v.x(t), x2: v.x(t), y1: AXIS_H - 6, y2: height, class: 'grid' }, root);
        el('text', { x: v.x(t) + 2, y: AXIS_H - 10, class: 'axis' }, root).textContent = `${+t.toFixed(6)} s`;
      }
    }

    function drawLabels(v: View, root: Element): void {
      for (const r of rows) {
        if (r.group !== null) {
          const g = cap.groups[r.group];
          el('rect', { x: 0, y: r.y, width: v.w, height: GROUP_H, class: 'group-bg' }, root);
          el('text', { x: 6, y: r.y + 14, class: 'group-title' }, root).textContent = g.title;
          el('text', { x: 6, y: r.y + 28, class: 'group-sub' }, root).textContent = g.subtitle;
        } else if (r.lane !== null) {
          const lane = cap.lanes[r.lane];
          const g = el('g', { class: 'lane', 'data-lane': r.lane, 'data-conn': lane.conn, 'data-qid': lane.qid ?? '' }, root);
          el('rect', { x: 0, y: r.y, width: v.w, height: LANE_H, class: 'lane-bg' }, g);
          el('text', { x: 12, y: r.y + 16, class: 'lane-label' }, g).textContent = lane.label;
        }
      }
    }

    /** Which incident each retry belongs to, and the incidents whose bundle was clicked open. */
    const incidentOfRetry = new Map<number, Cap['incidents'][number]>();
    for (const inc of cap.incidents) for (const k of inc.retries) incidentOfRetry.set(k, inc);
    const expanded = new Set<number>();

    /**
     * KATO windows and last controller contacts, behind everything: one window per incident (and per
     * retry outside any), never one per retry: translucent windows stacked by the dozen would be an
     * opaque block over the lanes.
     */
    function drawWindows(v: View, plot: Element): void {
      // A span already drawn (two retries of one break outside an incident, say) is not drawn again.
      const drawn = new Set<string>();
      const windows = [
        ...cap.incidents.map((inc) => ({ contact: inc.contact, end: inc.windowEnd, group: inc.group, finding: inc.findings[0] ?? -1, what: `incident ${inc.id}: ${inc.verdict}` })),
        ...cap.retries.flatMap((r, k) => (incidentOfRetry.has(k) ? [] : [{ contact: r.contact, end: r.windowEnd, group: r.group, finding: r.finding, what: r.ruleId === 'retry-before-kato' ? 'retry inside it' : 'retry outside it' }])),
      ];
      for (const { contact, end, group, finding, what } of windows) {
        if (!contact || end === null || drawn.has(`${contact.t}/${end}`)) continue;
        drawn.add(`${contact.t}/${end}`);
        const span2 = groupSpan[Math.max(0, group)] ?? { top: AXIS_H, bottom: height };
        el('rect', {
          x: v.x(contact.t), y: AXIS_H, width: Math.max(1, v.x(end) - v.x(contact.t)), height: height - AXIS_H, class: 'kato-window',
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

    function drawGaps(v: View, plot: Element): void {
      for (const gp of cap.gaps) {
        if (gp.t < v.a || gp.t > v.b) continue;
        el('rect', {
          x: v.x(gp.t) - 3, y: laneY[gp.lane], width: 6, height: LANE_H, class: 'gap', 'data-frames': String(gp.frame),
          'data-tip': `capture gap: ${gp.bytes} bytes ${gp.dir} not captured\nframe ${fl(gp.frame)} at ${fmt(gp.t)}`,
        }, plot);
      }
    }

    const index = new Map<number[], number>(cap.commands.map((c, i) => [c, i]));
    // An unanswered command is drawn up to its connection's first FIN/RST (or the end of the capture).
    const closeAt: number[] = [];
    for (const m of cap.tcp) if (m.kind !== 'syn' && (closeAt[m.lane] === undefined || m.t < closeAt[m.lane])) closeAt[m.lane] = m.t;

    /**
     * Commands one by one while a lane's visible ones are fewer than its pixel
     * columns (and MAX_DRAWN in all); past that, that lane as a per-pixel
     * density: the number of elements is bounded by the drawing's width.
     */
    function drawCommands(v: View, plot: Element): void {
      const byLane = new Map<number, number[][]>();
      for (const c of cap.commands) {
        if ((c[2] < 0 ? closeAt[c[0]] ?? cap.durationS : c[2]) < v.a || c[1] > v.b) continue;
        let list = byLane.get(c[0]);
        if (!list) byLane.set(c[0], (list = []));
        list.push(c);
      }
      densityOf.clear();
      let budget = MAX_DRAWN;
      for (const [lane, list] of byLane) {
        // One bar per command while bars average two pixels or more apart; past that, density.
        if (list.length <= Math.min(v.plotW / 2, budget)) {
          budget -= list.length;
          for (const c of list) drawCommand(v, plot, c, index.get(c)!);
        } else drawLaneDensity(v, plot, lane, list);
      }
    }

    function drawCommand(v: View, plot: Element, c: number[], index: number): void {
      const [lane, s, e, o, , op, f, g, , , ka] = c;
      const end = e >= 0 ? e : closeAt[lane] ?? cap.durationS;
      const aer = cap.opcodes[op] === 'Asynchronous Event Request';
      const frames = g >= 0 ? `${f} ${g}` : String(f);
      if (c.length > 11) drawPassage(v, plot, c);
      // The tooltip is written on hover (commandTip): no string per element per draw.
      if (ka) {
        el('line', { x1: v.x(s), x2: v.x(s), y1: laneY[lane] + 3, y2: laneY[lane] + LANE_H - 3, class: `ka${o ? ' unanswered' : ''}`, 'data-frames': frames, 'data-c': index }, plot);
      } else {
        el('rect', {
          x: v.x(s), y: laneY[lane] + 6, width: Math.max(2, v.x(end) - v.x(s)), height: LANE_H - 12,
          class: `cmd ${aer ? 'aer' : o === 0 ? 'ok' : o === 1 ? 'err' : o === 4 ? 'undecided' : 'unanswered'}`, 'data-frames': frames, 'data-c': index,
        }, plot);
      }
    }

    /**
     * Both ends of the wire (--same-traffic): the capsule as a slanted line from the host's send
     * (top of the lane) to its arrival at the target (bottom), the completion from the target's
     * send back up to the host; what one point alone saw ends in a cross.
     */
    function drawPassage(v: View, plot: Element, c: number[]): void {
      const [lane, s, e, , , , , , , , , arrived, left, lost] = c;
      const top = laneY[lane] + 2;
      const bottom = laneY[lane] + LANE_H - 2;
      const cross = (x: number, y: number) => el('path', { d: `M ${x - 3} ${y - 3} L ${x + 3} ${y + 3} M ${x - 3} ${y + 3} L ${x + 3} ${y - 3}`, class: 'passage lost' }, plot);
      if (arrived >= 0) el('line', { x1: v.x(s), y1: top, x2: v.x(arrived), y2: bottom, class: 'passage', 'data-tip': `capsule sent ${fmt(s)}, arrived at the target ${fmt(arrived)}` }, plot);
      else {
        el('line', { x1: v.x(s), y1: top, x2: v.x(s) + 6, y2: bottom - 4, class: 'passage' }, plot);
        cross(v.x(s) + 6, bottom - 4);
      }
      if (left >= 0 && !lost && e >= 0) el('line', { x1: v.x(left), y1: bottom, x2: v.x(e), y2: top, class: 'passage', 'data-tip': `completion left the target ${fmt(left)}, reached the host ${fmt(e)}` }, plot);
      if (left >= 0 && lost) {
        el('line', { x1: v.x(left), y1: bottom, x2: v.x(left) + 6, y2: top + 4, class: 'passage' }, plot);
        cross(v.x(left) + 6, top + 4);
      }
    }

    function commandTip(c: number[]): string {
      const [, s, e, o, cid, op, f, g, slba, nlb] = c;
      const name = cap.opcodes[op];
      const text = `${name} cid 0x${cid.toString(16).padStart(4, '0')}${slba >= 0 ? ` SLBA ${slba} NLB ${nlb}` : ''}\n` +
        `submitted ${fmt(s)} (frame ${fl(f)})\n${e >= 0 ? `completed ${fmt(e)} (frame ${fl(g)}), ${((e - s) * 1000).toFixed(3)} ms` : 'no completion'}\n${OUTCOMES[o]}`;
      return name === 'Asynchronous Event Request' ? `${text} (outstanding by design: the controller answers only when an event occurs)` : text;
    }

    /** Per lane drawn as density: its columns, for the tooltip under the pointer. */
    const densityOf = new Map<number, { counts: Uint32Array; from: number }>();

    /** A lane as one path per outcome, one column per pixel: three elements however many commands. */
    function drawLaneDensity(v: View, plot: Element, lane: number, list: number[][]): void {
      const px = Math.ceil(v.plotW);
      const counts = new Uint32Array(px);
      const worst = new Uint8Array(px);
      for (const c of list) {
        const col = Math.max(0, Math.min(px - 1, Math.floor(v.x(c[1]) - LABEL_W)));
        counts[col]++;
        worst[col] = Math.max(worst[col], c[3] === 0 ? 0 : c[3] === 1 ? 1 : 2);
      }
      let max = 1;
      for (let i = 0; i < px; i++) if (counts[i] > max) max = counts[i];
      const paths = ['', '', ''];
      const bottom = laneY[lane] + LANE_H - 3;
      for (let i = 0; i < px; i++) {
        if (!counts[i]) continue;
        const h = Math.max(2, ((LANE_H - 6) * counts[i]) / max);
        paths[worst[i]] += `M${LABEL_W + i} ${bottom - h}h1v${h}h-1z`;
      }
      densityOf.set(lane, { counts, from: LABEL_W });
      ['ok', 'err', 'unanswered'].forEach((kind, k) => {
        if (paths[k]) el('path', { d: paths[k], class: `density ${kind}`, 'data-density': lane }, plot);
      });
    }

    /** Counts over time, pre-bucketed (omitted commands, or a storm's paths): merged so no bucket is thinner than a pixel. */
    function drawOmitted(v: View, plot: Element): void {
      for (const d of cap.density) {
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
          const h = Math.max(1, ((LANE_H - 6) * n) / max);
          path += `M${v.x(t)} ${laneY[d.lane] + LANE_H - 3 - h}h${Math.max(1, v.x(t + width) - v.x(t))}v${h}h${-Math.max(1, v.x(t + width) - v.x(t))}z`;
        }
        if (path) {
          el('path', { d: path, class: 'density ok', 'data-tip': `${d.what}: bar height is the count per ${(perPixel * d.widthS * 1000).toFixed(1)} ms, tallest ${max}` }, plot);
        }
      }
    }

    /** Kernel log lines: a tick on their side's lane; the tip shows the line as logged. */
    function drawKernel(v: View, plot: Element): void {
      for (const k of cap.kernel) {
        if (k.t < v.a || k.t > v.b) continue;
        const kx = v.x(k.t);
        el('path', {
          d: `M ${kx} ${laneY[k.lane] + 4} L ${kx + 4} ${laneY[k.lane] + LANE_H - 4} L ${kx - 4} ${laneY[k.lane] + LANE_H - 4} z`,
          class: `kernel ${k.kind}`, 'data-t': k.t, 'data-frames': k.commandFrame === null ? '' : String(k.commandFrame),
          'data-tip': `${k.text}\nat ${fmt(k.t)}, after frame ${fl(k.afterFrame)}${k.commandFrame !== null ? `\nnames the command of frame ${fl(k.commandFrame)}` : ''}`,
        }, plot);
      }
    }

    /** SYN/FIN/RST markers; markers closer than a label's width share one label ("FIN RST") instead of overprinting. */
    function drawTcp(v: View, plot: Element): void {
      const rowLabels = new Map<number, { text: SVGElement; end: number }>();
      for (const m of cap.tcp) {
        if (m.t < v.a || m.t > v.b) continue;
        const cx = v.x(m.t);
        const cy = laneY[m.lane] + (m.from === 'host' ? 7 : LANE_H - 7);
        const g = el('g', {
          class: `tcp ${m.kind}`, 'data-frames': String(m.frame), 'data-t': m.t,
          'data-tip': `${m.from} ${m.kind.toUpperCase()} frame ${fl(m.frame)} at ${fmt(m.t)}${m.inFlight ? `\n${m.inFlight} command(s) in flight` : ''}`,
        }, plot);
        el('path', { d: `M ${cx} ${cy - 5} L ${cx + 5} ${cy} L ${cx} ${cy + 5} L ${cx - 5} ${cy} z` }, g);
        const word = m.kind.toUpperCase();
        const previous = rowLabels.get(cy);
        if (previous && cx + 6 < previous.end) {
          previous.text.textContent += ` ${word}`;
          previous.end += LABEL_WORD_PX;
        } else {
          // At the right edge the label goes left of its marker, and takes every later word of the row.
          const atEdge = cx + 6 + 2 * LABEL_WORD_PX > v.x(v.b);
          const text = el('text', atEdge ? { x: cx - 7, y: cy + 4, class: 'tcp-label', 'text-anchor': 'end' } : { x: cx + 6, y: cy + 4, class: 'tcp-label' }, g);
          text.textContent = word;
          rowLabels.set(cy, { text, end: atEdge ? Infinity : cx + 6 + LABEL_WORD_PX });
        }
      }
    }

    /** An incident's many retries as one arrow with their count: a click opens it into one arrow each. */
    function drawBundles(v: View, plot: Element): void {
      for (const inc of cap.incidents) {
        if (inc.retries.length < BUNDLE_MIN || expanded.has(inc.id)) continue;
        const list = inc.retries.map((k) => cap.retries[k]);
        const first = list.reduce((a, b) => (b.from.t < a.from.t ? b : a));
        const last = list.reduce((a, b) => (b.to.t > a.to.t ? b : a));
        const x1 = v.x(first.from.t);
        const y1 = laneY[first.from.lane] + LANE_H / 2;
        const x2 = v.x(last.to.t);
        const y2 = laneY[last.to.lane] + LANE_H / 2;
        const bend = Math.min(80, Math.abs(x2 - x1) / 2);
        const early = list.filter((r) => r.ruleId === 'retry-before-kato').length;
        const frames = list.flatMap((r) => [r.from.frame, r.to.frame]).join(' ');
        const tipText = `incident ${inc.id}: ${list.length} retries (${early} before KATO) — click to show each\n${inc.verdict}`;
        const attrs = { 'data-incident': inc.id, 'data-frames': frames, 'data-tip': tipText, 'data-count': list.length };
        el('path', {
          d: `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`, class: `retry-arrow retry-bundle ${early ? 'retry-before-kato' : list[0].ruleId}`,
          'marker-end': `url(#arrow${capIndex})`, 'data-x1': x1, 'data-x2': x2, ...attrs,
        }, plot);
        el('text', { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6, class: 'bundle-label', ...attrs }, plot).textContent = `×${list.length}`;
      }
    }

    /** Retry arrows from the original to the resubmission, with each retry's evidence chain. */
    function drawRetries(v: View, plot: Element): void {
      drawBundles(v, plot);
      for (const [k, r] of cap.retries.entries()) {
        const inc = incidentOfRetry.get(k);
        if (inc && inc.retries.length >= BUNDLE_MIN && !expanded.has(inc.id)) continue;
        const x1 = v.x(r.from.t);
        const y1 = laneY[r.from.lane] + LANE_H / 2;
        const x2 = v.x(r.to.t);
        const y2 = laneY[r.to.lane] + LANE_H / 2;
        const bend = Math.min(80, Math.abs(x2 - x1) / 2);
        el('path', {
          d: `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`, class: `retry-arrow ${r.ruleId}`,
          'marker-end': `url(#arrow${capIndex})`, 'data-finding': r.finding, 'data-x1': x1, 'data-x2': x2,
          ...(inc && inc.retries.length >= BUNDLE_MIN ? { 'data-incident': inc.id } : {}),
          'data-frames': `${r.from.frame} ${r.to.frame}`,
          'data-tip': `${r.ruleId}\n${r.label}\noriginal frame ${fl(r.from.frame)} at ${fmt(r.from.t)}\nretry frame ${fl(r.to.frame)} at ${fmt(r.to.t)}`,
        }, plot);
        // The evidence chain: one marker per step, joined in time order and ending on the retry.
        const points = r.evidence.map((e) => `${v.x(e.t)},${laneY[e.lane] + LANE_H / 2}`);
        if (points.length > 1) el('polyline', { points: points.join(' '), class: 'evidence-chain', 'data-finding': r.finding }, plot);
        r.evidence.forEach((e, k) => {
          el('circle', {
            cx: v.x(e.t), cy: laneY[e.lane] + LANE_H / 2, r: 3.5, class: `evidence ${e.step}`, 'data-finding': r.finding, 'data-t': e.t,
            'data-frames': e.frame === null ? '' : String(e.frame), 'data-tip': `${k + 1}. ${e.step}: ${e.what}\n${e.step.startsWith('kernel-') ? 'after frame' : 'frame'} ${fl(e.frame)} at ${fmt(e.t)}`,
          }, plot);
        });
      }
    }

    /** Redraws every layer into a fragment, then swaps it in: one layout, whatever the element count. */
    function draw(): void {
      pending = false;
      const v = (current = measure());
      const frag = document.createDocumentFragment();
      const defs = el('defs', {}, frag as unknown as Element);
      const clip = el('clipPath', { id: `plot${capIndex}` }, defs);
      el('rect', { x: LABEL_W, y: 0, width: v.w - LABEL_W, height }, clip);
      const marker = el('marker', { id: `arrow${capIndex}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, defs);
      el('path', { d: 'M 0 0 L 10 5 L 0 10 z' }, marker);
      drawAxis(v, frag as unknown as Element);
      drawLabels(v, frag as unknown as Element);
      const plot = el('g', { 'clip-path': `url(#plot${capIndex})` }, frag as unknown as Element);
      drawWindows(v, plot);
      drawGaps(v, plot);
      drawCommands(v, plot);
      drawOmitted(v, plot);
      drawKernel(v, plot);
      drawTcp(v, plot);
      drawRetries(v, plot);
      svg.replaceChildren(frag);
      svg.setAttribute('width', String(v.w));
      svg.setAttribute('viewBox', `0 0 ${v.w} ${height}`);
      applyHighlight();
    }
    /** Input events come faster than frames: draw at most once per frame. */
    let pending = false;
    function schedule(): void {
      if (pending) return;
      pending = true;
      requestAnimationFrame(draw);
    }

    // Zoom and pan.
    svg.addEventListener('wheel', (ev) => {
      ev.preventDefault();
      const rect = svg.getBoundingClientRect();
      const at = current.tAt(ev.clientX - rect.left);
      const k = Math.exp(Math.sign(ev.deltaY) * 0.2);
      view = { a: at - (at - view.a) * k, b: at + (view.b - at) * k };
      schedule();
    }, { passive: false });
    let drag: { px: number; a: number; b: number } | null = null;
    svg.addEventListener('mousedown', (ev) => {
      drag = { px: ev.clientX, a: view.a, b: view.b };
    });
    window.addEventListener('mouseup', () => {
      drag = null;
    });
    window.addEventListener('mousemove', (ev) => {
      if (!drag) return;
      const dt = ((ev.clientX - drag.px) / current.plotW) * (drag.b - drag.a);
      view = { a: drag.a - dt, b: drag.b - dt };
      schedule();
    });
    reset.addEventListener('click', () => {
      view = { ...full };
      schedule();
    });
    // A click on a bundle opens it; on one of its arrows, closes it again.
    svg.addEventListener('click', (ev) => {
      const bundle = (ev.target as Element).closest('[data-incident]');
      if (!bundle) return;
      const id = Number(bundle.getAttribute('data-incident'));
      if (expanded.has(id)) expanded.delete(id);
      else expanded.add(id);
      draw();
    });
    /** The tooltip of what is under the pointer: written now, for that element only. */
    function tipFor(target: Element, ev: MouseEvent): string | null {
      const c = target.getAttribute('data-c');
      if (c !== null) return commandTip(cap.commands[Number(c)]);
      const lane = target.getAttribute('data-density');
      if (lane !== null) {
        const d = densityOf.get(Number(lane));
        if (!d) return null;
        const col = Math.floor(ev.clientX - svg.getBoundingClientRect().left - d.from);
        return `${d.counts[Math.max(0, Math.min(d.counts.length - 1, col))] ?? 0} commands around ${fmt(current.tAt(d.from + col))}`;
      }
      return target.getAttribute('data-tip');
    }
    svg.addEventListener('mousemove', (ev) => {
      const target = (ev.target as Element).closest('[data-tip], [data-c], [data-density]');
      const text = target && !drag ? tipFor(target, ev) : null;
      if (text === null) {
        tip.style.display = 'none';
        return;
      }
      tip.textContent = text;
      tip.style.display = 'block';
      tip.style.left = `${ev.pageX + 14}px`;
      tip.style.top = `${ev.pageY + 14}px`;
    });
    svg.addEventListener('mouseleave', () => {
      tip.style.display = 'none';
    });

    // Findings table.
    let highlighted: Set<number> = new Set();
    /** Marks the elements of the highlighted frames; with nothing highlighted it touches no element. */
    function applyHighlight(): void {
      svg.querySelectorAll('.hl').forEach((e) => e.classList.remove('hl'));
      if (highlighted.size === 0) return;
      svg.querySelectorAll('[data-frames]').forEach((e) => {
        const frames = (e.getAttribute('data-frames') || '').split(' ').map(Number);
        if (frames.some((f) => highlighted.has(f))) e.classList.add('hl');
      });
    }
    /** Shows a span of time: the view moves (and zooms in) only when needed. */
    function zoomTo(a: number, b: number): void {
      const pad = Math.max(0.01, (b - a) * 0.08);
      view = { a: a - pad, b: b + pad };
    }
    // Incidents, above the findings: a click zooms to the incident and highlights its frames.
    if (cap.incidents.length) {
      html('h3', 'Incidents', root);
      const list = html('ol', null, root, 'incidents');
      for (const inc of cap.incidents) {
        const li = html('li', null, list, `sev-${inc.severity}`);
        li.setAttribute('data-incident', String(inc.id));
        html('span', `Incident ${inc.id}`, li, 'incident-id');
        html('span', inc.severity, li, 'sev');
        html('span', inc.verdict, li);
        html('code', inc.filter, li);
        li.addEventListener('click', () => {
          zoomTo(Math.min(inc.t0, inc.contact ? inc.contact.t : inc.t0), inc.t1);
          highlighted = new Set(inc.findings.flatMap((k) => cap.findings[k].frames));
          draw();
        });
      }
    }
    if (cap.findings.length) {
      const table = html('table', null, root, 'findings');
      const head = html('tr', null, html('thead', null, table));
      const columns = ['severity', 'rule', 'time', 'assoc/q/cid', 'frames', 'finding', 'Wireshark filter'];
      for (const h of columns) html('th', h, head);
      const body = html('tbody', null, table);
      // Grouped under their incident, the rest after: the same rows, in the same order within a group.
      const owner = new Map<number, number>();
      for (const inc of cap.incidents) for (const k of inc.findings) owner.set(k, inc.id);
      const groups: { title: string | null; rows: number[] }[] = cap.incidents.map((inc) => ({ title: `Incident ${inc.id} · ${inc.severity} · ${inc.verdict}`, rows: inc.findings }));
      const loose = cap.findings.map((_, i) => i).filter((i) => !owner.has(i));
      if (loose.length) groups.push({ title: cap.incidents.length ? 'In no incident' : null, rows: loose });
      for (const g of groups) {
        if (g.title !== null) {
          const tr = html('tr', null, body, 'group');
          const td = html('td', g.title, tr);
          td.setAttribute('colspan', String(columns.length));
        }
        for (const i of g.rows) {
          const f = cap.findings[i];
          const tr = html('tr', null, body, `sev-${f.severity}`);
          tr.setAttribute('data-finding', String(i));
          html('td', f.severity, tr, 'sev');
          html('td', f.ruleId, tr);
          html('td', fmt(f.t), tr);
          html('td', f.where, tr);
          html('td', f.frames.map(fl).join(' '), tr);
          html('td', f.message, tr);
          html('code', f.filter, html('td', null, tr));
          tr.addEventListener('mouseenter', () => {
            highlighted = new Set(f.frames);
            applyHighlight();
          });
          tr.addEventListener('mouseleave', () => {
            highlighted = new Set();
            applyHighlight();
          });
          tr.addEventListener('click', () => {
            const span = Math.max(0.02, (view.b - view.a));
            if (f.t < view.a || f.t > view.b) view = { a: f.t - span / 2, b: f.t + span / 2 };
            highlighted = new Set(f.frames);
            draw();
          });
        }
      }
    } else {
      html('p', 'No findings.', root, 'none');
    }
    window.addEventListener('resize', schedule);
    draw();
  });
}
