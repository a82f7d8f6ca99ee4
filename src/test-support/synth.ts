/**
 * Synthetic NVMe/TCP captures of any size for the benchmark, streamed out in
 * large chunks (never held whole in memory). Built with the same byte
 * builders as the tests.
 */
import {
  c2hData, capsuleCmd, capsuleResp, concat, connectCmd, F, frame, h2cData, icReq, icResp, ipPacket, ioCmd, propertySetCC, r2t,
} from './builders.js';
import { ByteWriter } from '../common/bytes.js';

export type Profile = 'tso' | 'mtu' | 'small';

export interface SynthOptions {
  profile: Profile;
  /** Stop after about this many bytes of capture. */
  targetBytes: number;
  format: 'pcap' | 'pcapng';
  ioQueues?: number;
}

const MSS: Record<Profile, number> = { tso: 65160, mtu: 1448, small: 1448 };
const IO_BYTES: Record<Profile, number> = { tso: 128 * 1024, mtu: 128 * 1024, small: 4096 };
const HOST = '10.1.0.1';
const CTRL = '10.1.0.2';
const BASE_TIME = 1_790_000_000;

/** Buffers packet records into chunks of about `chunkBytes`. */
class ChunkedCapture {
  private parts: Uint8Array[] = [];
  private size = 0;
  written = 0;
  packets = 0;
  time = BASE_TIME;

  constructor(
    private readonly format: 'pcap' | 'pcapng',
    private readonly emit: (chunk: Uint8Array) => void,
    private readonly chunkBytes = 8 << 20,
  ) {
    const header = format === 'pcap' ? pcapHeader() : pcapngHeader();
    this.push(header);
  }

  packet(data: Uint8Array): void {
    this.time += 0.000002;
    const sec = Math.floor(this.time);
    const usec = Math.round((this.time - sec) * 1e6);
    if (this.format === 'pcap') {
      this.push(new ByteWriter(16).u32(sec).u32(usec).u32(data.length).u32(data.length).done());
      this.push(data);
    } else {
      const pad = (4 - (data.length % 4)) % 4;
      const total = 32 + data.length + pad;
      const ts = sec * 1e6 + usec;
      // An EPB on interface 0: the timestamp's high word first, then its low word.
      this.push(new ByteWriter(28).u32(6).u32(total).u32(0).u32(Math.floor(ts / 4294967296)).u32(ts >>> 0).u32(data.length).u32(data.length).done());
      this.push(data);
      this.push(new ByteWriter(pad + 4).zeros(pad).u32(total).done());
    }
    this.packets++;
  }

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.size += b.length;
    this.written += b.length;
    if (this.size >= this.chunkBytes) this.flush();
  }

  flush(): void {
    if (this.size === 0) return;
    this.emit(concat(this.parts));
    this.parts = [];
    this.size = 0;
  }
}

/** pcap 2.4, µs, snapshot length 256 KiB, Ethernet. */
function pcapHeader(): Uint8Array {
  return new ByteWriter(24).u32(0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(262144).u32(1).done();
}

/** A section header (version 1.0, length unknown) and one Ethernet interface. */
function pcapngHeader(): Uint8Array {
  const shb = new ByteWriter(28).u32(0x0a0d0d0a).u32(28).u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff).u32(28);
  return shb.u32(1).u32(20).u16(1).u16(0).u32(262144).u32(20).done();
}

/** One TCP connection of the synthetic capture: cuts each direction's bytes into MSS-sized frames. */
class SynthConn {
  private hostSeq = 1;
  private ctrlSeq = 1;

  constructor(
    private readonly out: ChunkedCapture,
    private readonly hostPort: number,
    private readonly mss: number,
    private readonly host = HOST,
    private readonly ctrl = CTRL,
  ) {
    this.seg(true, F.SYN, undefined, 0);
    this.seg(false, F.SYN | F.ACK, undefined, 0);
    this.seg(true, F.ACK);
  }

  private seg(fromHost: boolean, flags: number, payload?: Uint8Array, seq?: number): void {
    const ip = ipPacket({
      src: fromHost ? this.host : this.ctrl, dst: fromHost ? this.ctrl : this.host, sport: fromHost ? this.hostPort : 4420, dport: fromHost ? 4420 : this.hostPort,
      seq: (seq ?? (fromHost ? this.hostSeq : this.ctrlSeq)) >>> 0, ack: (fromHost ? this.ctrlSeq : this.hostSeq) >>> 0, flags, payload,
    });
    this.out.packet(frame('ethernet', ip));
  }

  /** Both sides close in turn (a clean disconnect): host FIN, controller FIN, host ACK. */
  gracefulClose(): void {
    this.seg(true, F.FIN | F.ACK);
    this.hostSeq = (this.hostSeq + 1) >>> 0;
    this.seg(false, F.FIN | F.ACK);
    this.ctrlSeq = (this.ctrlSeq + 1) >>> 0;
    this.seg(true, F.ACK);
  }

  /** The host gives up on the connection the way Linux does: FIN, then RST. */
  hostClose(): void {
    this.seg(true, F.FIN | F.ACK);
    this.hostSeq = (this.hostSeq + 1) >>> 0;
    this.seg(true, F.RST | F.ACK);
  }

  send(fromHost: boolean, bytes: Uint8Array): void {
    for (let o = 0; o < bytes.length; o += this.mss) {
      const piece = bytes.subarray(o, Math.min(bytes.length, o + this.mss));
      this.seg(fromHost, F.ACK | F.PSH, piece);
      if (fromHost) this.hostSeq = (this.hostSeq + piece.length) >>> 0;
      else this.ctrlSeq = (this.ctrlSeq + piece.length) >>> 0;
    }
  }
}

/**
 * Writes a capture of about `targetBytes`: one association (admin + I/O
 * queues), then rounds of one write and one read per I/O queue.
 */
export function synthesize(opts: SynthOptions, emit: (chunk: Uint8Array) => void): { bytes: number; packets: number; commands: number } {
  const out = new ChunkedCapture(opts.format, emit);
  const mss = MSS[opts.profile];
  const ioBytes = IO_BYTES[opts.profile];
  const nlb = ioBytes / 512;
  const hostnqn = 'nqn.2014-08.org.nvmexpress:uuid:bench';
  const subnqn = 'nqn.2026-11.io.bench:subsys';
  const admin = new SynthConn(out, 50000, mss);
  admin.send(true, icReq());
  admin.send(false, icResp());
  admin.send(true, connectCmd(0, 0, 5000, hostnqn, subnqn));
  admin.send(false, capsuleResp({ cid: 0, dw0: 1 }));
  admin.send(true, propertySetCC(1, 0x460001));
  admin.send(false, capsuleResp({ cid: 1 }));
  const queues: SynthConn[] = [];
  for (let q = 1; q <= (opts.ioQueues ?? 4); q++) {
    const c = new SynthConn(out, 50000 + q, mss);
    c.send(true, icReq());
    c.send(false, icResp());
    c.send(true, connectCmd(0, q, 0, hostnqn, subnqn, 1));
    c.send(false, capsuleResp({ cid: 0 }));
    queues.push(c);
  }
  const payload = new Uint8Array(ioBytes);
  let commands = 0;
  let round = 0;
  while (out.written < opts.targetBytes) {
    for (const q of queues) {
      const cid = (round * 2) & 0xffff;
      const lba = (round * nlb * 2) % 1e9;
      if (opts.profile === 'small') {
        q.send(true, capsuleCmd({ opcode: 1, cid, nsid: 1, cdw10: lba, cdw12: nlb - 1, dataLength: ioBytes }, payload));
        q.send(false, capsuleResp({ cid }));
        q.send(true, ioCmd(2, cid + 1, lba, nlb));
        q.send(false, concat([c2hData(cid + 1, 0, payload), capsuleResp({ cid: cid + 1 })]));
      } else {
        q.send(true, ioCmd(1, cid, lba, nlb));
        q.send(false, r2t(cid, 1, 0, ioBytes));
        q.send(true, h2cData(cid, 1, 0, payload));
        q.send(false, capsuleResp({ cid }));
        q.send(true, ioCmd(2, cid + 1, lba, nlb));
        q.send(false, concat([c2hData(cid + 1, 0, payload), capsuleResp({ cid: cid + 1 })]));
      }
      commands += 2;
    }
    round++;
    if (round % 64 === 0) admin.send(true, capsuleCmd({ opcode: 0x18, cid: 2 })), admin.send(false, capsuleResp({ cid: 2 }));
  }
  out.flush();
  return { bytes: out.written, packets: out.packets, commands };
}

export interface StormOptions {
  associations: number;
  format: 'pcap' | 'pcapng';
  /** Every this many associations, a write is left unanswered and the next association resubmits it before KATO. */
  retryEvery?: number;
  /** Seconds from one association to the next (default 1; a dense storm packs 20,000 into 30 s). */
  spacingS?: number;
  /** How each connection ends: the host's FIN then RST (default), or FIN from both sides. */
  close?: 'host-reset' | 'graceful';
}

/**
 * A reconnect storm: one host, one subsystem, one controller address, an
 * association a second (admin + one I/O queue, a keep-alive, a write and a
 * read), each torn down by the host. Every `retryEvery`-th association leaves
 * a write unanswered and the next one resubmits it 0.9 s later, before KATO.
 */
export function synthesizeStorm(opts: StormOptions, emit: (chunk: Uint8Array) => void): { associations: number; retries: number; packets: number } {
  const out = new ChunkedCapture(opts.format, emit);
  const hostnqn = 'nqn.2014-08.org.nvmexpress:uuid:storm';
  const subnqn = 'nqn.2026-11.io.bench:storm';
  const retryEvery = opts.retryEvery ?? 100;
  const spacing = opts.spacingS ?? 1;
  const data = new Uint8Array(4096);
  let port = 20000;
  let pending: { slba: number } | undefined;
  let retries = 0;
  for (let i = 0; i < opts.associations; i++) {
    out.time = BASE_TIME + i * spacing;
    const cntlid = (i % 60000) + 1;
    const admin = new SynthConn(out, (port = port >= 65000 ? 20000 : port + 1), 1448);
    admin.send(true, icReq());
    admin.send(false, icResp());
    admin.send(true, connectCmd(0, 0, 5000, hostnqn, subnqn));
    admin.send(false, capsuleResp({ cid: 0, dw0: cntlid }));
    admin.send(true, propertySetCC(1, 0x460001));
    admin.send(false, capsuleResp({ cid: 1 }));
    const io = new SynthConn(out, (port = port >= 65000 ? 20000 : port + 1), 1448);
    io.send(true, icReq());
    io.send(false, icResp());
    io.send(true, connectCmd(0, 1, 0, hostnqn, subnqn, cntlid));
    io.send(false, capsuleResp({ cid: 0 }));
    if (pending) {
      // The resubmission of the previous association's unanswered write, first thing on the new one.
      io.send(true, capsuleCmd({ opcode: 1, cid: 0x20, nsid: 1, cdw10: pending.slba, cdw12: 7, dataLength: 4096 }, data));
      io.send(false, capsuleResp({ cid: 0x20 }));
      pending = undefined;
      retries++;
    }
    admin.send(true, capsuleCmd({ opcode: 0x18, cid: 2 }));
    admin.send(false, capsuleResp({ cid: 2 }));
    const slba = (i * 16) % 1e9;
    io.send(true, capsuleCmd({ opcode: 1, cid: 0x21, nsid: 1, cdw10: slba, cdw12: 7, dataLength: 4096 }, data));
    io.send(false, capsuleResp({ cid: 0x21 }));
    io.send(true, ioCmd(2, 0x22, slba, 8));
    io.send(false, concat([c2hData(0x22, 0, data), capsuleResp({ cid: 0x22 })]));
    if ((i + 1) % retryEvery === 0 && i + 1 < opts.associations) {
      io.send(true, capsuleCmd({ opcode: 1, cid: 0x23, nsid: 1, cdw10: slba + 8, cdw12: 7, dataLength: 4096 }, data));
      pending = { slba: slba + 8 };
    }
    out.time += Math.min(0.1, spacing / 2);
    if (opts.close === 'graceful') {
      io.gracefulClose();
      admin.gracefulClose();
    } else {
      io.hostClose();
      admin.hostClose();
    }
  }
  out.flush();
  return { associations: opts.associations, retries, packets: out.packets };
}

export interface FleetOptions {
  controllers: number;
  hours: number;
  format: 'pcap' | 'pcapng';
  /** Seconds between keep-alives (KATO 5 s: Linux sends one every 2.5 s). */
  keepAliveS?: number;
}

/**
 * A day-long capture of a fleet: one host, `controllers` controllers (one
 * association each, KATO 5 s), a keep-alive every 2.5 s on every admin queue and
 * a 4 KiB write and read a minute on every I/O queue.
 */
export function synthesizeFleet(opts: FleetOptions, emit: (chunk: Uint8Array) => void): { packets: number; keepAlives: number } {
  const out = new ChunkedCapture(opts.format, emit);
  const hostnqn = 'nqn.2014-08.org.nvmexpress:uuid:fleet';
  const period = opts.keepAliveS ?? 2.5;
  const data = new Uint8Array(4096);
  const conns: { admin: SynthConn; io: SynthConn }[] = [];
  for (let k = 0; k < opts.controllers; k++) {
    const ctrl = `10.2.${k >> 8}.${(k & 255) + 1}`;
    const subnqn = `nqn.2026-11.io.bench:fleet-${k}`;
    const admin = new SynthConn(out, 30000 + 2 * k, 1448, HOST, ctrl);
    admin.send(true, icReq());
    admin.send(false, icResp());
    admin.send(true, connectCmd(0, 0, 5000, hostnqn, subnqn));
    admin.send(false, capsuleResp({ cid: 0, dw0: k + 1 }));
    const io = new SynthConn(out, 30001 + 2 * k, 1448, HOST, ctrl);
    io.send(true, icReq());
    io.send(false, icResp());
    io.send(true, connectCmd(0, 1, 0, hostnqn, subnqn, k + 1));
    io.send(false, capsuleResp({ cid: 0 }));
    conns.push({ admin, io });
  }
  let keepAlives = 0;
  const ticks = Math.floor((opts.hours * 3600) / period);
  for (let t = 0; t < ticks; t++) {
    for (let k = 0; k < conns.length; k++) {
      out.time = BASE_TIME + 1 + t * period + (k * period) / conns.length;
      const cid = t & 0xfff;
      conns[k].admin.send(true, capsuleCmd({ opcode: 0x18, cid }));
      conns[k].admin.send(false, capsuleResp({ cid }));
      keepAlives++;
      if (t % Math.round(60 / period) === k % Math.round(60 / period)) {
        const slba = (t * 8) % 1e9;
        conns[k].io.send(true, capsuleCmd({ opcode: 1, cid, nsid: 1, cdw10: slba, cdw12: 7, dataLength: 4096 }, data));
        conns[k].io.send(false, capsuleResp({ cid }));
        conns[k].io.send(true, ioCmd(2, cid | 0x1000, slba, 8));
        conns[k].io.send(false, concat([c2hData(cid | 0x1000, 0, data), capsuleResp({ cid: cid | 0x1000 })]));
      }
    }
  }
  out.flush();
  return { packets: out.packets, keepAlives };
}

export interface ConcurrentFleetOptions {
  /** Hosts, each with an admin and four I/O queues open for the whole capture. */
  hosts: number;
  seconds: number;
  format: 'pcap' | 'pcapng';
}

/** One host of the concurrent fleet: an admin queue and four I/O queues, each connected. */
function fleetHost(out: ChunkedCapture, subnqn: string, k: number, cntlid: number, port: number): { admin: SynthConn; io: SynthConn[] } {
  const host = `10.3.${k >> 8}.${(k & 255) + 1}`;
  const hostnqn = `nqn.2014-08.org.nvmexpress:uuid:host-${k}`;
  const admin = new SynthConn(out, port, 1448, host, CTRL);
  admin.send(true, icReq());
  admin.send(false, icResp());
  admin.send(true, connectCmd(0, 0, 5000, hostnqn, subnqn));
  admin.send(false, capsuleResp({ cid: 0, dw0: cntlid }));
  const io: SynthConn[] = [];
  for (let q = 1; q <= 4; q++) {
    const c = new SynthConn(out, port + q, 1448, host, CTRL);
    c.send(true, icReq());
    c.send(false, icResp());
    c.send(true, connectCmd(0, q, 0, hostnqn, subnqn, cntlid));
    c.send(false, capsuleResp({ cid: 0 }));
    io.push(c);
  }
  return { admin, io };
}

/**
 * A capture at a target serving many hosts at once: every host keeps an admin and four I/O queues
 * open (KATO 5 s, a keep-alive every 2.5 s) and sends a 512-byte write and read a second. Halfway
 * through, host 0's link is cut: a write goes unanswered, the host resets its queues, reconnects
 * a second later and resubmits the write (before KATO).
 */
export function synthesizeConcurrentFleet(opts: ConcurrentFleetOptions, emit: (chunk: Uint8Array) => void): { packets: number; connections: number } {
  const out = new ChunkedCapture(opts.format, emit);
  const subnqn = 'nqn.2026-11.io.bench:target';
  const data = new Uint8Array(512);
  let connections = 0;
  const connect = (k: number, cntlid: number, port: number) => {
    connections += 5;
    return fleetHost(out, subnqn, k, cntlid, port);
  };
  const hosts = Array.from({ length: opts.hosts }, (_, k) => {
    out.time = BASE_TIME + (k / opts.hosts) * 0.5;
    return connect(k, k + 1, 20000 + (k % 4000) * 10);
  });
  const cutAt = Math.floor(opts.seconds / 2);
  let lost: number | undefined;
  for (let t = 1; t < opts.seconds; t++) {
    for (let k = 0; k < hosts.length; k++) {
      out.time = BASE_TIME + t + k / hosts.length;
      const h = hosts[k];
      const cid = t & 0xfff;
      if (k === 0 && t === cutAt) {
        lost = (t * 8) % 1e9;
        h.io[0].send(true, capsuleCmd({ opcode: 1, cid: 0x800 | cid, nsid: 1, cdw10: lost, cdw12: 0, dataLength: 512 }, data)); // into the cut
        continue;
      }
      if (k === 0 && t === cutAt + 3) {
        // The I/O timeout: error recovery resets the queues, and the host reconnects at once.
        h.admin.hostClose();
        for (const q of h.io) q.hostClose();
        hosts[0] = connect(0, opts.hosts + 1, 65000);
        hosts[0].io[0].send(true, capsuleCmd({ opcode: 1, cid: 0x900, nsid: 1, cdw10: lost, cdw12: 0, dataLength: 512 }, data));
        hosts[0].io[0].send(false, capsuleResp({ cid: 0x900 }));
        continue;
      }
      if (k === 0 && t > cutAt && t < cutAt + 3) continue;
      if (t % 5 === 0 || t % 5 === 2) {
        h.admin.send(true, capsuleCmd({ opcode: 0x18, cid }));
        h.admin.send(false, capsuleResp({ cid }));
      }
      const q = h.io[t & 3];
      const slba = ((t * 16) + k) % 1e9;
      q.send(true, capsuleCmd({ opcode: 1, cid, nsid: 1, cdw10: slba, cdw12: 0, dataLength: 512 }, data));
      q.send(false, capsuleResp({ cid }));
      q.send(true, ioCmd(2, cid | 0x1000, slba, 1));
      q.send(false, concat([c2hData(cid | 0x1000, 0, data), capsuleResp({ cid: cid | 0x1000 })]));
    }
  }
  out.flush();
  return { packets: out.packets, connections };
}
