import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../src/api/analyze-capture.js';
import { renderText } from '../src/report/text-report.js';
import { capsuleResp, ioCmd } from '../src/test-support/builders.js';
import { connectAssociation, Scenario } from '../src/test-support/scenario.js';

const WRITE = 0x01;

async function* once(bytes: Uint8Array) {
  yield bytes;
}

/** Every number under a key that names a duration (…Ms), with where it is. */
function durations(value: unknown, at = '$'): [string, number][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => durations(v, `${at}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => (typeof v === 'number' && /Ms$/.test(k) ? [[`${at}.${k}`, v] as [string, number]] : durations(v, `${at}.${k}`)));
  }
  return [];
}

describe('association headers say what the host could have seen', () => {
  it('completions that reach a queue the host had closed are listed apart, not as the last contact; no duration is negative', async () => {
    const s = new Scenario();
    const a1 = connectAssociation(s, { katoMs: 30000, cntlid: 1 });
    const io = a1.io[0];
    io.host(ioCmd(WRITE, 0x10, 100, 8)).ctrl(capsuleResp({ cid: 0x10 }));
    const lastSeen = s.packets.length;
    s.wait(100);
    io.host(ioCmd(WRITE, 0x11, 2100, 8)).host(ioCmd(WRITE, 0x12, 2200, 8)); // into the cut
    s.wait(3000);
    const hostFin = io.nextFrame;
    io.fin(true);
    a1.admin.fin(true);
    s.wait(2000);
    const a2 = connectAssociation(s, { katoMs: 30000, cntlid: 2 });
    a2.io[0].host(ioCmd(WRITE, 0x20, 2100, 8)).host(ioCmd(WRITE, 0x21, 2200, 8));
    s.wait(1500);
    // The link is back: the old controller's completions arrive on the queue the host closed.
    const late = io.nextFrame;
    io.ctrl(capsuleResp({ cid: 0x11 })).ctrl(capsuleResp({ cid: 0x12 }));
    a2.io[0].ctrl(capsuleResp({ cid: 0x20 })).ctrl(capsuleResp({ cid: 0x21 }));
    const r = await analyzeCapture(once(s.pcap()), { name: 'late.pcap' });

    const first = r.associations.find((a) => a.id === 1)!;
    expect(first.lastControllerContact!.frame).toBe(lastSeen);
    expect(first.lastControllerContact!.frame).toBeLessThan(hostFin);
    expect(first.controllerAfterHostClose).toMatchObject({ pdus: 2, firstFrame: late, lastFrame: late + 1 });
    expect(r.associations.find((a) => a.id === 2)!.controllerAfterHostClose).toBeNull();
    const episode = r.recovery.episodes.find((e) => e.endedAssoc === 1)!;
    expect(episode.lastControllerContact!.frame).toBe(lastSeen);
    expect(episode.restoredAfterMs).toBeGreaterThan(5000);
    // The controller was still alive when the completions left: the duplicate execution is still found.
    expect(r.findings.filter((f) => f.ruleId === 'duplicate-execution')).toHaveLength(2);

    const negative = durations(r).filter(([, v]) => v < 0);
    expect(negative).toEqual([]);
    const text = renderText(r, { color: false, width: 120 });
    expect(text).toContain(`after the host closed: the controller still sent 2 PDUs (frames ${late}–${late + 1}`);
    expect(text).not.toMatch(/-\d+\.\d+ ?s\b/);
  });
});
