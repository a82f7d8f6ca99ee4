import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/api/analyze-capture.js';
import { schemaErrors } from './schema-validate.js';
import { isFindingOf, isRetryFinding } from '../src/correlate/types.js';

/**
 * Golden reports for the real captures: the whole JSON must stay byte-equal
 * (regenerate with `node scripts/update-golden.mjs` and read the diff), and
 * each capture's verdict is also asserted on its own so a regenerated golden
 * cannot quietly change what the tool concludes.
 */
const fixtures = join(__dirname, '..', 'fixtures');
const names = readdirSync(fixtures).filter((f) => f.endsWith('.pcap')).sort();

async function report(name: string) {
  return analyzeCapture(`fixtures/${name}`);
}

describe('golden reports', () => {
  for (const name of names) {
    it(`${name}: matches fixtures/golden and the JSON Schema`, async () => {
      const r = await report(name);
      const json = JSON.stringify(r, null, 2) + '\n';
      expect(json).toBe(readFileSync(join(fixtures, 'golden', name.replace('.pcap', '.json')), 'utf8'));
      expect(schemaErrors(JSON.parse(json))).toEqual([]);
    });
  }

  it('the schema checks each rule\'s details: a retry without its evidence, or with a keep-alive\'s details, is refused', async () => {
    const r = JSON.parse(JSON.stringify(await report('early-retry.pcap')));
    const retry = r.findings.find((f: { ruleId: string }) => f.ruleId === 'retry-before-kato');
    delete retry.details.evidence;
    expect(schemaErrors(r).join('\n')).toMatch(/evidence/);
    retry.details = { silentMs: 1, katoMs: 1, katoSource: 'connect', lastControllerContactFrame: 1, untilFrame: 2, keepAlivesUnanswered: 0 };
    expect(schemaErrors(r)).not.toEqual([]);
  });

  it('early-retry.pcap: exactly two retries before KATO, the write an error, the read a warning, about 9.2 s after the last controller contact', async () => {
    const r = await report('early-retry.pcap');
    const early = r.findings.filter(isRetryFinding).filter((f) => f.ruleId === 'retry-before-kato');
    expect(early.map((f) => [f.severity, f.details.opcode, f.details.originalFrame, f.details.retryFrame, f.details.arrival])).toEqual([
      ['warning', 'Read', 112, 161, null], ['error', 'Write', 111, 161, null],
    ]);
    for (const f of early) {
      expect(f.details).toMatchObject({ katoMs: 30000, katoSource: 'connect', requiredMs: 30000, fencedBy: null });
      expect(f.details.gapMs).toBeGreaterThan(9100);
      expect(f.details.gapMs).toBeLessThan(9300);
      // Both were sent into the cut after the last controller packet (109), then the host closed, then retried.
      expect(f.details.evidence.map((e) => [e.step, e.frame])).toEqual([
        ['last-controller-contact', 109], ['original-sent', f.details.originalFrame], ['teardown', 118], ['retry', 161],
      ]);
    }
    expect(r.findings.filter((f) => f.ruleId.startsWith('retry')).length).toBe(2);
  });

  it('kato-expiry-link-cut.pcap: two retries after KATO (info), none before, and the keep-alive timeout of the cut', async () => {
    const r = await report('kato-expiry-link-cut.pcap');
    expect(r.findings.filter(isRetryFinding).map((f) => [f.ruleId, f.severity, f.details.retryFrame])).toEqual([
      ['retry-after-kato', 'info', 166], ['retry-after-kato', 'info', 167],
    ]);
    const kat = r.findings.filter((f) => f.ruleId === 'keep-alive-timeout');
    expect(kat).toHaveLength(1);
    expect(kat[0].details).toMatchObject({ katoMs: 3000 });
  });

  it('the other captures have no retry before KATO, and clean ones no findings at all', async () => {
    for (const name of ['clean-io.pcap', 'ctrl-reset.pcap', 'digest.pcap', 'target-port-removed.pcap', 'large-io.pcap']) {
      const r = await report(name);
      expect(r.findings.filter((f) => f.ruleId === 'retry-before-kato'), name).toEqual([]);
    }
    for (const name of ['clean-io.pcap', 'ctrl-reset.pcap', 'digest.pcap', 'target-port-removed.pcap']) {
      expect((await report(name)).findings, name).toEqual([]);
    }
  });

  it('digest.pcap: digests negotiated and every one verified', async () => {
    const r = await report('digest.pcap');
    expect(r.findings.filter((f) => f.ruleId === 'digest-mismatch')).toEqual([]);
    expect(r.summary.pdus).toBeGreaterThan(100);
  });

  it('target-port-removed.pcap: refused reconnects are listed as connections that never became queues', async () => {
    const r = await report('target-port-removed.pcap');
    const refused = r.unassociatedConnections.filter((q) => q.teardown.some((e) => e.from === 'controller' && e.kind === 'rst'));
    expect(refused).toHaveLength(5);
    expect(r.associations).toHaveLength(2);
  });

  it('large-io.pcap: two I/O queues, the capture gap found and the command it hides undecidable', async () => {
    const r = await report('large-io.pcap');
    expect(r.associations[0].queues.map((q) => q.qid)).toEqual([0, 1, 2]);
    expect(r.findings.map((f) => f.ruleId).sort()).toEqual(['capture-gap', 'unanswered-command']);
    expect(r.findings.find(isFindingOf('unanswered-command'))!.details.outcome).toBe('undecidable');
  });

  it('ctrl-reset.pcap: the reset fences the old association (CC.EN=0 acknowledged) and nothing is left unanswered', async () => {
    const r = await report('ctrl-reset.pcap');
    expect(r.associations).toHaveLength(2);
    expect(r.associations[0].fencedBy?.kind).toBe('cc-disable');
    expect(r.findings.filter((f) => f.ruleId === 'unanswered-command')).toEqual([]);
  });
});
