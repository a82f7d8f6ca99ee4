// npm run bench:html [-- --commands 20000] [--steps 20]
// The HTML report at scale, in headless Chromium (Debian's /usr/bin/chromium): a synthetic capture
// with about --commands commands is analysed with --html; then the page's load (navigation to its
// first drawn frame) and each wheel-zoom and drag-pan step (event to the next drawn frame) are timed,
// and the elements drawn are counted. Targets (issue 12): load < 500 ms, every step < 50 ms.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { synthesize } from '../dist/test-support/synth.js';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
if ('help' in args) {
  process.stdout.write('npm run bench:html [-- --commands N] [--steps N]\n  times the HTML report\'s load and zoom/pan steps in headless Chromium\n');
  process.exit(0);
}
const commands = Number(args.commands ?? 20000);
const steps = Number(args.steps ?? 20);
const out = join(import.meta.dirname, '..', 'bench-out');
mkdirSync(out, { recursive: true });
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!CHROMIUM) {
  process.stderr.write('bench:html needs chromium (npm test installs it: scripts/system-packages.sh)\n');
  process.exit(2);
}

// About 4.5 KB of capture per command in the small-I/O profile.
const capture = join(out, `html-${commands}.pcap`);
if (!existsSync(capture)) {
  const fd = openSync(capture, 'w');
  synthesize({ profile: 'small', format: 'pcap', targetBytes: commands * 4500 }, (chunk) => writeSync(fd, chunk));
  closeSync(fd);
}
const page = join(out, `html-${commands}${args.cli ? '-other' : ''}.html`);
// --cli another build's bin (an A/B against an earlier version of the page).
const cli = args.cli ?? join(import.meta.dirname, '..', 'bin', 'nvme-tcp-timeline.js');
const run = spawnSync(process.execPath, [cli, 'analyze', capture, '--html', page, '--quiet', '--fail-on', 'none']);
if (run.status !== 0) throw new Error(`analyze exited ${run.status}: ${run.stderr}`);

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)];
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const loads = [];
const zooms = [];
const pans = [];
let elements = 0;
let drawnCommands = 0;
for (let attempt = 0; attempt < 3; attempt++) {
  const tab = await browser.newPage({ viewport: { width: 1400, height: 800 } });
  await tab.goto(`file://${page}`);
  // Navigation start to the first frame after the page's script drew.
  loads.push(await tab.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now()))))));
  const timeStep = (kind) => tab.evaluate(({ kind, i }) => new Promise((done) => {
    const svg = document.querySelector('svg.timeline');
    const r = svg.getBoundingClientRect();
    const x = r.left + 300 + ((i * 37) % Math.max(1, r.width - 400));
    const y = r.top + 60;
    const t0 = performance.now();
    if (kind === 'zoom') svg.dispatchEvent(new WheelEvent('wheel', { deltaY: i % 4 === 3 ? 120 : -120, clientX: x, clientY: y, bubbles: true, cancelable: true }));
    else {
      svg.dispatchEvent(new MouseEvent('mousedown', { clientX: x, clientY: y, bubbles: true }));
      window.dispatchEvent(new MouseEvent('mousemove', { clientX: x + 40, clientY: y, bubbles: true }));
      window.dispatchEvent(new MouseEvent('mouseup', { clientX: x + 40, clientY: y, bubbles: true }));
    }
    // The draw runs in the next animation frame; the step ends when the frame after it starts.
    requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - t0)));
  }), { kind, i: zooms.length + pans.length });
  for (let i = 0; i < steps; i++) zooms.push(await timeStep('zoom'));
  for (let i = 0; i < steps; i++) pans.push(await timeStep('pan'));
  await tab.evaluate(() => document.querySelector('button')?.click());
  await tab.waitForTimeout(50);
  elements = await tab.evaluate(() => document.querySelectorAll('svg.timeline *').length);
  drawnCommands = await tab.evaluate(() => document.querySelectorAll('svg.timeline .cmd, svg.timeline .density').length);
  await tab.close();
}
await browser.close();
const fmt = (v) => `${v.toFixed(1)} ms`;
process.stdout.write([
  `HTML report of ${commands} commands (${capture}), headless Chromium, 1400×800:`,
  `  load (navigation → first drawn frame): median ${fmt(median(loads))}, max ${fmt(Math.max(...loads))}   target < 500 ms ${Math.max(...loads) < 500 ? '✓' : '✗'}`,
  `  wheel zoom step: median ${fmt(median(zooms))}, max ${fmt(Math.max(...zooms))} over ${zooms.length}   target < 50 ms ${Math.max(...zooms) < 50 ? '✓' : '✗'}`,
  `  drag pan step:   median ${fmt(median(pans))}, max ${fmt(Math.max(...pans))} over ${pans.length}   target < 50 ms ${Math.max(...pans) < 50 ? '✓' : '✗'}`,
  `  elements drawn at full view: ${elements} (${drawnCommands} command bars or density columns)`,
].join('\n') + '\n');
