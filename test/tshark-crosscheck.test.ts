import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromFrame, readPackets, reshape, type Shape } from '../src/test-support/rewrite.js';
import { differences, disagreements, ourPdus, tsharkAvailable, tsharkPdus } from './tshark.js';
import { c2hData, capsuleResp, ioCmd, r2t } from '../src/test-support/builders.js';
import { connectAssociation, Scenario } from '../src/test-support/scenario.js';

/**
 * Our PDU decode must agree with tshark's, frame by frame (types in order and
 * the CIDs), on every real capture and on the same traffic in every shape we
 * read. tshark is required: CI installs it (.ci/run).
 */
const fixtures = join(__dirname, '..', 'fixtures');
const captures = readdirSync(fixtures).filter((f) => f.endsWith('.pcap')).sort();
const dir = mkdtempSync(join(tmpdir(), 'nvme-tcp-timeline-'));

beforeAll(() => {
  if (!tsharkAvailable()) throw new Error('tshark is not installed: `apt-get install -y tshark` (CI does this in .ci/run)');
});

async function expectSame(path: string) {
  const diff = differences(await ourPdus(path), tsharkPdus(path));
  expect(diff, path).toEqual([]);
}

describe('PDUs agree with tshark', () => {
  it('covers every shared capture', () => {
    expect(captures).toEqual(['clean-io.pcap', 'ctrl-reset.pcap', 'digest.pcap', 'early-retry.pcap', 'kato-expiry-link-cut.pcap', 'large-io.pcap', 'target-port-removed.pcap']);
  });

  for (const name of captures) {
    it(`${name} as captured`, async () => {
      const path = join(fixtures, name);
      const theirs = tsharkPdus(path);
      expect(theirs.size).toBeGreaterThan(50);
      // large-io.pcap lost bytes in the capture: tshark cannot reassemble that PDU and shows nothing; we list it only with --include-incomplete.
      expect(differences(await ourPdus(path), theirs)).toEqual([]);
    });

    it(`${name} converted to pcapng by editcap, and gzip-compressed`, async () => {
      const ng = join(dir, `${name}ng`);
      execFileSync('editcap', ['-F', 'pcapng', join(fixtures, name), ng]);
      await expectSame(ng);
      const gz = join(dir, `${name}.gz`);
      writeFileSync(gz, gzipSync(readFileSync(join(fixtures, name))));
      expect(await ourPdus(gz)).toEqual(await ourPdus(join(fixtures, name)));
    });
  }

  it('PDUs the controller sends after the host\'s FIN and RST (a one-sided reset) are listed as tshark lists them', async () => {
    const s = new Scenario();
    const a1 = connectAssociation(s, { katoMs: 30000, cntlid: 1 });
    const io = a1.io[0];
    io.host(ioCmd(1, 0x41, 2100, 8)).host(ioCmd(2, 0x42, 2200, 8)).ack(false);
    s.wait(3000);
    io.fin(true).rst(true);
    s.wait(100);
    const after = io.nextFrame;
    io.ctrl(capsuleResp({ cid: 0x41 })).ctrl(r2t(0x41, 1, 0, 4096)).ctrl(c2hData(0x42, 0, new Uint8Array(4096), { success: true }));
    const path = join(dir, 'after-reset.pcap');
    writeFileSync(path, s.pcap());
    const theirs = tsharkPdus(path);
    expect([...theirs].filter(([f]) => f >= after).map(([, v]) => v)).toEqual(['5|65', '9|65', '7|66']);
    expect(differences(await ourPdus(path), theirs)).toEqual([]);
  });

  const shapes: Shape[] = ['vlan', 'qinq', 'sll', 'sll2', 'null', 'raw', 'ipv6', 'nanos', 'big-endian', 'pcapng-multi'];
  for (const name of ['early-retry.pcap', 'digest.pcap', 'large-io.pcap']) {
    for (const shape of shapes) {
      it(`${name} re-captured as ${shape}`, async () => {
        const path = join(dir, `${name}.${shape}`);
        writeFileSync(path, reshape(await readPackets(join(fixtures, name)), shape));
        await expectSame(path);
      });
    }
  }

  // Packets cut by the snapshot length: tshark still dissects what each packet holds; so do we.
  for (const [name, snap] of [['early-retry.pcap', 128], ['digest.pcap', 100], ['ctrl-reset.pcap', 160], ['large-io.pcap', 128]] as const) {
    it(`${name} cut to ${snap} bytes per packet (editcap -s ${snap})`, async () => {
      const path = join(dir, `${name}.s${snap}`);
      execFileSync('editcap', ['-s', String(snap), join(fixtures, name), path]);
      // Exact, except that tshark drops CIDs where the cut hid the ICResp's digest settings or a command.
      expect(disagreements(await ourPdus(path), tsharkPdus(path), false)).toEqual([]);
    });
  }

  // A capture that starts in the middle of connections (no SYN, no ICReq, no Connect).
  // tshark 4.0 cannot dissect commands of a queue whose Connect it never saw, so it
  // shows fewer PDUs and no CIDs for responses; everything it does show, we show alike.
  for (const [name, first] of [['large-io.pcap', 300], ['large-io.pcap', 391], ['early-retry.pcap', 50], ['ctrl-reset.pcap', 333]] as const) {
    it(`${name} from frame ${first} (joined mid-stream)`, async () => {
      const path = join(dir, `${name}.from${first}`);
      writeFileSync(path, fromFrame(await readPackets(join(fixtures, name)), first));
      const ours = await ourPdus(path);
      const theirs = tsharkPdus(path);
      expect(theirs.size).toBeGreaterThan(3);
      expect(disagreements(ours, theirs, true)).toEqual([]);
      // And we find PDUs from the first complete one on: nothing is invented in the first partial bytes.
      expect(ours.size).toBeGreaterThanOrEqual(theirs.size);
    });
  }
});
