import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/api/analyze-capture.js';
import { listPdus } from '../src/api/list-pdus.js';
import type { Finding } from '../src/correlate/types.js';
import type { PduEvent } from '../src/nvme-tcp/types.js';
import { capsuleResp, ioCmd } from '../src/test-support/builders.js';
import { connectAssociation, Scenario } from '../src/test-support/scenario.js';
import { tlsScenario, type TlsOptions } from '../src/test-support/tls-scenario.js';

const WRITE = 0x01;
const dir = mkdtempSync(join(tmpdir(), 'tls-test-'));
let n = 0;

/** A write acknowledged on association 1, the host resets the queue, and retries it 1 s later on association 2: before KATO. */
function earlyRetry(s: Scenario): void {
  const a1 = connectAssociation(s, { katoMs: 30000, cntlid: 1 });
  const io = a1.io[0];
  io.host(ioCmd(WRITE, 0x41, 2100, 8));
  io.ack(false);
  s.wait(3000);
  io.fin(true).rst(true);
  a1.admin.fin(true).rst(true);
  s.wait(1000);
  const a2 = connectAssociation(s, { katoMs: 30000, cntlid: 2 });
  a2.io[0].host(ioCmd(WRITE, 0x10, 2100, 8));
  a2.io[0].ctrl(capsuleResp({ cid: 0x10 }));
}

async function files(build: (s: Scenario) => void, options: TlsOptions = {}) {
  const { scenario, keyLog } = await tlsScenario(build, options);
  const base = join(dir, `c${n++}`);
  writeFileSync(`${base}.pcap`, scenario.pcap());
  writeFileSync(`${base}.keys`, keyLog);
  return { capture: `${base}.pcap`, keys: `${base}.keys` };
}

function plain(build: (s: Scenario) => void): string {
  const s = new Scenario();
  build(s);
  const file = join(dir, `p${n++}.pcap`);
  writeFileSync(file, s.pcap());
  return file;
}

/** A finding without what depends on the packets around it (frame numbers, times). */
function shape(f: Finding) {
  return { ruleId: f.ruleId, severity: f.severity, assoc: f.assoc, qid: f.qid, cid: f.cid };
}

describe('NVMe/TCP over TLS 1.3', () => {
  it('a retry-before-KATO story over TLS gives the findings it gives in plain text', async () => {
    const tls = await files(earlyRetry);
    const report = await analyzeCapture(tls.capture, { tlsKeylogs: [tls.keys] });
    const clear = await analyzeCapture(plain(earlyRetry));
    expect(report.findings.map(shape)).toEqual(clear.findings.map(shape));
    expect(report.findings.map((f) => f.ruleId)).toContain('retry-before-kato');
  });
});
