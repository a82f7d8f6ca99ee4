/**
 * The HTML report's script. It runs in the browser: its functions (these and html-draw.ts's) are
 * serialised into the page with toString(), so each uses nothing but its arguments, the other
 * functions of the page's script and the DOM (types aside: they are gone once compiled). Every
 * capture-derived string goes through textContent or setAttribute, never innerHTML.
 */
import type { HtmlCapture } from './html-data.js';
import {
  applyHighlight, commandTip, drawAll, drawAxis, drawBundles, drawCommand, drawCommands, drawGaps, drawKernel, drawLabels, drawLaneDensity, drawOmitted,
  drawPassages, drawRetries, drawTcp, drawWindows, el, fl, fmt, measure, PAGE_DRAW, type Drawing, type PageDraw, type ViewState,
} from './html-draw.js';

/**
 * The page's script: every function it needs, then the call that draws each capture. This
 * module's functions call each other by name; they reach html-draw.ts's through one object (a
 * test runner rewrites calls across modules), built here from the names the functions carry
 * (a bundler may rename them).
 */
export function clientScript(): string {
  const drawing = [el, fmt, fl, drawAxis, drawLabels, drawWindows, drawGaps, drawCommands, drawCommand, drawPassages, commandTip, drawLaneDensity, drawOmitted, drawKernel, drawTcp, drawBundles, drawRetries, measure, drawAll, applyHighlight];
  const page = [html, captureView, layoutRows, listen, tipFor, incidentList, findingsTable];
  const handed = Object.entries(PAGE_DRAW).map(([k, f]) => `${k}: ${f.name}`).join(', ');
  return `${[...drawing, ...page].map(String).join('\n')}\n(${clientMain.toString()})({ ${handed} });`;
}

/** The page's part of a capture: its timeline, its incidents and findings. */
interface Section {
  P: PageDraw;
  D: Drawing;
  S: ViewState;
  root: HTMLElement;
  wrap: HTMLElement;
  svg: SVGSVGElement;
  tip: HTMLElement;
  draw: () => void;
  schedule: () => void;
}

export function clientMain(P: PageDraw): void {
  const caps: HtmlCapture[] = JSON.parse((document.getElementById('timeline-data') as HTMLElement).textContent || '[]');
  const tip = document.getElementById('tip') as HTMLElement;
  caps.forEach((cap, capIndex) => captureView(P, cap, capIndex, tip));
}

export function html<K extends keyof HTMLElementTagNameMap>(name: K, text: string | null, parent: Element, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(name);
  if (text !== null) e.textContent = text;
  if (cls) e.className = cls;
  parent.appendChild(e);
  return e;
}

/** One capture's section: heading, controls, the timeline, its incidents and findings. */
export function captureView(P: PageDraw, cap: HtmlCapture, capIndex: number, tip: HTMLElement): void {
  const root = html('section', null, document.body, 'capture');
  html('h2', cap.file, root);
  html('p', cap.summary + (cap.omitted ? ` — ${cap.omitted} completed commands drawn as density only` : ''), root, 'summary');
  const controls = html('div', null, root, 'controls');
  const reset = html('button', 'Reset zoom', controls);
  html('span', 'Wheel: zoom · drag: pan · hover: details · click a finding: show it', controls, 'hint');
  const wrap = html('div', null, root, 'wrap');
  const constants = { OUTCOMES: ['completed', 'error', 'unanswered at close', 'unanswered at end', 'undecidable'], LANE_H: 24, LABEL_WORD_PX: 22, GROUP_H: 34, LABEL_W: 230, AXIS_H: 26, MAX_DRAWN: 4000, BUNDLE_MIN: 2 };
  const layout = layoutRows(cap, constants.AXIS_H, constants.GROUP_H, constants.LANE_H);
  const closeAt: number[] = [];
  for (const m of cap.tcp) if (m.kind !== 'syn' && (closeAt[m.lane] === undefined || m.t < closeAt[m.lane])) closeAt[m.lane] = m.t;
  const incidentOfRetry = new Map<number, HtmlCapture['incidents'][number]>();
  for (const inc of cap.incidents) for (const k of inc.retries) incidentOfRetry.set(k, inc);
  const D: Drawing = {
    cap, capIndex, ...layout, closeAt, index: new Map(cap.commands.map((c, i) => [c, i])), densityOf: new Map(), incidentOfRetry, expanded: new Set(), ...constants,
  };
  const svg = P.el('svg', { class: 'timeline', height: D.height, 'data-capture': capIndex }, wrap);
  const view = { a: -cap.durationS * 0.02, b: cap.durationS * 1.02 || 1 };
  const S: ViewState = { view, full: { ...view }, current: P.measure(wrap, view, D.LABEL_W), drag: null, pending: false, highlighted: new Set() };
  const draw = () => P.drawAll(D, S, svg, wrap);
  const schedule = () => {
    if (S.pending) return;
    S.pending = true;
    requestAnimationFrame(draw);
  };
  const section: Section = { P, D, S, root, wrap, svg, tip, draw, schedule };
  listen(section, reset);
  incidentList(section);
  findingsTable(section);
  window.addEventListener('resize', schedule);
  draw();
}

/** Where each group title and lane sits, top to bottom. */
export function layoutRows(cap: HtmlCapture, axisH: number, groupH: number, laneH: number): Pick<Drawing, 'rows' | 'laneY' | 'groupSpan' | 'height'> {
  const rows: Drawing['rows'] = [];
  const laneY: number[] = [];
  const groupSpan: Drawing['groupSpan'] = [];
  let y = axisH;
  cap.groups.forEach((g, gi) => {
    rows.push({ y, lane: null, group: gi });
    const top = y;
    y += groupH;
    for (const lane of g.lanes) {
      laneY[lane] = y;
      rows.push({ y, lane, group: null });
      y += laneH;
    }
    groupSpan[gi] = { top, bottom: y };
    y += 6;
  });
  return { rows, laneY, groupSpan, height: y + 4 };
}

/** Zoom (wheel), pan (drag), reset, bundles opened and closed by a click, tooltips. */
export function listen(x: Section, reset: HTMLButtonElement): void {
  const { S, D, svg, tip } = x;
  svg.addEventListener('wheel', (ev) => {
    ev.preventDefault();
    const rect = svg.getBoundingClientRect();
    const at = S.current.tAt(ev.clientX - rect.left);
    const k = Math.exp(Math.sign(ev.deltaY) * 0.2);
    S.view = { a: at - (at - S.view.a) * k, b: at + (S.view.b - at) * k };
    x.schedule();
  }, { passive: false });
  svg.addEventListener('mousedown', (ev) => {
    S.drag = { px: ev.clientX, a: S.view.a, b: S.view.b };
  });
  window.addEventListener('mouseup', () => {
    S.drag = null;
  });
  window.addEventListener('mousemove', (ev) => {
    if (!S.drag) return;
    const dt = ((ev.clientX - S.drag.px) / S.current.plotW) * (S.drag.b - S.drag.a);
    S.view = { a: S.drag.a - dt, b: S.drag.b - dt };
    x.schedule();
  });
  reset.addEventListener('click', () => {
    S.view = { ...S.full };
    x.schedule();
  });
  // A click on a bundle opens it; on one of its arrows, closes it again.
  svg.addEventListener('click', (ev) => {
    const bundle = (ev.target as Element).closest('[data-incident]');
    if (!bundle) return;
    const id = Number(bundle.getAttribute('data-incident'));
    if (D.expanded.has(id)) D.expanded.delete(id);
    else D.expanded.add(id);
    x.draw();
  });
  svg.addEventListener('mousemove', (ev) => {
    const target = (ev.target as Element).closest('[data-tip], [data-c], [data-density]');
    const text = target && !S.drag ? tipFor(x, target, ev) : null;
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
}

/** The tooltip of what is under the pointer: written now, for that element only. */
export function tipFor(x: Section, target: Element, ev: MouseEvent): string | null {
  const c = target.getAttribute('data-c');
  if (c !== null) return x.P.commandTip(x.D, x.D.cap.commands[Number(c)]);
  const lane = target.getAttribute('data-density');
  if (lane !== null) {
    const d = x.D.densityOf.get(Number(lane));
    if (!d) return null;
    const col = Math.floor(ev.clientX - x.svg.getBoundingClientRect().left - d.from);
    return `${d.counts[Math.max(0, Math.min(d.counts.length - 1, col))] ?? 0} commands around ${x.P.fmt(x.S.current.tAt(d.from + col))}`;
  }
  return target.getAttribute('data-tip');
}

/** Incidents, above the findings: a click zooms to the incident (moving the view only as needed) and highlights its frames. */
export function incidentList(x: Section): void {
  const { cap } = x.D;
  if (!cap.incidents.length) return;
  html('h3', 'Incidents', x.root);
  const list = html('ol', null, x.root, 'incidents');
  for (const inc of cap.incidents) {
    const li = html('li', null, list, `sev-${inc.severity}`);
    li.setAttribute('data-incident', String(inc.id));
    html('span', `Incident ${inc.id}`, li, 'incident-id');
    html('span', inc.severity, li, 'sev');
    html('span', inc.verdict, li);
    html('code', inc.filter, li);
    li.addEventListener('click', () => {
      const a = Math.min(inc.t0, inc.contact ? inc.contact.t : inc.t0);
      const pad = Math.max(0.01, (inc.t1 - a) * 0.08);
      x.S.view = { a: a - pad, b: inc.t1 + pad };
      x.S.highlighted = new Set(inc.findings.flatMap((k) => cap.findings[k].frames));
      x.draw();
    });
  }
}

/** The findings, grouped under their incident, the rest after: hover highlights a finding's frames, a click shows them. */
export function findingsTable(x: Section): void {
  const { cap } = x.D;
  const { S } = x;
  if (!cap.findings.length) {
    html('p', 'No findings.', x.root, 'none');
    return;
  }
  const table = html('table', null, x.root, 'findings');
  const head = html('tr', null, html('thead', null, table));
  const columns = ['severity', 'rule', 'time', 'assoc/q/cid', 'frames', 'finding', 'Wireshark filter'];
  for (const h of columns) html('th', h, head);
  const body = html('tbody', null, table);
  const owner = new Set<number>();
  for (const inc of cap.incidents) for (const k of inc.findings) owner.add(k);
  const groups: { title: string | null; rows: number[] }[] = cap.incidents.map((inc) => ({ title: `Incident ${inc.id} · ${inc.severity} · ${inc.verdict}`, rows: inc.findings }));
  const loose = cap.findings.map((_, i) => i).filter((i) => !owner.has(i));
  if (loose.length) groups.push({ title: cap.incidents.length ? 'In no incident' : null, rows: loose });
  for (const g of groups) {
    if (g.title !== null) html('td', g.title, html('tr', null, body, 'group')).setAttribute('colspan', String(columns.length));
    for (const i of g.rows) {
      const f = cap.findings[i];
      const tr = html('tr', null, body, `sev-${f.severity}`);
      tr.setAttribute('data-finding', String(i));
      html('td', f.severity, tr, 'sev');
      html('td', f.ruleId, tr);
      html('td', x.P.fmt(f.t), tr);
      html('td', f.where, tr);
      html('td', f.frames.map(x.P.fl).join(' '), tr);
      html('td', f.message, tr);
      html('code', f.filter, html('td', null, tr));
      const highlight = (frames: number[]) => {
        S.highlighted = new Set(frames);
        x.P.applyHighlight(x.svg, S.highlighted);
      };
      tr.addEventListener('mouseenter', () => highlight(f.frames));
      tr.addEventListener('mouseleave', () => highlight([]));
      tr.addEventListener('click', () => {
        const span = Math.max(0.02, S.view.b - S.view.a);
        if (f.t < S.view.a || f.t > S.view.b) S.view = { a: f.t - span / 2, b: f.t + span / 2 };
        S.highlighted = new Set(f.frames);
        x.draw();
      });
    }
  }
}
