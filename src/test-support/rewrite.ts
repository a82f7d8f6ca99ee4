/**
 * Re-captures a real Ethernet capture in other shapes (link types, IPv6,
 * byte order, resolution, a start in the middle of a stream) so the same
 * real traffic can be cross-checked against tshark in every form we read.
 */
import { readCapture } from '../capture/capture-reader.js';
import { concat, pcapFile, pcapngFile, type PacketIn } from './builders.js';

export type Shape = 'vlan' | 'qinq' | 'sll' | 'sll2' | 'null' | 'raw' | 'ipv6' | 'nanos' | 'big-endian' | 'pcapng-multi';

export async function readPackets(path: string): Promise<PacketIn[]> {
  const out: PacketIn[] = [];
  await readCapture(path, {
    record(r) {
      out.push({ time: r.time, data: r.bytes.slice(r.offset, r.offset + r.capLen), origLen: r.origLen });
    },
  });
  return out;
}

const LINK: Partial<Record<Shape, number>> = { sll: 113, sll2: 276, null: 0, raw: 101 };

export function reshape(packets: PacketIn[], shape: Shape): Uint8Array {
  const map = (f: (eth: Uint8Array) => Uint8Array) => packets.map((p) => {
    const data = f(p.data);
    return { ...p, data, origLen: (p.origLen ?? p.data.length) + data.length - p.data.length };
  });
  switch (shape) {
    case 'vlan':
      return pcapFile(1, map((e) => concat([e.subarray(0, 12), new Uint8Array([0x81, 0, 0, 42]), e.subarray(12)])));
    case 'qinq':
      return pcapFile(1, map((e) => concat([e.subarray(0, 12), new Uint8Array([0x88, 0xa8, 0, 7, 0x81, 0, 0, 42]), e.subarray(12)])));
    case 'sll':
      return pcapFile(113, map((e) => concat([new Uint8Array([0, 4, 0, 1, 0, 6]), e.subarray(6, 12), new Uint8Array([0, 0]), e.subarray(12)])));
    case 'sll2':
      return pcapFile(276, map((e) => concat([e.subarray(12, 14), new Uint8Array([0, 0, 0, 0, 0, 2, 0, 1, 4, 6]), e.subarray(6, 12), new Uint8Array([0, 0]), e.subarray(14)])));
    case 'null':
      return pcapFile(LINK.null!, map((e) => concat([new Uint8Array([e[12] === 0x86 ? 30 : 2, 0, 0, 0]), e.subarray(14)])));
    case 'raw':
      return pcapFile(LINK.raw!, map((e) => e.subarray(14)));
    case 'ipv6':
      return pcapFile(1, map(toIpv6));
    case 'nanos':
      return pcapFile(1, packets, { nanos: true });
    case 'big-endian':
      return pcapFile(1, packets, { bigEndian: true });
    case 'pcapng-multi': {
      // Two sections of opposite byte order, the second with nanosecond timestamps.
      const half = Math.floor(packets.length / 2);
      return pcapngFile([
        { interfaces: [{ linkType: 1 }], packets: packets.slice(0, half), unknownBlock: true },
        { bigEndian: true, interfaces: [{ linkType: 1, tsresol: 9 }], packets: packets.slice(half) },
      ]);
    }
  }
}

/** IPv4 → IPv6 with the addresses mapped into fd00::/96 (TCP checksums are left as they are: tshark does not check them). */
function toIpv6(e: Uint8Array): Uint8Array {
  if (e[12] !== 0x08 || e[13] !== 0x00) return e;
  const ip = e.subarray(14);
  const ihl = (ip[0] & 15) * 4;
  const total = (ip[2] << 8) | ip[3];
  const payload = ip.subarray(ihl, total || ip.length);
  const h = new Uint8Array(40);
  h[0] = 0x60;
  h[4] = payload.length >> 8;
  h[5] = payload.length & 255;
  h[6] = ip[9];
  h[7] = 64;
  h[8] = 0xfd;
  h.set(ip.subarray(12, 16), 20);
  h[24] = 0xfd;
  h.set(ip.subarray(16, 20), 36);
  return concat([e.subarray(0, 12), new Uint8Array([0x86, 0xdd]), h, payload]);
}

/** The capture from frame `first` on: connections already open, streams joined mid-way. */
export function fromFrame(packets: PacketIn[], first: number): Uint8Array {
  return pcapFile(1, packets.slice(first - 1));
}
