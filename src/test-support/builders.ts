/**
 * Byte builders for every wire format the pipeline reads, for tests and the
 * benchmark generator. Little helpers, no validation: they build exactly what
 * they are told, including broken things.
 */
import { ByteWriter, putU32 } from '../common/bytes.js';
import { crc32c } from '../nvme-tcp/crc32c.js';

export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The project's one byte writer; little-endian unless told. */
const Writer = ByteWriter;

// ---------------- capture files ----------------

export interface PacketIn {
  time: number;
  data: Uint8Array;
  origLen?: number;
  /** pcapng interface index. */
  iface?: number;
  /** Twin captures (twins.ts): who sent it, and whether the link between the capture points dropped it or the host-side capture missed it. */
  fromHost?: boolean;
  cut?: boolean;
  hostMissed?: boolean;
}

export function pcapFile(linkType: number, packets: PacketIn[], opts: { bigEndian?: boolean; nanos?: boolean; snaplen?: number } = {}): Uint8Array {
  const le = !opts.bigEndian;
  const w = new Writer(1024);
  w.u32(opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4, le).u16(2, le).u16(4, le).u32(0, le).u32(0, le).u32(opts.snaplen ?? 262144, le).u32(linkType, le);
  for (const p of packets) {
    const sec = Math.floor(p.time);
    const frac = Math.round((p.time - sec) * (opts.nanos ? 1e9 : 1e6));
    w.u32(sec, le).u32(frac, le).u32(p.data.length, le).u32(p.origLen ?? p.data.length, le).bytes(p.data);
  }
  return w.done();
}

export interface PcapngInterface {
  linkType: number;
  /** if_tsresol byte; default 6 (microseconds). */
  tsresol?: number;
}

export interface PcapngSection {
  bigEndian?: boolean;
  interfaces: PcapngInterface[];
  packets: (PacketIn & { simple?: boolean })[];
  /** Insert a block of an unknown type before the packets. */
  unknownBlock?: boolean;
}

export function pcapngFile(sections: PcapngSection[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const s of sections) {
    const le = !s.bigEndian;
    const block = (type: number, body: Uint8Array) => {
      const total = 12 + body.length + ((4 - (body.length % 4)) % 4);
      parts.push(new Writer().u32(type, le).u32(total, le).bytes(body).pad4().u32(total, le).done());
    };
    block(0x0a0d0d0a, new Writer().u32(0x1a2b3c4d, le).u16(1, le).u16(0, le).u64(2 ** 53 - 1, le).done().map((b, i) => (i >= 8 ? 0xff : b)));
    for (const iface of s.interfaces) {
      const w = new Writer().u16(iface.linkType, le).u16(0, le).u32(262144, le);
      if (iface.tsresol !== undefined) w.u16(9, le).u16(1, le).u8(iface.tsresol).zeros(3);
      w.u16(0, le).u16(0, le);
      block(1, w.done());
    }
    if (s.unknownBlock) block(0x0badf00d, new Uint8Array([1, 2, 3, 4, 5]));
    for (const p of s.packets) {
      if (p.simple) {
        block(3, new Writer().u32(p.origLen ?? p.data.length, le).bytes(p.data).done());
        continue;
      }
      const res = s.interfaces[p.iface ?? 0].tsresol ?? 6;
      const units = res & 0x80 ? 2 ** (res & 0x7f) : 10 ** res;
      const sec = Math.floor(p.time);
      const ts = BigInt(sec) * BigInt(units) + BigInt(Math.round((p.time - sec) * units));
      block(6, new Writer().u32(p.iface ?? 0, le).u32(Number(ts >> 32n), le).u32(Number(ts & 0xffffffffn), le)
        .u32(p.data.length, le).u32(p.origLen ?? p.data.length, le).bytes(p.data).pad4().done());
    }
  }
  return concat(parts);
}

// ---------------- link and network layers ----------------

export type Address = string;

function ipv4Bytes(a: string): number[] {
  return a.split('.').map(Number);
}

function ipv6Bytes(a: string): number[] {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const v = parseInt(g, 16);
    return [v >> 8, v & 255];
  });
}

export interface TcpHeaderIn {
  src: Address;
  dst: Address;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  payload?: Uint8Array;
}

export const F = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 } as const;

export function tcpSegment(t: TcpHeaderIn): Uint8Array {
  return new Writer().u16(t.sport, false).u16(t.dport, false).u32(t.seq, false).u32(t.ack, false)
    .u8(5 << 4).u8(t.flags).u16(65535, false).u16(0, false).u16(0, false).bytes(t.payload ?? new Uint8Array(0)).done();
}

export function ipPacket(t: TcpHeaderIn, opts: { extensionHeader?: boolean } = {}): Uint8Array {
  const tcp = tcpSegment(t);
  if (t.src.includes(':')) {
    const ext = opts.extensionHeader ? new Uint8Array([6, 0, 1, 4, 0, 0, 0, 0]) : new Uint8Array(0); // hop-by-hop, PadN
    return new Writer().u32(0x60000000, false).u16(tcp.length + ext.length, false).u8(opts.extensionHeader ? 0 : 6).u8(64)
      .bytes(new Uint8Array(ipv6Bytes(t.src))).bytes(new Uint8Array(ipv6Bytes(t.dst))).bytes(ext).bytes(tcp).done();
  }
  return new Writer().u8(0x45).u8(0).u16(20 + tcp.length, false).u16(0, false).u16(0x4000, false).u8(64).u8(6).u16(0, false)
    .bytes(new Uint8Array(ipv4Bytes(t.src))).bytes(new Uint8Array(ipv4Bytes(t.dst))).bytes(tcp).done();
}

export type LinkKind = 'ethernet' | 'vlan' | 'qinq' | 'sll' | 'sll2' | 'null' | 'raw';

export const LINK_TYPE: Record<LinkKind, number> = { ethernet: 1, vlan: 1, qinq: 1, sll: 113, sll2: 276, null: 0, raw: 101 };

/** Wraps an IP packet in the given link layer. */
export function frame(link: LinkKind, ip: Uint8Array): Uint8Array {
  const v6 = ip[0] >> 4 === 6;
  const etherType = v6 ? 0x86dd : 0x0800;
  const mac = new Uint8Array([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
  switch (link) {
    case 'ethernet':
      return new Writer().bytes(mac).u16(etherType, false).bytes(ip).done();
    case 'vlan':
      return new Writer().bytes(mac).u16(0x8100, false).u16(100, false).u16(etherType, false).bytes(ip).done();
    case 'qinq':
      return new Writer().bytes(mac).u16(0x88a8, false).u16(10, false).u16(0x8100, false).u16(20, false).u16(etherType, false).bytes(ip).done();
    case 'sll':
      return new Writer().u16(0, false).u16(1, false).u16(6, false).bytes(mac.subarray(0, 8)).u16(etherType, false).bytes(ip).done();
    case 'sll2':
      return new Writer().u16(etherType, false).u16(0, false).u32(2, false).u16(1, false).u8(0).u8(6).bytes(mac.subarray(0, 8)).bytes(ip).done();
    case 'null':
      return new Writer().u32(v6 ? 30 : 2, true).bytes(ip).done();
    case 'raw':
      return ip;
  }
}

// ---------------- NVMe/TCP PDUs ----------------

export interface PduOpts {
  flags?: number;
  hdgst?: boolean;
  ddgst?: boolean;
}

function pdu(type: number, hlen: number, header: Uint8Array, data: Uint8Array | undefined, o: PduOpts & { pdo?: number } = {}): Uint8Array {
  const hd = o.hdgst ? 4 : 0;
  const dd = o.ddgst && data && data.length ? 4 : 0;
  const flags = (o.flags ?? 0) | (o.hdgst ? 1 : 0) | (dd ? 2 : 0);
  const dataLen = data?.length ?? 0;
  const pdo = dataLen ? o.pdo ?? hlen + hd : 0;
  const plen = dataLen ? pdo + dataLen + dd : hlen + hd;
  const h = new Writer().u8(type).u8(flags).u8(hlen).u8(pdo).u32(plen).bytes(header);
  h.zeros(hlen - h.length);
  const head = h.done();
  const parts = [head];
  if (hd) parts.push(new Writer().u32(crc32c(head)).done());
  if (dataLen) {
    parts.push(new Uint8Array(pdo - hlen - hd));
    parts.push(data!);
    if (dd) parts.push(new Writer().u32(crc32c(data!)).done());
  }
  return concat(parts);
}

export function icReq(o: { hdgst?: boolean; ddgst?: boolean } = {}): Uint8Array {
  return pdu(0, 128, new Writer().u16(0).u8(0).u8((o.hdgst ? 1 : 0) | (o.ddgst ? 2 : 0)).u32(0).done(), undefined);
}

export function icResp(o: { hdgst?: boolean; ddgst?: boolean } = {}): Uint8Array {
  return pdu(1, 128, new Writer().u16(0).u8(0).u8((o.hdgst ? 1 : 0) | (o.ddgst ? 2 : 0)).u32(131072).done(), undefined);
}

export interface SqeIn {
  opcode: number;
  cid: number;
  nsid?: number;
  fctype?: number;
  cdw10?: number;
  cdw11?: number;
  cdw12?: number;
  cdw13?: number;
  dataLength?: number;
}

export function sqe(s: SqeIn): Uint8Array {
  const w = new Writer().u8(s.opcode).u8(0x40).u16(s.cid);
  if (s.fctype !== undefined) w.u8(s.fctype).zeros(3);
  else w.u32(s.nsid ?? 0);
  w.zeros(24 - w.length).zeros(8).u32(s.dataLength ?? 0).zeros(3).u8(0x01);
  w.u32(s.cdw10 ?? 0).u32(s.cdw11 ?? 0).u32(s.cdw12 ?? 0).u32(s.cdw13 ?? 0).zeros(8);
  return w.done();
}

export function capsuleCmd(s: SqeIn, data?: Uint8Array, o: PduOpts = {}): Uint8Array {
  return pdu(4, 72, sqe(s), data, o);
}

export function capsuleResp(c: { cid: number; sct?: number; sc?: number; dnr?: boolean; dw0?: number; sqhd?: number }, o: PduOpts = {}): Uint8Array {
  const status = ((c.sc ?? 0) << 1) | ((c.sct ?? 0) << 9) | (c.dnr ? 0x8000 : 0);
  return pdu(5, 24, new Writer().u32(c.dw0 ?? 0).u32(0).u16(c.sqhd ?? 0).u16(0).u16(c.cid).u16(status).done(), undefined, o);
}

export function c2hData(cid: number, datao: number, data: Uint8Array, o: PduOpts & { last?: boolean; success?: boolean } = {}): Uint8Array {
  const flags = (o.flags ?? 0) | (o.last ?? true ? 4 : 0) | (o.success ? 8 : 0);
  return pdu(7, 24, new Writer().u16(cid).u16(0).u32(datao).u32(data.length).done(), data, { ...o, flags });
}

export function h2cData(cid: number, ttag: number, datao: number, data: Uint8Array, o: PduOpts & { last?: boolean } = {}): Uint8Array {
  const flags = (o.flags ?? 0) | (o.last ?? true ? 4 : 0);
  return pdu(6, 24, new Writer().u16(cid).u16(ttag).u32(datao).u32(data.length).done(), data, { ...o, flags });
}

export function r2t(cid: number, ttag: number, offset: number, length: number, o: PduOpts = {}): Uint8Array {
  return pdu(9, 24, new Writer().u16(cid).u16(ttag).u32(offset).u32(length).done(), undefined, o);
}

export function termReq(fromHost: boolean, fes: number): Uint8Array {
  return pdu(fromHost ? 2 : 3, 24, new Writer().u16(fes).u32(0).done(), undefined);
}

/** Fabrics Connect command with its 1024-byte data. */
export function connectCmd(cid: number, qid: number, katoMs: number, hostnqn: string, subnqn: string, cntlid = 0xffff): Uint8Array {
  const data = new Uint8Array(1024);
  data[16] = cntlid & 255;
  data[17] = cntlid >> 8;
  data.set(new TextEncoder().encode(subnqn), 256);
  data.set(new TextEncoder().encode(hostnqn), 512);
  return capsuleCmd({ opcode: 0x7f, cid, fctype: 1, cdw10: qid << 16, cdw11: 31, cdw12: katoMs, dataLength: 1024 }, data);
}

export function propertySetCC(cid: number, value: number): Uint8Array {
  return capsuleCmd({ opcode: 0x7f, cid, fctype: 0, cdw10: 0, cdw11: 0x14, cdw12: value });
}

export function ioCmd(opcode: number, cid: number, slba: number, nlb: number, nsid = 1): Uint8Array {
  return capsuleCmd({ opcode, cid, nsid, cdw10: slba >>> 0, cdw11: Math.floor(slba / 4294967296), cdw12: nlb - 1, dataLength: nlb * 512 });
}

export function identifyController(cid: number): Uint8Array {
  return capsuleCmd({ opcode: 0x06, cid, cdw10: 1, dataLength: 4096 });
}

/** Identify Controller data; `instance`: the TP8028 fields CIU (byte 135), CIRN (143:136, little-endian) and CCRL (1807). */
export function identifyData(cqtMs: number, tbkas: boolean, cntlid = 1, instance?: { ciu: number; cirn: bigint; ccrl: number }): Uint8Array {
  const d = new Uint8Array(4096);
  d[78] = cntlid & 255;
  d[79] = cntlid >> 8;
  if (tbkas) d[96] = 1 << 6;
  d[386] = cqtMs & 255;
  d[387] = cqtMs >> 8;
  if (instance) {
    d[135] = instance.ciu;
    putU32(d, 136, Number(instance.cirn & 0xffffffffn), true);
    putU32(d, 140, Number(instance.cirn >> 32n), true);
    d[1807] = instance.ccrl;
  }
  return d;
}
