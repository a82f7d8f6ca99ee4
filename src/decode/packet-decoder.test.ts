import { describe, expect, it } from 'vitest';
import type { CaptureRecord } from '../capture/types.js';
import { F, frame, ipPacket, LINK_TYPE, type LinkKind } from '../test-support/builders.js';
import { PacketDecoder } from './packet-decoder.js';
import { formatAddress, type TcpSegment } from './types.js';

function decode(linkType: number, data: Uint8Array, origLen = data.length) {
  const seen: (Omit<TcpSegment, 'bytes'> & { payload: number[]; srcText: string; dstText: string })[] = [];
  const d = new PacketDecoder({
    segment(s) {
      const { bytes, ...rest } = s;
      seen.push({
        ...rest, payload: [...bytes.subarray(s.payloadOffset, s.payloadOffset + s.payloadLength)],
        srcText: formatAddress(s.ipVersion, s.src0, s.src1, s.src2, s.src3), dstText: formatAddress(s.ipVersion, s.dst0, s.dst1, s.dst2, s.dst3),
      });
    },
  });
  const r: CaptureRecord = { frame: 7, time: 1.5, linkType, bytes: data, offset: 0, capLen: data.length, origLen, fileOffset: 0 };
  d.record(r);
  return { seen, stats: d.stats };
}

const v4 = { src: '10.0.1.1', dst: '10.0.2.1', sport: 50000, dport: 4420, seq: 0xfffffff0, ack: 77, flags: F.ACK | F.PSH, payload: new Uint8Array([1, 2, 3, 4]) };
const v6 = { ...v4, src: 'fd00:1::1', dst: 'fd00:2::1' };

describe('packet decode', () => {
  const links: LinkKind[] = ['ethernet', 'vlan', 'qinq', 'sll', 'sll2', 'null', 'raw'];
  for (const link of links) {
    for (const tcp of [v4, v6]) {
      it(`finds TCP in ${link} / IPv${tcp === v4 ? 4 : 6}`, () => {
        const { seen, stats } = decode(LINK_TYPE[link], frame(link, ipPacket(tcp)));
        expect(stats.tcpSegments).toBe(1);
        expect(seen[0]).toMatchObject({
          frame: 7, time: 1.5, srcText: tcp.src, dstText: tcp.dst, srcPort: 50000, dstPort: 4420, seq: 0xfffffff0, ack: 77,
          flags: F.ACK | F.PSH, payload: [1, 2, 3, 4], payloadMissing: 0,
        });
      });
    }
  }

  it('walks IPv6 extension headers', () => {
    const { seen } = decode(1, frame('ethernet', ipPacket(v6, { extensionHeader: true })));
    expect(seen[0].payload).toEqual([1, 2, 3, 4]);
  });

  it('ignores Ethernet padding after the datagram', () => {
    const padded = new Uint8Array([...frame('ethernet', ipPacket({ ...v4, payload: new Uint8Array(0) })), 0, 0, 0, 0, 0, 0]);
    const { seen } = decode(1, padded);
    expect(seen[0].payloadLength).toBe(0);
  });

  it('counts payload cut by the snapshot length as missing', () => {
    const full = frame('ethernet', ipPacket({ ...v4, payload: new Uint8Array(100) }));
    const { seen, stats } = decode(1, full.subarray(0, 64), full.length);
    expect(seen[0].payloadLength).toBe(64 - 54);
    expect(seen[0].payloadMissing).toBe(100 - 10);
    expect(stats.truncatedFrames).toBe(1);
  });

  it('counts what is not TCP', () => {
    const udp = ipPacket(v4);
    udp[9] = 17;
    expect(decode(1, frame('ethernet', udp)).stats.nonTcp).toBe(1);
    const arp = frame('ethernet', ipPacket(v4));
    arp[12] = 0x08;
    arp[13] = 0x06;
    expect(decode(1, arp).stats.nonIp).toBe(1);
    expect(decode(147, new Uint8Array(10)).stats.unsupportedLinkTypes).toEqual({ 147: 1 });
    expect(decode(1, new Uint8Array(5)).stats.malformed).toBe(1);
  });

  it('formats IPv6 addresses the RFC 5952 way', () => {
    expect(formatAddress(6, 0xfd000001, 0, 0, 1)).toBe('fd00:1::1');
    expect(formatAddress(6, 0, 0, 0, 1)).toBe('::1');
    expect(formatAddress(4, 0, 0, 0, 0x0a000101)).toBe('10.0.1.1');
  });
});
