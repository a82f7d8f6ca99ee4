import { execFileSync } from 'node:child_process';
import { listPdus } from '../src/api/list-pdus.js';

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
export async function ourPdus(path: string, ports = [4420]): Promise<Map<number, string>> {
  const perFrame = new Map<number, { types: number[]; cids: Set<number> }>();
  await listPdus(path, (p) => {
    let e = perFrame.get(p.frame);
    if (!e) perFrame.set(p.frame, (e = { types: [], cids: new Set() }));
    e.types.push(p.type);
    if (p.cid !== undefined) e.cids.add(p.cid);
  }, { ports });
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
