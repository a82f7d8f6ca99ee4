// npm run bench [-- --size 1G] [--runs 5] [--tshark-size 100M] [--profiles tso,mtu,small] [--formats pcap,pcapng] [--rss-sizes 10M,1G,5G]
// Generates synthetic captures with the project's builders (into bench-out/, not committed), runs
// `analyze --json` on each as a separate process, and prints the median time, MB/s, packets/s,
// PDUs/s and peak RSS; times tshark on a smaller cut of the same traffic when tshark is installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { synthesize, synthesizeConcurrentFleet, synthesizeFleet, synthesizeStorm } from '../dist/test-support/synth.js';
import { c2hData, capsuleResp, concat, h2cData, ioCmd, r2t } from '../dist/test-support/builders.js';
import { connectAssociation, Scenario } from '../dist/test-support/scenario.js';
import { tlsScenario } from '../dist/test-support/tls-scenario.js';
import { twinCaptures } from '../dist/test-support/twins.js';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
if ('help' in args || 'h' in args || process.argv.includes('-h')) {
  process.stdout.write(`npm run bench [-- options]   (npm run bench:html for the HTML report)
  --size 1G              size of each synthetic capture (K, M, G)
  --runs 5               runs per measurement (the median is printed)
  --tshark-size 100M     size of the cut tshark is timed on
  --profiles tso,mtu,small   (0: none)
  --formats pcap,pcapng
  --rss-sizes 10M,1G,5G  capture sizes for the peak-RSS check (0: none)
  --storm 20000          associations in the reconnect-storm capture (0: skip)
  --fleet 64x24          controllers x hours of the day-long keep-alive capture (0: skip)
  --dense 5000,10000,20000   associations of the dense storms (30 s of capture each; 0: skip)
  --concurrent 4000      hosts of the concurrent fleet (5 connections each, 40 s), against 10 hosts
                         and the same packet count (0: skip)
  --kernel-log 1000000   lines of the big kernel log, beside one 50 MB line (0: skip)
  --trace 1G             size of the big kernel trace (--trace) beside the twin capture (0: skip)
  --tls 200M             size of the NVMe/TCP-over-TLS capture (sealed by Node's TLS stack), timed with
                         --tls-keylog against the same traffic in plain text (0: skip)
  --twins 500M           size of each capture of the host/target pair read with --same-traffic, timed
                         against the host capture alone (0: skip)
Captures are generated into bench-out/ (not committed) and reused.
`);
  process.exit(0);
}
const size = parseSize(args.size ?? '1G');
const runs = Number(args.runs ?? 5);
const tsharkSize = parseSize(args['tshark-size'] ?? '100M');
const profiles = (args.profiles ?? 'tso,mtu,small').split(',').filter((p) => p && p !== '0');
const formats = (args.formats ?? 'pcap,pcapng').split(',');
const out = join(import.meta.dirname, '..', 'bench-out');
const cli = join(import.meta.dirname, 'run-measured.mjs');
mkdirSync(out, { recursive: true });

function parseSize(text) {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)$/i.exec(text);
  if (!m) throw new Error(`bad size ${text}`);
  return Math.round(Number(m[1]) * { '': 1, K: 1e3, M: 1e6, G: 1e9 }[m[2].toUpperCase()]);
}

function generate(profile, format, bytes) {
  const file = join(out, `${profile}-${bytes}.${format}`);
  if (existsSync(file)) return file;
  const fd = openSync(file, 'w');
  const t = Date.now();
  synthesize({ profile, format, targetBytes: bytes }, (chunk) => writeSync(fd, chunk));
  closeSync(fd);
  console.error(`generated ${file} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return file;
}

/** Reads the file once so every run finds it in the page cache (in pieces: this process's memory stays small). */
function warm(file) {
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 22);
  while (readSync(fd, buf, 0, buf.length, null) > 0);
  closeSync(fd);
}

function maxOf(values) {
  return values.reduce((a, b) => Math.max(a, b), -Infinity);
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

function ours(file, n = runs) {
  const json = join(out, 'report.json');
  const rssFile = join(out, 'rss.txt');
  const times = [];
  const rss = [];
  warm(file);
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    const fd = openSync(json, 'w');
    const r = spawnSync(process.execPath, [cli, 'analyze', file, '--json', '--quiet', '--fail-on', 'none'], {
      env: { ...process.env, BENCH_RSS_FILE: rssFile }, stdio: ['ignore', fd, 'inherit'],
    });
    closeSync(fd);
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
    if (r.status !== 0) throw new Error(`analyze ${file} exited ${r.status}`);
    rss.push(Number(readFileSync(rssFile, 'utf8')) / 1024);
  }
  const report = JSON.parse(readFileSync(json, 'utf8'));
  unlinkSync(json);
  return { seconds: median(times), rssMiB: maxOf(rss), packets: report.summary.packets, pdus: report.summary.pdus };
}

function tshark(file, n = Math.min(runs, 3)) {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    execFileSync('tshark', ['-r', file, '-d', 'tcp.port==4420,nvme-tcp', '-T', 'fields', '-e', 'nvme-tcp.type'], { stdio: ['ignore', 'ignore', 'ignore'], maxBuffer: 1 << 30 });
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  return median(times);
}

const rows = [];
const inputs = [];
for (const profile of profiles) for (const format of formats) inputs.push({ name: `${profile} ${format}`, file: generate(profile, format, size), profile, format });
const shared = join(import.meta.dirname, '..', '..', 'shared', 'captures', 'large-io.pcap');
inputs.push({ name: 'large-io.pcap (real)', file: existsSync(shared) ? shared : join(import.meta.dirname, '..', 'fixtures', 'large-io.pcap') });

for (const input of inputs) {
  const bytes = statSync(input.file).size;
  const m = ours(input.file);
  const row = {
    capture: input.name, MB: +(bytes / 1e6).toFixed(0), seconds: +m.seconds.toFixed(3), 'MB/s': +(bytes / 1e6 / m.seconds).toFixed(0),
    'packets/s': Math.round(m.packets / m.seconds), 'PDUs/s': Math.round(m.pdus / m.seconds), 'peak RSS MiB': +m.rssMiB.toFixed(1),
  };
  // tshark on the same file when that takes under a minute and a half (judged from a cut), else on the cut:
  // the ratio compares throughput (MB/s) measured in this run.
  const cut = input.profile && bytes > tsharkSize ? generate(input.profile, input.format, tsharkSize) : input.file;
  const onCut = tshark(cut);
  if (onCut !== undefined) {
    const cutBytes = statSync(cut).size;
    const sameFile = cut === input.file || (onCut * bytes) / cutBytes < 90;
    // Median of up to three runs on the same file too: tshark's time on one file varies a lot between runs.
    const t = cut === input.file ? onCut : sameFile ? tshark(input.file, (onCut * bytes) / cutBytes < 30 ? Math.min(runs, 3) : 1) : onCut;
    const tsharkRate = (sameFile ? bytes : cutBytes) / t;
    row['tshark s'] = +t.toFixed(3);
    row['tshark on'] = sameFile ? 'same file' : `${(cutBytes / 1e6).toFixed(0)} MB cut`;
    row['× tshark'] = +(bytes / m.seconds / tsharkRate).toFixed(1);
  }
  rows.push(row);
  console.error(JSON.stringify(row));
}

// The floor under any Node.js tool on this machine: an empty process, and copying a 1 GB capture out of the page
// cache with the analyzer's read size. On TSO captures tshark itself is fast, so this floor bounds the ratio.
const floor = (() => {
  const tso = inputs.find((i) => i.profile === 'tso');
  if (!tso) return undefined;
  const nodeRuns = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' });
    nodeRuns.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  const readScript = `const fs = require('node:fs'); const fd = fs.openSync(process.argv[1], 'r'); const b = new Uint8Array(1 << 20);
    const t = process.hrtime.bigint(); while (fs.readSync(fd, b, 0, b.length, null) > 0); console.log(Number(process.hrtime.bigint() - t) / 1e9);`;
  const readRuns = [];
  for (let i = 0; i < runs; i++) readRuns.push(Number(execFileSync(process.execPath, ['-e', readScript, tso.file], { encoding: 'utf8' })));
  const row = rows.find((r) => r.capture === tso.name);
  const result = {
    capture: tso.name, MB: row?.MB, nodeSeconds: median(nodeRuns), readSeconds: median(readRuns),
    tsharkSeconds: row?.['tshark on'] === 'same file' ? row['tshark s'] : undefined,
  };
  console.error(JSON.stringify({ floor: result }));
  return result;
})();

// Memory against capture size: analyze and pdus --json on the small-command profile (most PDUs per byte).
const memory = [];
for (const text of (args['rss-sizes'] ?? '10M,1G').split(',').filter((t) => t && t !== '0')) {
  const file = generate('small', 'pcap', parseSize(text));
  warm(file);
  for (const command of ['analyze', 'pdus']) {
    const rssFile = join(out, 'rss.txt');
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [cli, command, file, '--json', '--quiet', '--fail-on', 'none'], { env: { ...process.env, BENCH_RSS_FILE: rssFile }, stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`${command} ${file} exited ${r.status}`);
    memory.push({ capture: `small pcap ${text}`, command: `${command} --json`, seconds: +(Number(process.hrtime.bigint() - t) / 1e9).toFixed(2), 'peak RSS MiB': +(Number(readFileSync(rssFile, 'utf8')) / 1024).toFixed(1) });
    console.error(JSON.stringify(memory.at(-1)));
  }
}

// Scale: a reconnect storm (one association a second) and a day-long fleet of keep-alives, made with our builders.
function measured(args, outFile) {
  const rssFile = join(out, 'rss.txt');
  const fd = openSync(outFile ?? join(out, 'stdout.txt'), 'w');
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, ...args, '--quiet', '--fail-on', 'none'], { env: { ...process.env, BENCH_RSS_FILE: rssFile }, stdio: ['ignore', fd, 'inherit'] });
  closeSync(fd);
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return { seconds: Number(process.hrtime.bigint() - t) / 1e9, rssMiB: Number(readFileSync(rssFile, 'utf8')) / 1024 };
}
const scale = [];
const stormSize = Number(args.storm ?? 20000);
if (stormSize > 0) {
  const file = join(out, `storm-${stormSize}.pcap`);
  if (!existsSync(file)) {
    const fd = openSync(file, 'w');
    synthesizeStorm({ associations: stormSize, format: 'pcap' }, (c) => writeSync(fd, c));
    closeSync(fd);
  }
  warm(file);
  for (const [label, extra, product] of [['text', [], 'stdout.txt'], ['--json FILE', ['--json', join(out, 'storm.json')], 'storm.json'], ['--html FILE', ['--html', join(out, 'storm.html')], 'storm.html']]) {
    const runsOf = Array.from({ length: Math.min(runs, 3) }, () => measured(['analyze', file, ...extra]));
    const text = readFileSync(join(out, product), 'utf8');
    scale.push({
      capture: `storm ${stormSize} assoc`, output: label, seconds: +median(runsOf.map((r) => r.seconds)).toFixed(2), 'peak RSS MiB': +maxOf(runsOf.map((r) => r.rssMiB)).toFixed(1),
      lines: text.split('\n').length - 1, bytes: Buffer.byteLength(text),
    });
    console.error(JSON.stringify(scale.at(-1)));
  }
}
const fleet = /^(\d+)x(\d+)$/.exec(args.fleet ?? '64x24');
if (fleet) {
  const [controllers, hours] = [Number(fleet[1]), Number(fleet[2])];
  const file = join(out, `fleet-${controllers}x${hours}h.pcap`);
  if (!existsSync(file)) {
    const fd = openSync(file, 'w');
    synthesizeFleet({ controllers, hours, format: 'pcap' }, (c) => writeSync(fd, c));
    closeSync(fd);
  }
  warm(file);
  const runsOf = Array.from({ length: Math.min(runs, 3) }, () => measured(['analyze', file, '--json', join(out, 'fleet.json')]));
  const report = JSON.parse(readFileSync(join(out, 'fleet.json'), 'utf8'));
  const seconds = median(runsOf.map((r) => r.seconds));
  scale.push({
    capture: `fleet ${controllers} ctrl x ${hours} h`, output: '--json FILE', seconds: +seconds.toFixed(2), 'peak RSS MiB': +maxOf(runsOf.map((r) => r.rssMiB)).toFixed(1),
    'packets/s': Math.round(report.summary.packets / seconds), bytes: statSync(join(out, 'fleet.json')).size,
  });
  console.error(JSON.stringify(scale.at(-1)));
}

/** Writes a capture with `synth` once (bench-out/ keeps it) and returns its path. */
function made(name, synth) {
  const file = join(out, name);
  if (!existsSync(file)) {
    const fd = openSync(file, 'w');
    synth((c) => writeSync(fd, c));
    closeSync(fd);
  }
  warm(file);
  return file;
}

function measuredRow(capture, file, extra = []) {
  const json = join(out, 'scale.json');
  const runsOf = Array.from({ length: Math.min(runs, 3) }, () => measured(['analyze', file, '--json', json, ...extra]));
  const report = JSON.parse(readFileSync(json, 'utf8'));
  const seconds = median(runsOf.map((r) => r.seconds));
  return { capture, seconds, rssMiB: maxOf(runsOf.map((r) => r.rssMiB)), report };
}

// Dense storms: associations packed into 30 s, both sides closing: time must grow linearly with them.
const dense = [];
for (const n of (args.dense ?? '5000,10000,20000').split(',').map(Number).filter((n) => n > 0)) {
  const file = made(`dense-${n}.pcap`, (emit) => synthesizeStorm({ associations: n, format: 'pcap', spacingS: 30 / 20000, close: 'graceful' }, emit));
  const m = measuredRow(`dense storm ${n} assoc`, file);
  dense.push({ capture: m.capture, seconds: +m.seconds.toFixed(2), 'peak RSS MiB': +m.rssMiB.toFixed(1), 'µs per association': +((m.seconds / n) * 1e6).toFixed(0) });
  console.error(JSON.stringify(dense.at(-1)));
}

// Concurrent fleet: 20,000 open connections against 50, the same packet count.
let concurrent;
const hosts = Number(args.concurrent ?? 4000);
if (hosts > 0) {
  const wide = made(`concurrent-${hosts}x40s.pcap`, (emit) => synthesizeConcurrentFleet({ hosts, seconds: 40, format: 'pcap' }, emit));
  const narrow = made(`concurrent-10x${40 * hosts / 10}s.pcap`, (emit) => synthesizeConcurrentFleet({ hosts: 10, seconds: (40 * hosts) / 10, format: 'pcap' }, emit));
  const rowsOf = [measuredRow(`${hosts * 5} connections`, wide), measuredRow('50 connections', narrow)].map((m) => ({
    capture: m.capture, packets: m.report.summary.packets, seconds: +m.seconds.toFixed(2), 'µs per packet': +((m.seconds / m.report.summary.packets) * 1e6).toFixed(2),
    'peak RSS MiB': +m.rssMiB.toFixed(1),
  }));
  const [w, n] = rowsOf;
  concurrent = { rows: rowsOf, perPacketRatio: w['µs per packet'] / n['µs per packet'], KiBPerConnection: ((w['peak RSS MiB'] - n['peak RSS MiB']) * 1024) / (hosts * 5 - 50) };
  console.error(JSON.stringify(concurrent));
}

// --perfetto on the 1 GB captures: the trace still parses as one JSON document.
const perfetto = [];
for (const input of inputs.filter((i) => i.profile && i.format === 'pcap')) {
  const traceFile = join(out, 'trace.json');
  const m = measuredRow(`${input.name} --perfetto`, input.file, ['--perfetto', traceFile]);
  const events = JSON.parse(readFileSync(traceFile, 'utf8')).traceEvents.length;
  perfetto.push({ capture: m.capture, seconds: +m.seconds.toFixed(2), 'peak RSS MiB': +m.rssMiB.toFixed(1), 'trace MB': +(statSync(traceFile).size / 1e6).toFixed(1), events });
  unlinkSync(traceFile);
  console.error(JSON.stringify(perfetto.at(-1)));
}

// Big kernel logs: a journal of 1,000,000 timeout lines, and one 50 MB line, beside a small capture.
const kernel = [];
const logLines = Number(args['kernel-log'] ?? 1_000_000);
if (logLines > 0) {
  const manyFile = join(out, `journal-${logLines}.txt`);
  if (!existsSync(manyFile)) {
    const fd = openSync(manyFile, 'w');
    for (let k = 0; k < logLines; k += 10_000) {
      let text = '';
      for (let i = k; i < Math.min(logLines, k + 10_000); i++) text += `[${(100 + i * 0.0001).toFixed(6).padStart(12)}] nvme nvme0: queue 1: timeout request 0x${(i & 0xfff).toString(16)} type 4\n`;
      writeSync(fd, text);
    }
    closeSync(fd);
  }
  const longFile = join(out, 'journal-long-line.txt');
  if (!existsSync(longFile)) writeFileSync(longFile, `[    1.000000] nvme nvme0: ${'x'.repeat(50 * 2 ** 20)}\n`);
  // 300 NVMe lines, each 3,000 other lines apart: each listed line in another read chunk.
  const sparseFile = join(out, 'journal-sparse.txt');
  if (!existsSync(sparseFile)) {
    const fd = openSync(sparseFile, 'w');
    for (let i = 0, t = 100; i < 300; i++) {
      let text = `[${t.toFixed(6).padStart(12)}] nvme nvme0: queue 1: timeout request 0x${i.toString(16)} type 4\n`;
      for (let k = 0; k < 3000; k++, t += 0.00001) text += `[${t.toFixed(6).padStart(12)}] audit: type=1400 audit(0.0:1): apparmor="DENIED" operation="open" profile="snap" name="/x/y/z" pid=1234 comm="foo"\n`;
      writeSync(fd, text);
    }
    closeSync(fd);
  }
  const capture = join(import.meta.dirname, '..', 'fixtures', 'early-retry.pcap');
  for (const [label, log] of [[`${logLines.toLocaleString('en')} lines`, manyFile], ['one 50 MB line', longFile], ['300 NVMe lines in 100 MB', sparseFile]]) {
    const m = measuredRow(`early-retry.pcap --dmesg (${label})`, capture, ['--dmesg', log]);
    kernel.push({ capture: m.capture, seconds: +m.seconds.toFixed(2), 'peak RSS MiB': +m.rssMiB.toFixed(1), 'events listed': m.report.kernelLog.events.length, 'not listed': m.report.kernelLog.eventsNotListed });
    console.error(JSON.stringify(kernel.at(-1)));
  }
}

// A big kernel trace: the lab's real trace of twin-early-retry, then synthetic I/O (host setup, block issue,
// target init and complete, host complete) after it, up to the size asked: bounded memory, cost per MB.
const traceRows = [];
const traceBytes = parseSize(args.trace ?? '1G');
if (traceBytes > 0) {
  const twins = join(import.meta.dirname, '..', 'fixtures', 'twins');
  const file = join(out, `trace-${args.trace ?? '1G'}.txt`);
  if (!existsSync(file) || statSync(file).size < traceBytes) {
    const real = readFileSync(join(twins, 'twin-early-retry.trace.txt'), 'utf8');
    const fd = openSync(file, 'w');
    writeSync(fd, real);
    let written = Buffer.byteLength(real);
    let t = 40;
    for (let i = 0; written < traceBytes; ) {
      let text = '';
      for (let k = 0; k < 2000; k++, i++, t += 0.00005) {
        const cid = i & 0x7f;
        const ts = (d) => (t + d).toFixed(6).padStart(12);
        text += `    kworker/1:1H-115     [001] ..... ${ts(0)}: nvme_setup_cmd: nvme0: disk=nvme0n1, qid=1, cmdid=${cid}, nsid=1, flags=0x0, meta=0x0, cmd=(nvme_cmd_write slba=${i}, len=0, ctrl=0x0, dsmgmt=0, reftag=0)\n` +
          `    kworker/1:1H-115     [001] ..... ${ts(0.000001)}: block_rq_issue: 259,0 WS 4096 () ${i * 8} + 8 [kworker/1:1H]\n` +
          `    kworker/0:1H-42      [000] ..... ${ts(0.00001)}: nvmet_req_init: nvmet2: disk=/dev/nullb0, qid=1, cmdid=${cid}, nsid=1, flags=0x40, meta=0x0, cmd=(nvme_cmd_write, slba=${i}, len=0, ctrl=0x0, dsmgmt=0, reftag=0)\n` +
          `    kworker/0:1H-42      [000] ..... ${ts(0.00002)}: nvmet_req_complete: nvmet2: disk=/dev/nullb0, qid=1, cmdid=${cid}, res=0x0, status=0x0\n` +
          `     ksoftirqd/0-14      [000] ..s.. ${ts(0.00003)}: nvme_complete_rq: nvme0: disk=nvme0n1, qid=1, cmdid=${cid}, res=0x0, retries=0, flags=0x0, status=0x0\n` +
          `     ksoftirqd/0-14      [000] ..s.. ${ts(0.00004)}: block_rq_complete: 259,0 WS () ${i * 8} + 8 [0]\n`;
      }
      writeSync(fd, text);
      written += Buffer.byteLength(text);
    }
    closeSync(fd);
  }
  warm(file);
  const capture = join(twins, 'twin-early-retry.pcap');
  const mb = statSync(file).size / 1e6;
  const plain = measuredRow('twin-early-retry.pcap', capture);
  const m = measuredRow(`twin-early-retry.pcap --trace (${mb.toFixed(0)} MB)`, capture, ['--trace', file]);
  const readFloor = median(Array.from({ length: 3 }, () => {
    const t = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', `const fs=require('node:fs');const fd=fs.openSync(process.argv[1],'r');const b=Buffer.allocUnsafe(1<<20);let n;while((n=fs.readSync(fd,b,0,b.length,null))>0){}`, file]);
    return Number(process.hrtime.bigint() - t) / 1e9;
  }));
  const k = m.report.kernelTrace;
  traceRows.push({
    capture: m.capture, seconds: +m.seconds.toFixed(2), 'peak RSS MiB': +m.rssMiB.toFixed(1), 'without --trace s': +plain.seconds.toFixed(2),
    'MB/s': +(mb / (m.seconds - plain.seconds)).toFixed(0), 'bare read s': +readFloor.toFixed(2), aligned: k.alignment[0].method, 'retries requeued': k.retries.requeued,
  });
  console.error(JSON.stringify(traceRows.at(-1)));
}

// NVMe/TCP over TLS: the same reads and writes sealed by Node's TLS stack and in plain text.
const tlsRows = [];
const tlsSize = parseSize(args.tls ?? '200M');
if (tlsSize > 0) {
  const tlsFile = join(out, `tls-${tlsSize}.pcap`);
  const keys = join(out, `tls-${tlsSize}.keys`);
  const plainFile = join(out, `tls-${tlsSize}-plain.pcap`);
  const perRound = 128 * 1024 + 64 * 1024 + 400;
  const build = (s) => {
    const a = connectAssociation(s, { katoMs: 30000, cntlid: 1 });
    const q = a.io[0];
    for (let i = 0, cid = 0; i < Math.ceil(tlsSize / perRound); i++) {
      cid = (cid + 2) & 0xffff;
      q.host(ioCmd(2, cid, i * 256, 256));
      q.ctrl(concat([...Array.from({ length: 8 }, (_, k) => c2hData(cid, k * 16384, new Uint8Array(16384).fill(k), { last: k === 7 })), capsuleResp({ cid })]));
      q.host(ioCmd(1, cid + 1, i * 256, 128));
      q.ctrl(r2t(cid + 1, 1, 0, 65536));
      q.host(h2cData(cid + 1, 1, 0, new Uint8Array(65536).fill(i & 255), { last: true }), { ack: true });
      q.ctrl(capsuleResp({ cid: cid + 1 }));
      s.wait(0.2);
    }
  };
  if (!existsSync(tlsFile) || !existsSync(plainFile)) {
    const t = Date.now();
    const { scenario, keyLog } = await tlsScenario(build);
    writeFileSync(tlsFile, scenario.pcap());
    writeFileSync(keys, keyLog);
    const plain = new Scenario();
    build(plain);
    writeFileSync(plainFile, plain.pcap());
    console.error(`generated ${tlsFile} and its plain twin in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  warm(tlsFile);
  warm(plainFile);
  const plain = measuredRow('plain text', plainFile);
  const sealed = measuredRow('TLS 1.3 (--tls-keylog)', tlsFile, ['--tls-keylog', keys]);
  const notKeyed = measuredRow('TLS 1.3 without --tls-keylog', tlsFile);
  for (const [m, file] of [[plain, plainFile], [sealed, tlsFile], [notKeyed, tlsFile]]) {
    const mb = statSync(file).size / 1e6;
    tlsRows.push({ capture: m.capture, MB: +mb.toFixed(0), seconds: +m.seconds.toFixed(2), 'MB/s': +(mb / m.seconds).toFixed(0), 'ms per MB': +((1000 * m.seconds) / mb).toFixed(2), 'peak RSS MiB': +m.rssMiB.toFixed(1), PDUs: m.report.summary.pdus });
    console.error(JSON.stringify(tlsRows.at(-1)));
  }
}

// Both ends of the wire: a host-side and a target-side capture of the same reads and writes (150 µs
// apart, the target clock 3.2 s ahead), read as one, against the host capture alone.
const twinRows = [];
const twinSummary = {};
const twinSize = parseSize(args.twins ?? '500M');
if (twinSize > 0) {
  const hostFile = join(out, `twin-${twinSize}.pcap`);
  const targetFile = join(out, `twin-${twinSize}-target.pcap`);
  if (!existsSync(hostFile) || !existsSync(targetFile)) {
    const t = Date.now();
    const fds = [openSync(hostFile, 'w'), openSync(targetFile, 'w')];
    const s = new Scenario();
    s.step = 0.0004; // more than a round trip between the points: each view stays causal
    const a = connectAssociation(s, { katoMs: 30000, cntlid: 1 });
    const q = a.io[0];
    let written = 0;
    let first = true;
    // Written in batches: each batch split into the two views, its packets dropped, the pcap header once.
    const flush = () => {
      const { host, target } = twinCaptures(s, { offsetS: 3.2, delayS: 0.00015 });
      for (const [k, bytes] of [host, target].entries()) writeSync(fds[k], first ? bytes : bytes.subarray(24));
      written += host.length;
      first = false;
      s.packets.length = 0;
    };
    for (let i = 0, cid = 0; written < twinSize; i++) {
      cid = (cid + 2) & 0xffff;
      q.host(ioCmd(2, cid, i * 256, 256));
      s.wait(0.4);
      q.ctrl(concat([...Array.from({ length: 8 }, (_, k) => c2hData(cid, k * 16384, new Uint8Array(16384).fill(k), { last: k === 7 })), capsuleResp({ cid })]));
      s.wait(0.4);
      q.host(ioCmd(1, cid + 1, i * 256, 128));
      s.wait(0.4);
      q.ctrl(r2t(cid + 1, 1, 0, 65536));
      s.wait(0.4);
      q.host(h2cData(cid + 1, 1, 0, new Uint8Array(65536).fill(i & 255), { last: true }), { ack: true });
      s.wait(0.4);
      q.ctrl(capsuleResp({ cid: cid + 1 }));
      s.wait(1);
      if (s.packets.length > 20000) flush();
    }
    flush();
    for (const fd of fds) closeSync(fd);
    console.error(`generated ${hostFile} and ${targetFile} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  warm(hostFile);
  warm(targetFile);
  const one = measuredRow('host capture alone', hostFile);
  const pair = measuredRow('host + target --same-traffic', hostFile, [targetFile, '--same-traffic']);
  for (const m of [one, pair]) {
    const mb = (m === one ? statSync(hostFile).size : statSync(hostFile).size + statSync(targetFile).size) / 1e6;
    twinRows.push({ capture: m.capture, MB: +mb.toFixed(0), seconds: +m.seconds.toFixed(2), 'MB/s': +(mb / m.seconds).toFixed(0), 'peak RSS MiB': +m.rssMiB.toFixed(1), PDUs: m.report.summary.pdus });
    console.error(JSON.stringify(twinRows.at(-1)));
  }
  const st = pair.report.sameTraffic;
  twinSummary.ratio = pair.seconds / one.seconds;
  twinSummary.clock = st ? `offset ${st.clock.offsetMs} ms ± ${st.clock.uncertaintyMs} ms, ${st.totals.h2c.both + st.totals.c2h.both} PDUs seen at both, ${st.totals.h2c.senderOnly + st.totals.c2h.senderOnly} lost` : 'no sameTraffic section';
}

console.log(`\nnvme-tcp-timeline benchmark — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; median of ${runs} runs, page-cached files\n`);
console.table(rows);
if (floor) {
  const best = floor.nodeSeconds + floor.readSeconds;
  console.log(`\nFloor: an empty Node.js process takes ${(floor.nodeSeconds * 1000).toFixed(0)} ms and reading the ${floor.MB} MB ${floor.capture} file ` +
    `from the page cache ${(floor.readSeconds * 1000).toFixed(0)} ms` +
    (floor.tsharkSeconds ? `, so no Node.js tool can beat tshark's ${floor.tsharkSeconds} s on it by more than ${(floor.tsharkSeconds / best).toFixed(1)}×.` : '.'));
}
console.log('\nPeak RSS against capture size (one run each):');
console.table(memory);
if (scale.length) {
  console.log('\nScale: reconnect storm and day-long fleet (median time, highest peak RSS of up to 3 runs):');
  console.table(scale);
  // Issue target: the day-long capture (a whole PDU in nearly every packet) at the MTU capture's packets/s.
  const fleetRow = scale.find((r) => r.capture.startsWith('fleet'));
  const mtuRow = rows.find((r) => r.capture === 'mtu pcap');
  if (fleetRow && mtuRow) {
    console.log(`Day-long fleet: ${fleetRow['packets/s'].toLocaleString('en')} packets/s, ${((100 * fleetRow['packets/s']) / mtuRow['packets/s']).toFixed(0)} % of the ` +
      `MTU pcap's ${mtuRow['packets/s'].toLocaleString('en')} (target: the same).`);
  }
}
if (dense.length) {
  console.log('\nDense reconnect storms (30 s of capture; median time, highest peak RSS of up to 3 runs): time per association should stay flat');
  console.table(dense);
}
if (concurrent) {
  console.log('\nConcurrent fleet: many connections open at once against few, the same packet count');
  console.table(concurrent.rows);
  console.log(`Cost per packet at ${hosts * 5} connections: ${concurrent.perPacketRatio.toFixed(2)}× the cost at 50 (target ≤ 1.5×); ` +
    `memory per open connection ${concurrent.KiBPerConnection.toFixed(1)} KiB (target ≤ 2 KiB).`);
}
if (perfetto.length) {
  console.log('\n--perfetto (the trace parsed back as JSON):');
  console.table(perfetto);
}
if (kernel.length) {
  console.log('\nBig kernel logs:');
  console.table(kernel);
}
if (traceRows.length) {
  console.log('\nBig kernel trace (--trace; MB/s over the run without it):');
  console.table(traceRows);
}
if (tlsRows.length) {
  console.log('\nNVMe/TCP over TLS (AES-128-GCM, sealed by Node\'s TLS stack) against the same traffic in plain text:');
  console.table(tlsRows);
  const [p, t] = tlsRows;
  console.log(`Decryption costs ${(t['ms per MB'] - p['ms per MB']).toFixed(2)} ms per MB: ${(t.seconds / p.seconds).toFixed(2)}× the plain-text run.`);
}
if (twinRows.length) {
  console.log('\nBoth ends of the wire (--same-traffic): a pair of captures against one:');
  console.table(twinRows);
  console.log(`The pair takes ${twinSummary.ratio.toFixed(2)}× the host capture alone (target: ≤ 2.2×); ${twinSummary.clock}.`);
}
writeFileSync(join(out, 'results.json'), JSON.stringify({ node: process.version, size, runs, rows, floor, memory, scale, dense, concurrent, perfetto, kernel, trace: traceRows, tls: tlsRows, twins: { rows: twinRows, ...twinSummary } }, null, 2));
