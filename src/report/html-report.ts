import { clientScript } from './html-client.js';
import { htmlCapture, HtmlCollector, type HtmlCapture } from './html-data.js';
import type { Report } from './types.js';

export { HtmlCollector };

const STYLE = `
body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #1d2329; background: #fff; }
h1 { font-size: 18px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 18px 0 2px; font-family: ui-monospace, monospace; }
.summary, .hint { color: #5b6670; }
.controls { margin: 6px 0; display: flex; gap: 12px; align-items: center; }
.wrap { width: 100%; overflow: hidden; border: 1px solid #d8dde2; border-radius: 4px; }
svg.timeline { display: block; cursor: grab; user-select: none; }
.grid { stroke: #eef1f4; } .axis { font-size: 10px; fill: #5b6670; }
.group-bg { fill: #f3f5f7; } .group-title { font-weight: 600; font-size: 12px; } .group-sub { font-size: 11px; fill: #5b6670; }
.lane-bg { fill: #fff; stroke: #f0f2f4; } .lane-label { font-size: 11px; fill: #37414a; }
.cmd { stroke: none; } .cmd.ok { fill: #4f9d69; } .cmd.err { fill: #d9534f; } .cmd.unanswered { fill: #f0ad4e; stroke: #b36b00; } .cmd.undecided { fill: #a0a7ae; } .cmd.aer { fill: none; stroke: #b8c0c8; stroke-dasharray: 3 3; }
.density.ok { fill: #7fbf93; } .density.err { fill: #d9534f; } .density.unanswered { fill: #f0ad4e; }
.passage { stroke: #5a6a7a; stroke-width: 1; fill: none; } .passage.lost { stroke: #c0392b; stroke-width: 1.5; }
.ka { stroke: #2b6cb0; stroke-width: 2; } .ka.unanswered { stroke: #f0ad4e; stroke-width: 3; }
.tcp path { stroke: #222; stroke-width: 1; } .tcp.syn path { fill: #8fd18f; } .tcp.fin path { fill: #6aa9e9; } .tcp.rst path { fill: #e55; }
.tcp-label { font-size: 9px; fill: #333; }
.gap { fill: url(#none) #999; fill-opacity: .35; }
.kato-window { fill: #e4572e; fill-opacity: .10; stroke: #e4572e; stroke-opacity: .5; stroke-dasharray: 4 3; }
.contact { stroke: #e4572e; stroke-width: 2; stroke-dasharray: 2 2; }
.retry-arrow { fill: none; stroke: #7b2cbf; stroke-width: 2; } .retry-arrow.retry-before-kato { stroke: #c1121f; stroke-width: 2.5; }
.retry-bundle { stroke-width: 5 !important; cursor: pointer; } .bundle-label { font: 600 12px system-ui, sans-serif; fill: #c1121f; text-anchor: middle; cursor: pointer; paint-order: stroke; stroke: #fff; stroke-width: 3; }
ol.incidents { padding-left: 0; list-style: none; } ol.incidents li { padding: 4px 6px; border-bottom: 1px solid #e3e7eb; cursor: pointer; } ol.incidents li:hover { background: #fff8e1; }
ol.incidents li span { margin-right: 10px; } .incident-id { font-weight: 600; }
table.findings tr.group td { background: #f3f5f7; font-weight: 600; }
.kernel { fill: #6c757d; } .kernel.io-timeout, .kernel.keep-alive-failed, .kernel.keep-alive-expired, .kernel.fatal-error { fill: #d62828; } .kernel.error-recovery { fill: #f77f00; } .kernel.reconnected, .kernel.new-ctrl { fill: #2a9d8f; }
.evidence-chain { fill: none; stroke: #555; stroke-width: 1; stroke-dasharray: 3 3; } .evidence { fill: #fff; stroke: #333; stroke-width: 1.5; } .evidence.arrival { fill: #2a9d8f; } .evidence.retry { fill: #c1121f; } .evidence.r2t-after-retry, .evidence.c2h-data-after-retry, .evidence.completion-after-retry { fill: #e76f51; }
marker path { fill: #7b2cbf; }
.hl { stroke: #000 !important; stroke-width: 3 !important; filter: drop-shadow(0 0 3px #ffbf00); }
#tip { position: absolute; display: none; background: #1d2329; color: #fff; padding: 6px 8px; border-radius: 4px; font: 12px/1.35 ui-monospace, monospace; white-space: pre; pointer-events: none; z-index: 10; }
table.findings { border-collapse: collapse; margin-top: 12px; width: 100%; }
table.findings th, table.findings td { border-bottom: 1px solid #e3e7eb; padding: 4px 6px; text-align: left; vertical-align: top; }
table.findings tr:hover { background: #fff8e1; cursor: pointer; }
.sev-error .sev { color: #c1121f; font-weight: 600; } .sev-warning .sev { color: #b36b00; } .sev-info .sev { color: #2b6cb0; }
code { font: 11px ui-monospace, monospace; background: #f3f5f7; padding: 1px 3px; border-radius: 3px; }
.legend span { margin-right: 14px; } .legend i { display: inline-block; width: 12px; height: 10px; margin-right: 4px; vertical-align: middle; }
`;

/** JSON that cannot close the script element it sits in, whatever the strings hold. */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** One self-contained page: inline style, inline script, data embedded; no network access. */
export function renderHtml(inputs: { report: Report; collected: HtmlCollector }[]): string {
  const data: HtmlCapture[] = inputs.map((i) => htmlCapture(i.report, i.collected));
  const title = inputs.map((i) => i.report.capture.file).join(', ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>nvme-tcp-timeline — ${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>nvme-tcp-timeline</h1>
<div class="legend"><span><i style="background:#4f9d69"></i>completed</span><span><i style="background:#d9534f"></i>error status</span><span><i style="background:#f0ad4e"></i>unanswered</span><span><i style="background:#a0a7ae"></i>undecidable (bytes missing)</span><span><i style="background:#2b6cb0"></i>keep-alive</span><span><i style="background:#7b2cbf"></i>retry (original → resubmission)</span><span><i style="background:#e4572e;opacity:.4"></i>KATO window from the last controller contact</span></div>
<div id="tip"></div>
<script type="application/json" id="timeline-data">${scriptSafeJson(data)}</script>
<script>${clientScript()}</script>
</body>
</html>
`;
}
