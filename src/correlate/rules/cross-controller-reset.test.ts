import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../api/analyze-capture.js';
import { decodeLine } from '../../kernel-log/parse.js';
import { c2hData, capsuleCmd, capsuleResp, identifyController, identifyData, ioCmd } from '../../test-support/builders.js';
import { connectAssociation, Scenario } from '../../test-support/scenario.js';
import { isRetryFinding, type RetryFinding } from '../types.js';

const WRITE = 0x01;
const CCR = 0x38;

async function* once(bytes: Uint8Array) {
  yield bytes;
}

/**
 * Two paths to one subsystem (controller 1 at 10.0.0.2, controller 2 at 10.0.0.3). Path A is cut
 * with a write in flight; the host sends a Cross-Controller Reset for `impacted` on path B, which
 * answers it as given, then retries the write on path B 2 s after A's last contact (KATO 30 s).
 */
async function fencing(answer: { sct?: number; sc?: number; dw0?: number } | undefined, impacted = 1, identifiedCiu?: number): Promise<RetryFinding> {
  const s = new Scenario();
  const a = connectAssociation(s, { ctrl: '10.0.0.2', katoMs: 30000, cntlid: 1 });
  if (identifiedCiu !== undefined) {
    // Controller 1 tells its instance; the CCR below names CIU 7 and CIRN 0x0123456789abcdef.
    a.admin.host(identifyController(0x0a));
    a.admin.ctrl(c2hData(0x0a, 0, identifyData(0, false, 1, { ciu: identifiedCiu, cirn: 0x0123456789abcdefn, ccrl: 4 }), { last: true, success: true }));
  }
  const b = connectAssociation(s, { ctrl: '10.0.0.3', katoMs: 30000, cntlid: 2 });
  s.wait(100);
  a.io[0].host(ioCmd(WRITE, 0x41, 2100, 8)); // into the cut
  s.wait(1000);
  if (answer) {
    b.admin.host(capsuleCmd({ opcode: CCR, cid: 0x30, cdw10: (7 << 16) | impacted, cdw12: 0x89abcdef, cdw13: 0x01234567 }));
    s.wait(200);
    b.admin.ctrl(capsuleResp({ cid: 0x30, ...answer }));
  }
  s.wait(800);
  b.io[0].host(ioCmd(WRITE, 0x50, 2100, 8)).ctrl(capsuleResp({ cid: 0x50 }));
  const r = await analyzeCapture(once(s.pcap()), { name: 'ccr.pcap' });
  const retries = r.findings.filter(isRetryFinding);
  expect(retries).toHaveLength(1);
  return retries[0];
}

describe('Cross-Controller Reset (TP8028) as a fence', () => {
  it('a CCR of the old controller that completed with IRS set, before the retry, fences it: the early retry is safe', async () => {
    const f = await fencing({ dw0: 1 });
    expect(f.ruleId).toBe('retry-after-fence');
    expect(f.severity).toBe('info');
    expect(f.details.fencedBy).toMatchObject({ kind: 'cross-controller-reset' });
    expect(f.details.crossControllerReset).toMatchObject({ outcome: 'reset', fromAssoc: 2, status: 'IRS set' });
    expect(f.frames).toContain(f.details.fencedBy!.frame);
    expect(f.message).toContain('fenced (cross-controller-reset');
  });

  it('a CCR that failed is no fence: the retry before KATO is an error, and the finding says the host fell back to waiting', async () => {
    const f = await fencing({ sct: 0, sc: 0x06 });
    expect(f.ruleId).toBe('retry-before-kato');
    expect(f.severity).toBe('error');
    expect(f.details.fencedBy).toBeNull();
    expect(f.details.crossControllerReset).toMatchObject({ outcome: 'failed', status: 'Internal Error' });
    expect(f.message).toContain('a Cross-Controller Reset of its controller from association 2');
    expect(f.message).toContain('failed (Internal Error): no fence, the host falls back to time-based recovery');
  });

  it('a CCR refused because the limit is reached names the status of base specification 2.3', async () => {
    const f = await fencing({ sct: 1, sc: 0x41 });
    expect(f.ruleId).toBe('retry-before-kato');
    expect(f.details.crossControllerReset).toMatchObject({ outcome: 'failed', status: 'Cross-Controller Reset Limit Exceeded' });
  });

  it('a CCR that completed without IRS (the reset still running) is no fence either', async () => {
    const f = await fencing({ dw0: 0 });
    expect(f.ruleId).toBe('retry-before-kato');
    expect(f.details.crossControllerReset).toMatchObject({ outcome: 'pending' });
    expect(f.message).toContain('completed without resetting it at once (IRS clear)');
  });

  it('the instance Identify reported (CIU, CIRN) must be the one the CCR names: the same one fences, another does not', async () => {
    const same = await fencing({ dw0: 1 }, 1, 7);
    expect(same.ruleId).toBe('retry-after-fence');
    // Controller id 1 again, but a later instance (CIU 8): the reset was for a controller that is gone.
    const stale = await fencing({ dw0: 1 }, 1, 8);
    expect(stale.ruleId).toBe('retry-before-kato');
    expect(stale.details.crossControllerReset).toBeNull();
  });

  it('Identify Controller\'s CIU, CIRN and CCRL are decoded and reported per association', async () => {
    const s = new Scenario();
    const a = connectAssociation(s, { katoMs: 30000, cntlid: 1 });
    a.admin.host(identifyController(0x0a));
    a.admin.ctrl(c2hData(0x0a, 0, identifyData(0, false, 1, { ciu: 0xc3, cirn: 0xfedcba9876543210n, ccrl: 4 }), { last: true, success: true }));
    const r = await analyzeCapture(once(s.pcap()), { name: 'identify.pcap' });
    expect(r.associations[0].instance).toEqual({ ciu: 0xc3, cirn: '0xfedcba9876543210', ccrl: 4 });
  });

  it('a CCR naming another controller fences nothing', async () => {
    const f = await fencing({ dw0: 1 }, 7);
    expect(f.ruleId).toBe('retry-before-kato');
    expect(f.details.fencedBy).toBeNull();
    expect(f.details.crossControllerReset).toBeNull();
  });

  it('without any CCR the verdict is the time-based one', async () => {
    const f = await fencing(undefined);
    expect(f.ruleId).toBe('retry-before-kato');
    expect(f.details.crossControllerReset).toBeNull();
  });
});

describe('kernel log lines of controller fencing', () => {
  it('reads the fencing series of the host', () => {
    expect(decodeLine('nvme nvme0: starting controller fencing')).toMatchObject({ kind: 'fencing-started', device: 'nvme0' });
    expect(decodeLine('nvme nvme0: attempting CCR, timeout 30000ms')).toMatchObject({ kind: 'ccr-attempt', value: 30000 });
    expect(decodeLine('nvme nvme0: CCR succeeded using nvme1')).toMatchObject({ kind: 'ccr-succeeded' });
    expect(decodeLine('nvme nvme0: CCR failed, switch to time-based recovery, timeout = 60000ms')).toMatchObject({ kind: 'ccr-failed', value: 60000 });
    expect(decodeLine('nvme nvme0: Time-based recovery finished')).toMatchObject({ kind: 'time-based-recovery-finished' });
  });
});
