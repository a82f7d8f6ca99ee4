import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { listPdus } from '../src/api/list-pdus.js';
import { F, frame, ipPacket, pcapFile } from '../src/test-support/builders.js';

export function tsharkAvailable(): boolean {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** frame → "types|sorted cids" as tshark dissects the file with port 4420 as NVMe/TCP. */
export function tsharkPdus(path: string, port = 4420): Map<number, string> {
  const out = execFileSync('tshark', [
    '-r', path, '-d', `tcp.port==${port},nvme-tcp`, '-T', 'fields', '-e', 'frame.number', '-e', 'nvme-tcp.type',
    '-e', 'nvme.cmd.cid', '-e', 'nvme.cqe.cid', '-e', 'nvme-tcp.cmd.cid', '-e', 'nvme.fabrics.cmd.cid',
  ], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
  const rows = new Map<number, string>();
  for (const line of out.split('\n')) {
    const [frame, types, ...cidFields] = line.split('\t');
    if (!types) continue;
    const cids = new Set<number>();
    for (const f of cidFields) for (const c of f.split(',')) if (c) cids.add(parseInt(c, 16));
    rows.set(Number(frame), `${types}|${[...cids].sort((a, b) => a - b).join(',')}`);
  }
  return rows;
}

/** The same view from our `pdus`: types in order, CIDs as a set (tshark lists fabrics CIDs in another field). */
export async function ourPdus(path: string, ports = [4420], tlsKeylogs?: string[]): Promise<Map<number, string>> {
  const perFrame = new Map<number, { types: number[]; cids: Set<number> }>();
  await listPdus(path, (p) => {
    let e = perFrame.get(p.frame);
    if (!e) perFrame.set(p.frame, (e = { types: [], cids: new Set() }));
    e.types.push(p.type);
    if (p.cid !== undefined) e.cids.add(p.cid);
  }, { ports, tlsKeylogs });
  const rows = new Map<number, string>();
  for (const [frame, e] of perFrame) rows.set(frame, `${e.types.join(',')}|${[...e.cids].sort((a, b) => a - b).join(',')}`);
  return rows;
}

/** Frames where the two disagree, as readable lines. */
export function differences(ours: Map<number, string>, theirs: Map<number, string>, fromFrame = 1): string[] {
  const frames = [...new Set([...ours.keys(), ...theirs.keys()])].filter((f) => f >= fromFrame).sort((a, b) => a - b);
  return frames.filter((f) => ours.get(f) !== theirs.get(f)).map((f) => `frame ${f}: ours ${ours.get(f) ?? '-'} tshark ${theirs.get(f) ?? '-'}`);
}

/**
 * Where tshark shows a PDU we must show the same types in that frame, and the same CIDs when tshark
 * gives any (without the queue's Connect or ICReq it leaves them out). With `oursMayHaveMore`, frames
 * only we decode are allowed (tshark cannot dissect a queue whose Connect it never saw).
 */
export function disagreements(ours: Map<number, string>, theirs: Map<number, string>, oursMayHaveMore: boolean): string[] {
  const out: string[] = [];
  for (const [frame, row] of theirs) {
    const [types, cids] = row.split('|');
    const mine = ours.get(frame);
    if (!mine) out.push(`frame ${frame}: tshark ${row}, ours none`);
    else if (mine.split('|')[0] !== types || (cids !== '' && mine.split('|')[1] !== cids)) out.push(`frame ${frame}: tshark ${row}, ours ${mine}`);
  }
  if (!oursMayHaveMore) for (const [frame, row] of ours) if (!theirs.has(frame)) out.push(`frame ${frame}: ours ${row}, tshark none`);
  return out;
}

/**
 * tshark's view of NVMe/TCP over TLS, where tshark 4.0 has no NVMe/TCP-over-TLS hand-off: its TLS
 * dissector decrypts with the key log (`-o tls.keylog_file`, port 4420 decoded as TLS), the
 * application bytes it shows per frame are written as a plain capture (same addresses, ports and
 * direction, one segment per decrypted frame), tshark dissects that as NVMe/TCP, and its frames are
 * mapped back. Both the decryption and the PDU dissection are tshark's.
 */
export function tsharkTlsPdus(path: string, keyLog: string, plainPath: string, port = 4420): Map<number, string> {
  const out = execFileSync('tshark', [
    '-r', path, '-d', `tcp.port==${port},tls`, '-o', `tls.keylog_file:${keyLog}`, '-T', 'fields', '-E', 'separator=/t',
    '-e', 'frame.number', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'tcp.dstport', '-e', 'data.data',
  ], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
  const seq = new Map<string, number>();
  const packets: { time: number; data: Uint8Array }[] = [];
  const original: number[] = [];
  for (const line of out.split('\n')) {
    const [number, time, src, sport, dst, dport, data] = line.split('\t');
    if (!data) continue;
    const payload = Buffer.from(data.replace(/,/g, ''), 'hex');
    const key = `${src}:${sport}>${dst}:${dport}`;
    const next = seq.get(key) ?? 1000;
    seq.set(key, next + payload.length);
    packets.push({ time: Number(time), data: frame('ethernet', ipPacket({ src, dst, sport: Number(sport), dport: Number(dport), seq: next, ack: 0, flags: F.ACK | F.PSH, payload })) });
    original.push(Number(number));
  }
  writeFileSync(plainPath, pcapFile(1, packets));
  const rows = new Map<number, string>();
  for (const [plainFrame, row] of tsharkPdus(plainPath, port)) rows.set(original[plainFrame - 1], row);
  return rows;
}
