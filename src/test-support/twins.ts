/**
 * Twin captures from one scripted conversation: what a capture on the host's interface and one on
 * the target's saw of the same traffic. The scenario is written as the host sees it (its clock,
 * its send and receive times); the target's capture sees the host's packets `delayS` later and
 * its own `delayS` earlier, on a clock `offsetS` ahead. Packets sent while the scenario's `cut`
 * was set never reach the other side; those sent while `hostCaptureMisses` was set are missing
 * from the host's capture only.
 */
import { putU16, putU32, u16be, u32be, u32le } from '../common/bytes.js';
import { capsuleResp, ioCmd, LINK_TYPE, pcapFile, type PacketIn } from './builders.js';
import { connectAssociation, Scenario } from './scenario.js';

const WRITE = 0x01;
const READ = 0x02;

export interface TwinOptions {
  /** Target clock minus host clock, seconds. */
  offsetS?: number;
  /** One-way delay between the capture points, seconds. */
  delayS?: number;
  /** The target-side capture runs only from/to these many seconds after the scenario's first packet (host clock). */
  targetFrom?: number;
  targetTo?: number;
}

export function twinCaptures(s: Scenario, o: TwinOptions = {}): { host: Uint8Array; target: Uint8Array } {
  const offset = o.offsetS ?? 0;
  const delay = o.delayS ?? 0.00015;
  const host: PacketIn[] = [];
  const target: PacketIn[] = [];
  for (const p of s.packets) {
    const fromHost = p.fromHost ?? true;
    if (fromHost) {
      if (!p.hostMissed) host.push({ time: p.time, data: p.data, origLen: p.origLen });
      if (!p.cut) target.push({ time: p.time + delay + offset, data: p.data, origLen: p.origLen });
    } else {
      target.push({ time: p.time - delay + offset, data: p.data, origLen: p.origLen });
      if (!p.cut && !p.hostMissed) host.push({ time: p.time, data: p.data, origLen: p.origLen });
    }
  }
  const byTime = (a: PacketIn, b: PacketIn) => a.time - b.time;
  host.sort(byTime);
  target.sort(byTime);
  const t0 = s.packets[0]?.time ?? 0;
  const from = t0 + (o.targetFrom ?? -Infinity) + offset;
  const to = t0 + (o.targetTo ?? Infinity) + offset;
  const running = target.filter((p) => p.time >= from && p.time <= to);
  return { host: pcapFile(LINK_TYPE[s.link], host), target: pcapFile(LINK_TYPE[s.link], running) };
}

/** 500 µs between packets: more than a round trip at 150 µs each way, so each capture is causal. */
export function twinScenario(): Scenario {
  const s = new Scenario();
  s.step = 0.0005;
  return s;
}

/** A write completes, then the link is cut: `sent` goes into it, the host gives up, reconnects and retries each. */
export function breakOn(s: Scenario, cut: { h2c: boolean; c2h: boolean }, sent: (io: ReturnType<typeof connectAssociation>['io'][0]) => number[]) {
  const a = connectAssociation(s, { katoMs: 30000 });
  const io = a.io[0];
  io.host(ioCmd(WRITE, 1, 100, 8));
  io.ctrl(capsuleResp({ cid: 1 }));
  s.wait(100);
  s.cut = cut;
  const cids = sent(io);
  s.wait(4000);
  s.cut = { h2c: false, c2h: false };
  io.rst(true);
  a.admin.rst(true);
  s.wait(2000);
  const b = connectAssociation(s, { katoMs: 30000, cntlid: 2 });
  for (const cid of cids) b.io[0].host(ioCmd(cid === 6 ? READ : WRITE, cid + 0x100, 100 * cid, 8));
  for (const cid of cids) b.io[0].ctrl(capsuleResp({ cid: cid + 0x100 }));
  return s;
}

/** Both directions cut between the points: the write and the read never reach the target. */
export function cutBoth(): Scenario {
  return breakOn(twinScenario(), { h2c: true, c2h: true }, (io) => {
    io.host(ioCmd(WRITE, 5, 500, 8));
    io.host(ioCmd(READ, 6, 600, 8));
    return [5, 6];
  });
}

/** Only target→host cut: the write arrives and completes, its completion is lost, the retry runs it again. */
export function cutReturn(): Scenario {
  return breakOn(twinScenario(), { h2c: false, c2h: true }, (io) => {
    io.host(ioCmd(WRITE, 5, 500, 8));
    io.ctrl(capsuleResp({ cid: 5 }));
    return [5];
  });
}

/**
 * A target-side twin of a real host-side capture (little-endian µs pcap, Ethernet, IPv4): each
 * packet the host sent reaches the target `delayS` later, each it received left the target
 * `delayS` before, on a clock `offsetS` ahead. Which side sent a packet is told by the NVMe/TCP
 * port (4420 or 8009 is the controller's).
 */
export function targetTwinOf(hostCapture: Uint8Array, o: { offsetS: number; delayS: number; mss?: number }): Uint8Array {
  const packets: PacketIn[] = [];
  for (let p = 24; p + 16 <= hostCapture.length;) {
    const time = u32le(hostCapture, p) + u32le(hostCapture, p + 4) / 1e6;
    const capLen = u32le(hostCapture, p + 8);
    const data = hostCapture.subarray(p + 16, p + 16 + capLen);
    const at = time + (toController(data) ? o.delayS : -o.delayS) + o.offsetS;
    // `mss`: the big segments (TSO on the host) arrive cut to the wire's segments, 1 µs apart.
    const pieces = o.mss && capLen === u32le(hostCapture, p + 12) ? resegment(data, o.mss) : [data];
    pieces.forEach((d, k) => packets.push({ time: at + k * 1e-6, data: d, origLen: d === data ? u32le(hostCapture, p + 12) : d.length }));
    p += 16 + capLen;
  }
  packets.sort((a, b) => a.time - b.time);
  return pcapFile(LINK_TYPE.ethernet, packets);
}

/** An Ethernet/IPv4/TCP frame whose payload exceeds `mss`, as the segments of at most `mss` bytes it would be on the wire. */
function resegment(frame: Uint8Array, mss: number): Uint8Array[] {
  const ip = 14;
  if (frame.length < ip + 20 || u16be(frame, 12) !== 0x0800 || frame[ip + 9] !== 6) return [frame];
  const tcp = ip + (frame[ip] & 15) * 4;
  const payload = tcp + (frame[tcp + 12] >> 4) * 4;
  const length = frame.length - payload;
  if (length <= mss) return [frame];
  const seq = u32be(frame, tcp + 4);
  const out: Uint8Array[] = [];
  for (let o = 0; o < length; o += mss) {
    const n = Math.min(mss, length - o);
    const piece = new Uint8Array(payload + n);
    piece.set(frame.subarray(0, payload));
    piece.set(frame.subarray(payload + o, payload + o + n), payload);
    putU16(piece, ip + 2, payload - ip + n, false);
    putU32(piece, tcp + 4, (seq + o) >>> 0, false);
    // FIN and PSH belong to the last piece only.
    if (o + n < length) piece[tcp + 13] &= ~0x09;
    out.push(piece);
  }
  return out;
}

function toController(frame: Uint8Array): boolean {
  const ip = 14;
  if (frame.length < ip + 20 || u16be(frame, 12) !== 0x0800) return true;
  const tcp = ip + (frame[ip] & 15) * 4;
  const dport = frame.length >= tcp + 4 ? u16be(frame, tcp + 2) : 0;
  return dport === 4420 || dport === 8009;
}
