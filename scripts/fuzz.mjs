// npm run fuzz [-- --inputs 1000000] [--seed N] [--workers 2]
// Mutates the real captures in fixtures/ (deterministically from seed and input number) and runs the
// analyzer on each: it must finish within 2 s, throw nothing but a CaptureError, and stay within memory.
// A failing or hanging input is saved to fuzz-failures/ with its seed and number.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { checkInput, loadCorpus as loadFixtures, mutatedInput } from '../dist/test-support/mutate.js';

const root = join(import.meta.dirname, '..');
// Process-wide (workers are threads): the corpus is loaded once per thread, so the base is ~300 MiB.
const RSS_LIMIT_MIB = 800;
const HANG_MS = 30_000;

const loadCorpus = () => loadFixtures(join(root, 'fixtures'));

if (!isMainThread) {
  const { seed, first, step, count, current } = workerData;
  const now = new Int32Array(current);
  const corpus = await loadCorpus();
  for (let k = 0; k < count; k++) {
    const index = first + k * step;
    Atomics.store(now, 0, index);
    const verdict = await checkInput(mutatedInput(corpus, seed, index));
    if (!verdict.ok) parentPort.postMessage({ type: 'failure', index, failure: verdict.failure });
    if (k % 2000 === 1999) {
      const rss = process.memoryUsage().rss / 2 ** 20;
      parentPort.postMessage({ type: 'progress', done: 2000, rss });
    }
  }
  parentPort.postMessage({ type: 'progress', done: count % 2000, rss: process.memoryUsage().rss / 2 ** 20 });
  parentPort.postMessage({ type: 'done' });
} else {
  const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
  const total = Number(args.inputs ?? 1_000_000);
  const seed = Number(args.seed ?? 20261125);
  const workers = Number(args.workers ?? 2);
  const failures = [];
  let done = 0;
  let maxRss = 0;
  const started = Date.now();
  const saveDir = join(root, 'fuzz-failures');
  const corpus = await loadCorpus();
  const save = (index, failure) => {
    mkdirSync(saveDir, { recursive: true });
    const file = join(saveDir, `seed${seed}-input${index}.pcap`);
    writeFileSync(file, mutatedInput(corpus, seed, index));
    failures.push({ index, failure, file });
    console.error(`FAIL input ${index}: ${String(failure).split('\n')[0]} (saved ${file})`);
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => new Promise((resolve) => {
    const current = new SharedArrayBuffer(4);
    const count = Math.floor(total / workers) + (w < total % workers ? 1 : 0);
    const worker = new Worker(new URL(import.meta.url), { workerData: { seed, first: w, step: workers, count, current } });
    let last = Date.now();
    let lastIndex = -1;
    const watchdog = setInterval(() => {
      const index = Atomics.load(new Int32Array(current), 0);
      if (index !== lastIndex) {
        lastIndex = index;
        last = Date.now();
      } else if (Date.now() - last > HANG_MS) {
        save(index, `no answer for ${HANG_MS / 1000} s (hang)`);
        clearInterval(watchdog);
        worker.terminate().then(resolve);
      }
    }, 1000);
    worker.on('message', (m) => {
      if (m.type === 'failure') save(m.index, m.failure);
      else if (m.type === 'progress') {
        done += m.done;
        maxRss = Math.max(maxRss, m.rss);
        if (m.rss > RSS_LIMIT_MIB) save(lastIndex, `worker RSS ${m.rss.toFixed(0)} MiB above ${RSS_LIMIT_MIB}`);
        if (done % 50_000 < 2000) process.stderr.write(`\r${done} / ${total} inputs, ${failures.length} failures, ${((Date.now() - started) / 1000).toFixed(0)} s   `);
      } else if (m.type === 'done') {
        clearInterval(watchdog);
        resolve();
      }
    });
    worker.on('error', (e) => {
      save(Atomics.load(new Int32Array(current), 0), e.stack ?? String(e));
      clearInterval(watchdog);
      resolve();
    });
  })));
  const seconds = (Date.now() - started) / 1000;
  console.log(`\nfuzz: ${done} inputs (seed ${seed}) in ${seconds.toFixed(0)} s, ${(done / seconds).toFixed(0)} inputs/s, peak worker RSS ${maxRss.toFixed(0)} MiB, ${failures.length} failures`);
  process.exitCode = failures.length ? 1 : 0;
}
