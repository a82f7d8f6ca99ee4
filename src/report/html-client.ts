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
    commands: number[][]; opcodes: string[]; density: { lane: number; widthS: number; counts: number[] }[]; omitted: number;
    tcp: { lane: number; t: number; kind: string; from: string; frame: number; inFlight: number }[];
    gaps: { lane: number; t: number; frame: number; bytes: number; dir: string }[];
    retries: { finding: number; from: { lane: number; t: number; frame: number }; to: { lane: number; t: number; frame: number };
      contact: { t: number; frame: number } | null; windowEnd: number | null; group: number; ruleId: string; label: string;
      evidence: { lane: number; t: number; frame: number | null; step: string; what: string }[] }[];
    findings: { ruleId: string; severity: string; t: number; frames: number[]; where: string; message: string; filter: string }[];
    kernel: { lane: number; t: number; kind: string; text: string; afterFrame: number | null; commandFrame: number | null }[];
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
    const width = () => Math.max(600, wrap.clientWidth);
    let view = { a: -cap.durationS * 0.02, b: cap.durationS * 1.02 || 1 };
    const full = { ...view };
    const x = (t: number) => LABEL_W + ((t - view.a) / (view.b - view.a)) * (width() - LABEL_W - 10);
    const tAt = (px: number) => view.a + ((px - LABEL_W) / (width() - LABEL_W - 10)) * (view.b - view.a);

    function draw(): void {
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      const w = width();
      svg.setAttribute('width', String(w));
      svg.setAttribute('viewBox', `0 0 ${w} ${height}`);
      const clip = el('clipPath', { id: `plot${capIndex}` }, el('defs', {}, svg));
      el('rect', { x: LABEL_W, y: 0, width: w - LABEL_W, height }, clip);
      const marker = el('marker', { id: `arrow${capIndex}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, clip.parentNode as Element);
      el('path', { d: 'M 0 0 L 10 5 L 0 10 z' }, marker);
      // Axis.
      const span = view.b - view.a;
      const step = Math.pow(10, Math.floor(Math.log10(span / 8)));
      const nice = span / step > 40 ? step * 5 : span / step > 16 ? step * 2 : step;
      for (let t = Math.ceil(view.a / nice) * nice; t <= view.b; t += nice) {
        el('line', { x1: x(t), x2: x(t), y1: AXIS_H - 6, y2: height, class: 'grid' }, svg);
        el('text', { x: x(t) + 2, y: AXIS_H - 10, class: 'axis' }, svg).textContent = `${+t.toFixed(6)} s`;
      }
      // Labels.
      for (const r of rows) {
        if (r.group !== null) {
          const g = cap.groups[r.group];
          el('rect', { x: 0, y: r.y, width: w, height: GROUP_H, class: 'group-bg' }, svg);
          el('text', { x: 6, y: r.y + 14, class: 'group-title' }, svg).textContent = g.title;
          el('text', { x: 6, y: r.y + 28, class: 'group-sub' }, svg).textContent = g.subtitle;
        } else if (r.lane !== null) {
          const lane = cap.lanes[r.lane];
          const g = el('g', { class: 'lane', 'data-lane': r.lane, 'data-conn': lane.conn, 'data-qid': lane.qid ?? '' }, svg);
          el('rect', { x: 0, y: r.y, width: w, height: LANE_H, class: 'lane-bg' }, g);
          el('text', { x: 12, y: r.y + 16, class: 'lane-label' }, g).textContent = lane.label;
        }
      }
      const plot = el('g', { 'clip-path': `url(#plot${capIndex})` }, svg);
      // KATO windows and last controller contacts behind everything.
      for (const r of cap.retries) {
        if (!r.contact || r.windowEnd === null) continue;
        const span2 = groupSpan[Math.max(0, r.group)] ?? { top: AXIS_H, bottom: height };
        el('rect', {
          x: x(r.contact.t), y: AXIS_H, width: Math.max(1, x(r.windowEnd) - x(r.contact.t)), height: height - AXIS_H, class: 'kato-window',
          'data-finding': r.finding, 'data-t0': r.contact.t, 'data-t1': r.windowEnd,
          'data-frames': String(r.contact.frame),
          'data-tip': `KATO window (${r.ruleId === 'retry-before-kato' ? 'retry inside it' : 'retry outside it'})\nfrom last controller contact ${fmt(r.contact.t)} (frame ${r.contact.frame})\nto ${fmt(r.windowEnd)}: a retry before this end may run twice`,
        }, plot);
        el('line', {
          x1: x(r.contact.t), x2: x(r.contact.t), y1: span2.top, y2: span2.bottom, class: 'contact', 'data-t': r.contact.t,
          'data-frames': String(r.contact.frame), 'data-tip': `last controller contact ${fmt(r.contact.t)} (frame ${r.contact.frame})`,
        }, plot);
      }
      for (const gp of cap.gaps) {
        el('rect', {
          x: x(gp.t) - 3, y: laneY[gp.lane], width: 6, height: LANE_H, class: 'gap', 'data-frames': String(gp.frame),
          'data-tip': `capture gap: ${gp.bytes} bytes ${gp.dir} not captured\nframe ${gp.frame} at ${fmt(gp.t)}`,
        }, plot);
      }
      // An unanswered command is drawn up to its connection's first FIN/RST (or the end of the capture).
      const closeAt: number[] = [];
      for (const m of cap.tcp) if (m.kind !== 'syn' && (closeAt[m.lane] === undefined || m.t < closeAt[m.lane])) closeAt[m.lane] = m.t;
      // Commands: one by one when few are visible, else per-pixel density.
      const visible = cap.commands.filter((c) => (c[2] < 0 ? c[1] : c[2]) >= view.a && c[1] <= view.b);
      if (visible.length <= MAX_DRAWN) {
        for (const c of visible) {
          const [lane, s, e, o, cid, op, f, g, slba, nlb, ka] = c;
          const name = cap.opcodes[op];
          const end = e >= 0 ? e : closeAt[lane] ?? cap.durationS;
          const aer = name === 'Asynchronous Event Request';
          const tipText = `${name} cid 0x${cid.toString(16).padStart(4, '0')}${slba >= 0 ? ` SLBA ${slba} NLB ${nlb}` : ''}\n` +
            `submitted ${fmt(s)} (frame ${f})\n${e >= 0 ? `completed ${fmt(e)} (frame ${g}), ${((e - s) * 1000).toFixed(3)} ms` : 'no completion'}\n${OUTCOMES[o]}`;
          const frames = g >= 0 ? `${f} ${g}` : String(f);
          if (ka) {
            el('line', { x1: x(s), x2: x(s), y1: laneY[lane] + 3, y2: laneY[lane] + LANE_H - 3, class: `ka${o ? ' unanswered' : ''}`, 'data-frames': frames, 'data-tip': tipText }, plot);
          } else {
            el('rect', {
              x: x(s), y: laneY[lane] + 6, width: Math.max(2, x(end) - x(s)), height: LANE_H - 12,
              class: `cmd ${aer ? 'aer' : o === 0 ? 'ok' : o === 1 ? 'err' : o === 4 ? 'undecided' : 'unanswered'}`, 'data-frames': frames,
              'data-tip': aer ? `${tipText} (outstanding by design: the controller answers only when an event occurs)` : tipText,
            }, plot);
          }
        }
      } else {
        const px = Math.ceil(w - LABEL_W);
        const cols = new Map<number, Uint32Array>();
        const worst = new Map<number, Uint8Array>();
        for (const c of visible) {
          const col = Math.max(0, Math.min(px - 1, Math.floor(x(c[1]) - LABEL_W)));
          if (!cols.has(c[0])) {
            cols.set(c[0], new Uint32Array(px));
            worst.set(c[0], new Uint8Array(px));
          }
          cols.get(c[0])![col]++;
          worst.get(c[0])![col] = Math.max(worst.get(c[0])![col], c[3] === 0 ? 0 : c[3] === 1 ? 1 : 2);
        }
        for (const [lane, counts] of cols) {
          const max = Math.max(...counts);
          for (let i = 0; i < counts.length; i++) {
            if (!counts[i]) continue;
            const h = Math.max(2, ((LANE_H - 6) * counts[i]) / max);
            const kind = ['ok', 'err', 'unanswered'][worst.get(lane)![i]];
            el('rect', { x: LABEL_W + i, y: laneY[lane] + LANE_H - 3 - h, width: 1, height: h, class: `density ${kind}`, 'data-tip': `${counts[i]} commands around ${fmt(tAt(LABEL_W + i))}` }, plot);
          }
        }
      }
      for (const d of cap.density) {
        const max = Math.max(1, ...d.counts);
        d.counts.forEach((n, i) => {
          if (!n) return;
          const t = i * d.widthS;
          if (t + d.widthS < view.a || t > view.b) return;
          const h = Math.max(1, ((LANE_H - 6) * n) / max);
          el('rect', { x: x(t), y: laneY[d.lane] + LANE_H - 3 - h, width: Math.max(1, x(t + d.widthS) - x(t)), height: h, class: 'density ok', 'data-tip': `${n} completed commands in ${(d.widthS * 1000).toFixed(1)} ms` }, plot);
        });
      }
      // Kernel log lines: a tick on their side's lane; the tip shows the line as logged.
      for (const k of cap.kernel) {
        const kx = x(k.t);
        el('path', {
          d: `M ${kx} ${laneY[k.lane] + 4} L ${kx + 4} ${laneY[k.lane] + LANE_H - 4} L ${kx - 4} ${laneY[k.lane] + LANE_H - 4} z`,
          class: `kernel ${k.kind}`, 'data-t': k.t, 'data-frames': k.commandFrame === null ? '' : String(k.commandFrame),
          'data-tip': `${k.text}\nat ${fmt(k.t)}, after frame ${k.afterFrame ?? '-'}${k.commandFrame !== null ? `\nnames the command of frame ${k.commandFrame}` : ''}`,
        }, plot);
      }
      // Markers closer than a label's width share one label ("FIN RST") instead of overprinting.
      const rowLabels = new Map<number, { text: SVGElement; end: number }>();
      for (const m of cap.tcp) {
        const cx = x(m.t);
        const cy = laneY[m.lane] + (m.from === 'host' ? 7 : LANE_H - 7);
        const g = el('g', {
          class: `tcp ${m.kind}`, 'data-frames': String(m.frame), 'data-t': m.t,
          'data-tip': `${m.from} ${m.kind.toUpperCase()} frame ${m.frame} at ${fmt(m.t)}${m.inFlight ? `\n${m.inFlight} command(s) in flight` : ''}`,
        }, plot);
        el('path', { d: `M ${cx} ${cy - 5} L ${cx + 5} ${cy} L ${cx} ${cy + 5} L ${cx - 5} ${cy} z` }, g);
        const word = m.kind.toUpperCase();
        const previous = rowLabels.get(cy);
        if (previous && cx + 6 < previous.end) {
          previous.text.textContent += ` ${word}`;
          previous.end += LABEL_WORD_PX;
        } else {
          // At the right edge the label goes left of its marker, and takes every later word of the row.
          const atEdge = cx + 6 + 2 * LABEL_WORD_PX > x(view.b);
          const text = el('text', atEdge ? { x: cx - 7, y: cy + 4, class: 'tcp-label', 'text-anchor': 'end' } : { x: cx + 6, y: cy + 4, class: 'tcp-label' }, g);
          text.textContent = word;
          rowLabels.set(cy, { text, end: atEdge ? Infinity : cx + 6 + LABEL_WORD_PX });
        }
      }
      for (const r of cap.retries) {
        const x1 = x(r.from.t);
        const y1 = laneY[r.from.lane] + LANE_H / 2;
        const x2 = x(r.to.t);
        const y2 = laneY[r.to.lane] + LANE_H / 2;
        const bend = Math.min(80, Math.abs(x2 - x1) / 2);
        el('path', {
          d: `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`, class: `retry-arrow ${r.ruleId}`,
          'marker-end': `url(#arrow${capIndex})`, 'data-finding': r.finding, 'data-x1': x1, 'data-x2': x2,
          'data-frames': `${r.from.frame} ${r.to.frame}`,
          'data-tip': `${r.ruleId}\n${r.label}\noriginal frame ${r.from.frame} at ${fmt(r.from.t)}\nretry frame ${r.to.frame} at ${fmt(r.to.t)}`,
        }, plot);
        // The evidence chain: one marker per step, joined in time order and ending on the retry.
        const points = r.evidence.map((e) => `${x(e.t)},${laneY[e.lane] + LANE_H / 2}`);
        if (points.length > 1) el('polyline', { points: points.join(' '), class: 'evidence-chain', 'data-finding': r.finding }, plot);
        r.evidence.forEach((e, k) => {
          el('circle', {
            cx: x(e.t), cy: laneY[e.lane] + LANE_H / 2, r: 3.5, class: `evidence ${e.step}`, 'data-finding': r.finding, 'data-t': e.t,
            'data-frames': e.frame === null ? '' : String(e.frame), 'data-tip': `${k + 1}. ${e.step}: ${e.what}\n${e.step === 'kernel-log' ? 'after frame' : 'frame'} ${e.frame ?? '-'} at ${fmt(e.t)}`,
          }, plot);
        });
      }
      applyHighlight();
    }

    // Zoom and pan.
    svg.addEventListener('wheel', (ev) => {
      ev.preventDefault();
      const rect = svg.getBoundingClientRect();
      const at = tAt(ev.clientX - rect.left);
      const k = Math.exp(Math.sign(ev.deltaY) * 0.2);
      view = { a: at - (at - view.a) * k, b: at + (view.b - at) * k };
      draw();
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
      const dt = ((ev.clientX - drag.px) / (width() - LABEL_W - 10)) * (drag.b - drag.a);
      view = { a: drag.a - dt, b: drag.b - dt };
      draw();
    });
    reset.addEventListener('click', () => {
      view = { ...full };
      draw();
    });
    svg.addEventListener('mousemove', (ev) => {
      const target = (ev.target as Element).closest('[data-tip]');
      if (!target || drag) {
        tip.style.display = 'none';
        return;
      }
      tip.textContent = target.getAttribute('data-tip');
      tip.style.display = 'block';
      tip.style.left = `${ev.pageX + 14}px`;
      tip.style.top = `${ev.pageY + 14}px`;
    });
    svg.addEventListener('mouseleave', () => {
      tip.style.display = 'none';
    });

    // Findings table.
    let highlighted: Set<number> = new Set();
    function applyHighlight(): void {
      svg.querySelectorAll('[data-frames]').forEach((e) => {
        const frames = (e.getAttribute('data-frames') || '').split(' ').map(Number);
        e.classList.toggle('hl', frames.some((f) => highlighted.has(f)));
      });
    }
    if (cap.findings.length) {
      const table = html('table', null, root, 'findings');
      const head = html('tr', null, html('thead', null, table));
      for (const h of ['severity', 'rule', 'time', 'assoc/q/cid', 'frames', 'finding', 'Wireshark filter']) html('th', h, head);
      const body = html('tbody', null, table);
      cap.findings.forEach((f, i) => {
        const tr = html('tr', null, body, `sev-${f.severity}`);
        tr.setAttribute('data-finding', String(i));
        html('td', f.severity, tr, 'sev');
        html('td', f.ruleId, tr);
        html('td', fmt(f.t), tr);
        html('td', f.where, tr);
        html('td', f.frames.join(' '), tr);
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
      });
    } else {
      html('p', 'No findings.', root, 'none');
    }
    window.addEventListener('resize', draw);
    draw();
  });
}
