import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/api/analyze-capture.js';
import { HtmlCollector, renderHtml } from '../src/report/html-report.js';
import { capsuleResp, connectCmd, icReq, icResp } from '../src/test-support/builders.js';
import { Scenario } from '../src/test-support/scenario.js';
import { cutReturn, twinCaptures } from '../src/test-support/twins.js';

/** The HTML report in real headless Chromium (Debian's chromium; CI installs it). */
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/snap/bin/chromium'].find((p) => existsSync(p)) ?? '/usr/bin/chromium';
const artifacts = join(__dirname, '..', 'test-artifacts');
const dir = mkdtempSync(join(tmpdir(), 'nvme-tcp-timeline-html-'));
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error('chromium is not installed: `npm test` installs it (scripts/system-packages.sh), or see the README');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  mkdirSync(artifacts, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
});

async function open(file: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 700 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // The report must need no network: fail any request that leaves the file.
  await page.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
  await page.goto(`file://${file}`);
  return { page, errors };
}

/** The middle of an SVG path on the page: where a user points at an arrow (a path without fill is hit only on its stroke). */
function midpoint(path: Locator): Promise<{ x: number; y: number }> {
  return path.evaluate((e) => {
    const p = (e as SVGPathElement).getPointAtLength((e as SVGPathElement).getTotalLength() / 2);
    const svg = (e as SVGPathElement).ownerSVGElement!.getBoundingClientRect();
    return { x: svg.left + p.x, y: svg.top + p.y };
  });
}

async function attr(page: Page, selector: string, name: string): Promise<number[]> {
  return page.$$eval(selector, (els, n) => els.map((e) => Number(e.getAttribute(n))), name);
}

describe('HTML timeline', () => {
  it('early-retry.pcap: lanes, both retry arrows inside the KATO window, tooltips, zoom, highlighted findings', async () => {
    const file = join(dir, 'early-retry.html');
    const run = spawnSync(process.execPath, [join(__dirname, '..', 'bin', 'nvme-tcp-timeline.js'), 'analyze', 'fixtures/early-retry.pcap', '--html', file, '--fail-on', 'none'], { cwd: join(__dirname, '..') });
    expect(run.status).toBe(0);
    const { page, errors } = await open(file);

    const lanes = await page.$$eval('g.lane text', (els) => els.map((e) => e.textContent));
    expect(lanes).toEqual(['admin q0  conn 1', 'I/O q1  conn 2', 'admin q0  conn 4', 'I/O q1  conn 5', 'conn 3 10.0.1.1:53474 → 10.0.2.1:4420']);
    expect(await page.$$eval('.group-title', (els) => els.map((e) => e.textContent))).toContain('Association 1  cntlid 1  KATO 30000 ms (connect)');

    // The incident's two retries: one bundled arrow with its count; a click opens it into an arrow each.
    expect(await page.locator('.retry-arrow').count()).toBe(1);
    expect(await page.locator('text.bundle-label').textContent()).toBe('×2');
    await page.locator('text.bundle-label').click();
    // Two arrows, from the originals (t ≈ 0.53 s) to the retries (t ≈ 9.27 s), across the host's FIN (t ≈ 4.12 s).
    expect(await page.locator('.retry-arrow').count()).toBe(2);
    const x1 = await attr(page, '.retry-arrow', 'data-x1');
    const x2 = await attr(page, '.retry-arrow', 'data-x2');
    const fin = await page.$$eval('g.tcp.fin', (els) => els.map((e) => (e as SVGGraphicsElement).getBBox().x));
    for (let i = 0; i < 2; i++) {
      expect(x1[i]).toBeLessThan(Math.min(...fin));
      expect(x2[i]).toBeGreaterThan(Math.max(...fin.filter((f) => f < x2[i])));
    }
    // Linear in time: (retry − original) / (FIN − original) ≈ (9.2727 − 0.5281) / (4.1206 − 0.5281).
    const finX = Math.min(...fin) + 5; // the marker's diamond is centred on its time
    expect((x2[1] - x1[1]) / (finX - x1[1])).toBeCloseTo((9.272716 - 0.528088) / (4.120634 - 0.528088), 1);

    // FIN and RST a millisecond apart share one label instead of printing over each other.
    const labels = await page.$$eval('text.tcp-label', (els) => els.map((e) => {
      const b = (e as SVGGraphicsElement).getBBox();
      return { text: e.textContent, x: b.x, y: b.y, right: b.x + b.width };
    }));
    expect(labels.map((l) => l.text)).toContain('FIN RST');
    // Labels of markers at the right edge go to the left of them, inside the drawing.
    const width = await page.$eval('svg.timeline', (e) => (e as SVGSVGElement).width.baseVal.value);
    for (const l of labels) expect(l.right, `${l.text} at ${l.x}`).toBeLessThanOrEqual(width);
    for (const a of labels) {
      for (const b of labels) {
        if (a !== b && a.y === b.y) expect(a.right <= b.x || b.right <= a.x, `${a.text} / ${b.text}`).toBe(true);
      }
    }

    // The KATO window starts at the last controller contact and contains both retries.
    const win = page.locator('.kato-window').first();
    const wx = Number(await win.getAttribute('x'));
    const ww = Number(await win.getAttribute('width'));
    const contactX = Number(await page.locator('.contact').first().getAttribute('x1'));
    expect(Math.abs(contactX - wx)).toBeLessThan(1);
    for (const x of x2) expect(x > wx && x < wx + ww).toBe(true);

    // Each retry's evidence chain: last contact, original, host FIN, retry — a marker each, joined, ending where the arrow ends.
    const steps = await page.$$eval('circle.evidence', (els) => els.map((e) => ({
      step: e.getAttribute('class')!.replace('evidence ', ''), x: Number(e.getAttribute('cx')), finding: e.getAttribute('data-finding'),
    })));
    expect(steps.map((e) => e.step)).toEqual(['last-controller-contact', 'original-sent', 'teardown', 'retry', 'last-controller-contact', 'original-sent', 'teardown', 'retry']);
    expect(await page.locator('polyline.evidence-chain').count()).toBe(2);
    for (let i = 0; i < 2; i++) {
      const chain = steps.slice(i * 4, i * 4 + 4);
      expect(chain.map((e) => e.x)).toEqual([...chain.map((e) => e.x)].sort((a, b) => a - b));
      expect(Math.abs(chain[3].x - x2[i])).toBeLessThan(1);
      expect(Math.abs(chain[1].x - x1[i])).toBeLessThan(1);
    }

    // Hover the write's retry arrow: the tooltip gives rule, frames and times.
    const mid = await midpoint(page.locator('.retry-arrow').nth(1));
    await page.mouse.move(mid.x, mid.y);
    const tip = await page.locator('#tip').textContent();
    expect(tip).toContain('retry-before-kato');
    expect(tip).toContain('Write SLBA 2100 NLB 1');
    expect(tip).toContain('original frame 111');
    expect(tip).toContain('retry frame 161');
    await page.screenshot({ path: join(artifacts, 'early-retry.png'), fullPage: true });

    // A findings row highlights its elements and shows its Wireshark filter.
    const row = page.locator('table.findings tbody tr').filter({ hasText: 'Write SLBA 2100 NLB 1 (frame 111) resubmitted' });
    expect(await row.locator('code').textContent()).toBe('frame.number in {109 111 118 161}');
    await row.hover();
    expect(await page.locator('.retry-arrow.hl').count()).toBeGreaterThan(0);

    // Zoom in around the retries: the arrows' ends move apart.
    const box = (await page.locator('svg.timeline').boundingBox())!;
    await page.mouse.move(x2[0], box.y + 100);
    for (let i = 0; i < 5; i++) await page.mouse.wheel(0, -200);
    const zoomed = await attr(page, '.retry-arrow', 'data-x2');
    const zoomedStart = await attr(page, '.retry-arrow', 'data-x1');
    expect(zoomed[0] - zoomedStart[0]).toBeGreaterThan(x2[0] - x1[0]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('with --dmesg: a host-kernel and a target-kernel lane under each association, and the line on hover', async () => {
    const file = join(dir, 'early-retry-dmesg.html');
    const run = spawnSync(process.execPath, [join(__dirname, '..', 'bin', 'nvme-tcp-timeline.js'), 'analyze', 'fixtures/early-retry.pcap',
      '--dmesg', 'fixtures/kernel-logs/early-retry.dmesg.txt', '--html', file, '--fail-on', 'none'], { cwd: join(__dirname, '..') });
    expect(run.status).toBe(0);
    const { page, errors } = await open(file);
    const lanes = await page.$$eval('g.lane text', (els) => els.map((e) => e.textContent));
    expect(lanes).toEqual([
      'admin q0  conn 1', 'I/O q1  conn 2', 'host kernel log', 'target kernel log',
      'admin q0  conn 4', 'I/O q1  conn 5', 'host kernel log', 'target kernel log', 'conn 3 10.0.1.1:53474 → 10.0.2.1:4420',
    ]);
    // Every NVMe line of the log tied to an association is drawn once; the two timeouts name their commands.
    expect(await page.locator('path.kernel').count()).toBe(16);
    const timeouts = page.locator('path.kernel.io-timeout');
    expect(await timeouts.count()).toBe(2);
    expect(await timeouts.first().getAttribute('data-frames')).toBe('111');
    // Four lines fall within 22 ms of each other: zoom in on them, as a user would, then hover the first timeout.
    let box = (await timeouts.first().boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    for (let i = 0; i < 30; i++) await page.mouse.wheel(0, -200);
    box = (await page.locator('path.kernel.io-timeout').first().boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height - 2);
    expect(await page.locator('#tip').textContent()).toContain('timeout request 0x41 type 4');
    await page.screenshot({ path: join(artifacts, 'early-retry-dmesg.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('with --trace: a kernel-trace lane under each association the trace speaks of, the cited line on hover', async () => {
    const file = join(dir, 'twin-trace.html');
    const run = spawnSync(process.execPath, [join(__dirname, '..', 'bin', 'nvme-tcp-timeline.js'), 'analyze', 'fixtures/twins/twin-early-retry.pcap',
      '--trace', 'fixtures/twins/twin-early-retry.trace.txt', '--html', file, '--fail-on', 'none'], { cwd: join(__dirname, '..') });
    expect(run.status).toBe(0);
    const { page, errors } = await open(file);
    const lanes = await page.$$eval('g.lane text', (els) => els.map((e) => e.textContent));
    expect(lanes.filter((l) => l === 'kernel trace')).toHaveLength(2);
    expect(lanes.indexOf('kernel trace')).toBe(lanes.indexOf('I/O q1  conn 2') + 1);
    // Association 1: the two setups, the two aborts and the two first requeues; association 2: setups, target lines, completions.
    expect(await page.locator('path.kernel.trace').count()).toBe(14);
    const tips = await page.$$eval('path.kernel.trace', (els) => els.map((e) => e.getAttribute('data-tip') ?? ''));
    expect(tips.some((t) => t.startsWith('trace line 287: ') && t.includes('block_rq_requeue'))).toBe(true);
    const first = page.locator('path.kernel.trace').first();
    const box = (await first.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height - 2);
    expect(await page.locator('#tip').textContent()).toContain('nvme_setup_cmd');
    await page.screenshot({ path: join(artifacts, 'twin-trace.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  /** A page of `n` commands on two I/O queues, one every millisecond, every 97th an error. */
  async function pageOf(n: number): Promise<string> {
    const s = new Scenario();
    const { connectAssociation } = await import('../src/test-support/scenario.js');
    const { ioCmd } = await import('../src/test-support/builders.js');
    const a = connectAssociation(s, { katoMs: 5000, ioQueues: 2 });
    for (let i = 0; i < n; i++) {
      const q = a.io[i % 2];
      q.host(ioCmd(2, i & 0xfff, i * 8, 8)).ctrl(capsuleResp({ cid: i & 0xfff, sc: i % 97 === 0 ? 0x80 : 0 }));
      s.wait(1);
    }
    const collected = new HtmlCollector();
    const bytes = s.pcap();
    const report = await analyzeCapture((async function* () {
      yield bytes;
    })(), { onCommand: (c, t0) => collected.add(c, t0) });
    const file = join(dir, `many-${n}.html`);
    writeFileSync(file, renderHtml([{ report, collected }]));
    return file;
  }

  it('draws a bounded number of elements however many commands: density per lane, bars once zoomed in', async () => {
    const counts: number[] = [];
    for (const n of [2000, 20000]) {
      const { page, errors } = await open(await pageOf(n));
      counts.push(await page.locator('svg.timeline *').count());
      // Zoomed out, each I/O lane is at most three density paths (ok, error, unanswered), not one element per command.
      expect(await page.locator('path.density').count()).toBeLessThanOrEqual(6);
      // Only the admin queue's few commands (Connect, Property Set) are bars at full view.
      expect(await page.locator('rect.cmd').count()).toBeLessThanOrEqual(3);
      const density = page.locator('path.density.ok').first();
      const box = (await density.boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height - 1);
      expect(await page.locator('#tip').textContent()).toMatch(/^\d+ commands around \d+\.\d{6} s$/);
      // Zoomed in far enough, commands are bars again, never more than half the pixel columns per lane.
      const svg = (await page.locator('svg.timeline').boundingBox())!;
      await page.mouse.move(svg.x + 500, svg.y + 100);
      for (let i = 0; i < 25; i++) await page.mouse.wheel(0, -200);
      await page.waitForTimeout(50);
      const bars = await page.locator('rect.cmd').count();
      expect(bars).toBeGreaterThan(0);
      expect(bars).toBeLessThanOrEqual(2 * (svg.width / 2));
      expect(errors).toEqual([]);
      await page.close();
    }
    // Ten times the commands, the same drawing: the count does not grow with the capture.
    expect(counts[1]).toBeLessThanOrEqual(counts[0] + 10);
    expect(counts[1]).toBeLessThan(300);
  });

  it('an NQN carrying markup is shown as text and runs nothing', async () => {
    const evil = 'nqn.x<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"></script><script>window.__pwned=3</script>';
    const s = new Scenario();
    const c = s.connection('10.0.0.1', '10.0.0.2');
    c.host(icReq()).ctrl(icResp());
    c.host(connectCmd(0, 0, 5000, evil, 'nqn.sub"><svg onload=window.__pwned=4>'));
    c.ctrl(capsuleResp({ cid: 0, dw0: 1 }));
    const collected = new HtmlCollector();
    const bytes = s.pcap();
    const report = await analyzeCapture((async function* () {
      yield bytes;
    })(), { name: 'evil<script>window.__pwned=5</script>.pcap', onCommand: (x, t0) => collected.add(x, t0) });
    const file = join(dir, 'evil.html');
    writeFileSync(file, renderHtml([{ report, collected }]));
    const { page, errors } = await open(file);
    await page.waitForTimeout(200);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('script').count()).toBe(2);
    expect(await page.locator('.group-sub').first().textContent()).toContain('<script>window.__pwned=1</script>');
    expect(await page.locator('h2').first().textContent()).toBe('evil<script>window.__pwned=5</script>.pcap');
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('HTML timeline: incidents', () => {
  it('the 24-write burst: one translucent KATO window, one bundled arrow that opens on click, an incident list that zooms, findings grouped under it', async () => {
    const { burst } = await import('../src/test-support/incident-lab.js');
    const lab = burst();
    const capture = join(dir, 'burst.pcap');
    const log = join(dir, 'burst.dmesg.txt');
    writeFileSync(capture, lab.s.pcap());
    writeFileSync(log, lab.log.join('\n') + '\n');
    const file = join(dir, 'burst.html');
    const run = spawnSync(process.execPath, [join(__dirname, '..', 'bin', 'nvme-tcp-timeline.js'), 'analyze', capture, '--dmesg', log, '--html', file, '--fail-on', 'none'], { cwd: join(__dirname, '..') });
    expect(run.status).toBe(0);
    const { page, errors } = await open(file);

    // One window for the incident, not one per retry.
    expect(await page.locator('.kato-window').count()).toBe(1);
    // Pixels of a lane under the window: the lane's white shows through, not the window's colour at full strength (#e4572e).
    const win = (await page.locator('.kato-window').boundingBox())!;
    const lane = (await page.locator('g.lane').nth(1).boundingBox())!;
    const plot = (await page.locator('svg.timeline').boundingBox())!;
    const right = Math.min(win.x + win.width, plot.x + plot.width);
    const png = await page.screenshot({ clip: { x: (win.x + right) / 2, y: lane.y + 2, width: 6, height: 6 } });
    const rgb = await page.evaluate(async (b64) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.width;
      canvas.height = img.height;
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      return Array.from(ctx.getImageData(img.width >> 1, img.height >> 1, 1, 1).data.slice(0, 3));
    }, png.toString('base64'));
    const distance = (a: number[], b: number[]) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    expect(distance(rgb, [0xe4, 0x57, 0x2e]), `pixel ${rgb}`).toBeGreaterThan(150);
    expect(distance(rgb, [255, 255, 255]), `pixel ${rgb}`).toBeLessThan(60);

    // The 24 retries: one arrow with its count, until clicked; then one arrow each; clicked again, one.
    expect(await page.locator('.retry-arrow').count()).toBe(1);
    expect(await page.locator('text.bundle-label').textContent()).toBe('×24');
    await page.locator('text.bundle-label').click();
    expect(await page.locator('.retry-arrow').count()).toBe(24);
    expect(await page.locator('.retry-bundle').count()).toBe(0);
    const onArrow = await midpoint(page.locator('.retry-arrow').first());
    await page.mouse.click(onArrow.x, onArrow.y);
    expect(await page.locator('.retry-arrow').count()).toBe(1);

    // The incident list, above the findings: a click zooms to the incident and highlights its frames.
    const item = page.locator('ol.incidents li');
    expect(await item.count()).toBe(1);
    expect(await item.textContent()).toContain('association 1 broke (I/O timeout): 24 writes resubmitted before KATO');
    // Zoomed far out first, as after wandering around a long capture.
    await page.mouse.move(plot.x + plot.width / 2, plot.y + 60);
    for (let i = 0; i < 8; i++) await page.mouse.wheel(0, 200);
    const before = await attr(page, '.kato-window', 'width');
    await item.click();
    expect((await attr(page, '.kato-window', 'width'))[0]).toBeGreaterThan(before[0]);
    expect(await page.locator('.hl').count()).toBeGreaterThan(0);
    const listY = (await item.boundingBox())!.y;
    expect(listY).toBeLessThan((await page.locator('table.findings').boundingBox())!.y);

    // Findings grouped under their incident: a group row, then its findings.
    const groups = await page.$$eval('table.findings tr.group', (els) => els.map((e) => e.textContent));
    expect(groups).toEqual([expect.stringMatching(/^Incident 1 · error · association 1 broke/)]);
    await page.screenshot({ path: join(artifacts, 'burst.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('HTML timeline of two captures of the same traffic (--same-traffic)', () => {
  it('each PDU crosses its lane from its host-side time to its target-side time; what one point alone saw ends in a cross', async () => {
    const { host, target } = twinCaptures(cutReturn(), { delayS: 0.0002 });
    const h = join(dir, 'twin-return.pcap');
    const t = join(dir, 'twin-return-target.pcap');
    writeFileSync(h, host);
    writeFileSync(t, target);
    const file = join(dir, 'twin-return.html');
    const run = spawnSync(process.execPath, [join(__dirname, '..', 'bin', 'nvme-tcp-timeline.js'), 'analyze', '--same-traffic', h, t, '--html', file, '--fail-on', 'none'], { cwd: join(__dirname, '..') });
    expect(run.status).toBe(0);
    const { page, errors } = await open(file);
    await page.waitForSelector('line.passage');
    // Every PDU seen at both points joins its host-side time (top edge) to its target-side time (bottom edge):
    // later at the target for what the host sent, earlier for what the controller sent (200 µs each way).
    const slants = await page.$$eval('line.passage[data-tip^="seen at the host "]', (ls) => ls.map((l) => ['x1', 'y1', 'x2', 'y2'].map((k) => Number(l.getAttribute(k)))));
    expect(slants.length).toBeGreaterThan(20);
    for (const [, y1, , y2] of slants) expect(y2).toBeGreaterThan(y1);
    expect(slants.some(([x1, , x2]) => x2 > x1)).toBe(true);
    expect(slants.some(([x1, , x2]) => x2 < x1)).toBe(true);
    // The original's completion left the target and never reached the host.
    expect(await page.locator('line.passage[data-tip^="seen at the target only"]').count()).toBe(1);
    // The original's completion left the target and never reached the host: one cross.
    expect(await page.locator('path.passage.lost').count()).toBe(1);
    expect(await page.locator('p.summary').first().textContent()).toContain('Two captures of the same traffic read as one');
    // Frames of the target capture are named as the reports name them.
    expect(await page.locator('table td', { hasText: /target#\d+/ }).count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(artifacts, 'twin-return.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
