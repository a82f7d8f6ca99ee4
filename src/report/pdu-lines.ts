import { escapeControl, hex } from '../common/text.js';
import { opcodeName, statusName } from '../nvme-tcp/opcodes.js';
import type { PduEvent, PduRecord } from '../nvme-tcp/types.js';

/**
 * Formats the `pdus` listing: one line (text) or one JSON object per PDU.
 * Remembers the opcode of each command in flight so data PDUs and responses
 * can name it; forgets it at completion, so memory follows open commands.
 */
export class PduLineFormatter {
  private readonly open = new Map<string, { opcode: number; fctype?: number; admin: boolean | undefined }>();
  private startTime: number | undefined;

  constructor(private readonly json: boolean) {}

  /** Sets the zero of relative times (the capture's first packet). */
  setStart(time: number): void {
    if (this.startTime === undefined) this.startTime = time;
  }

  format(p: PduEvent): string {
    const key = `${p.conn}:${p.cid}`;
    // The queue id the connection had when the PDU was decoded: admin and I/O opcodes are named apart.
    const admin = p.qid === undefined ? undefined : p.qid === 0;
    let command = p.cid !== undefined ? this.open.get(key) : undefined;
    if (p.typeName === 'CapsuleCmd' && p.sqe) {
      command = { opcode: p.sqe.opcode, fctype: p.sqe.fctype, admin };
      this.open.set(key, command);
    }
    const completes = (p.typeName === 'CapsuleResp' && p.cqe !== undefined) || (p.typeName === 'C2HData' && (p.data?.success ?? false));
    if (completes) this.open.delete(key);
    const opName = command ? opcodeName(command.opcode, command.admin, command.fctype) : undefined;
    return this.json ? this.jsonLine(p, opName) : this.textLine(p, opName);
  }

  private jsonLine(p: PduEvent, opName: string | undefined): string {
    const o: Record<string, unknown> = {
      frame: p.frame, firstFrame: p.firstFrame, time: p.time, conn: p.conn, dir: p.dir, type: p.type,
      typeName: p.typeName,
    };
    if (p.cid !== undefined) o.cid = p.cid;
    if (p.qid !== undefined) o.qid = p.qid;
    if (opName) o.opcodeName = opName;
    o.flags = p.flags;
    o.hlen = p.hlen;
    o.pdo = p.pdo;
    o.plen = p.plen;
    o.streamOffset = p.streamOffset;
    const fields: PduRecord = p; // every type's fields, those of other types absent
    for (const field of ['sqe', 'cqe', 'data', 'r2t', 'icreq', 'icresp', 'term', 'inCapsuleLength', 'connectData', 'identify', 'hdgstOk', 'ddgstOk', 'violation', 'incomplete', 'missingCause', 'headerCaptured'] as const) {
      if (fields[field] !== undefined) o[field] = fields[field];
    }
    return JSON.stringify(o);
  }

  private textLine(p: PduEvent, opName: string | undefined): string {
    const rel = this.startTime === undefined ? p.time : p.time - this.startTime;
    const parts = [
      String(p.frame).padStart(7),
      rel.toFixed(6).padStart(12),
      `c${p.conn}${p.qid !== undefined ? `/q${p.qid}` : ''}`.padEnd(8),
      p.dir === 'h2c' ? 'host→ctrl' : 'ctrl→host',
      p.typeName.padEnd(11),
      p.cid !== undefined ? `cid ${hex(p.cid)}` : '          ',
      opName ?? '',
    ];
    const fields = keyFields(p);
    if (fields) parts.push(fields);
    return escapeControl(parts.join('  ').trimEnd());
  }
}

function keyFields(p: PduEvent): string {
  const f = typeFields(p);
  if (p.hdgstOk !== undefined) f.push(`hdgst ${p.hdgstOk ? 'ok' : 'BAD'}`);
  if (p.ddgstOk !== undefined) f.push(`ddgst ${p.ddgstOk ? 'ok' : 'BAD'}`);
  if (p.violation) f.push(`VIOLATION: ${p.violation}`);
  if (p.incomplete) f.push(p.missingCause === 'snaplen' ? 'INCOMPLETE (cut by the snapshot length)' : 'INCOMPLETE (bytes not captured)');
  return f.join('  ');
}

const digestNames = (d: { hdgst: boolean; ddgst: boolean }) => (d.hdgst || d.ddgst ? `${d.hdgst ? 'H' : ''}${d.ddgst ? 'D' : ''}` : 'none');

/** The fields of the PDU's own type, as the listing shows them. */
function typeFields(p: PduEvent): string[] {
  const f: string[] = [];
  switch (p.typeName) {
    case 'CapsuleCmd': {
      const s = p.sqe;
      if (s) {
        if (s.nsid) f.push(`nsid ${s.nsid}`);
        if (s.slba !== undefined) f.push(`slba ${s.slba} nlb ${s.nlb}`);
        if (s.connect) f.push(`qid ${s.connect.qid} sqsize ${s.connect.sqsize} kato ${s.connect.katoMs}ms`);
        if (s.property) f.push(`offset ${hex(s.property.offset, 2)}${s.property.value !== undefined ? ` value ${hex(s.property.value, 8)}` : ''}`);
        if (p.inCapsuleLength) f.push(`in-capsule ${p.inCapsuleLength}`);
      }
      if (p.connectData) f.push(`hostnqn ${p.connectData.hostnqn} subnqn ${p.connectData.subnqn} cntlid ${hex(p.connectData.cntlid)}`);
      break;
    }
    case 'CapsuleResp': {
      const c = p.cqe;
      if (!c) break;
      f.push(c.sct === 0 && c.sc === 0 ? 'ok' : `status ${statusName(c.sct, c.sc)}${c.dnr ? ' DNR' : ''}${c.more ? ' M' : ''}${c.crd ? ` CRD${c.crd}` : ''}`);
      f.push(`sqhd ${c.sqhd} dw0 ${hex(c.dw0, 8)}`);
      break;
    }
    case 'H2CData':
    case 'C2HData':
      if (p.data) f.push(`datao ${p.data.datao} datal ${p.data.datal}${p.data.last ? ' LAST' : ''}${p.data.success ? ' SUCCESS' : ''}`);
      if (p.identify) f.push(`identify cntlid ${hex(p.identify.cntlid)} cqt ${p.identify.cqtMs}ms ctratt ${hex(p.identify.ctratt, 8)} ciu ${p.identify.ciu} cirn ${p.identify.cirn} ccrl ${p.identify.ccrl}`);
      break;
    case 'R2T':
      if (p.r2t) f.push(`r2to ${p.r2t.r2to} r2tl ${p.r2t.r2tl} ttag ${p.r2t.ttag}`);
      break;
    case 'ICReq':
      if (p.icreq) f.push(`pfv ${p.icreq.pfv} hpda ${p.icreq.hpda} digest ${digestNames(p.icreq)} maxr2t ${p.icreq.maxr2t}`);
      break;
    case 'ICResp':
      if (p.icresp) f.push(`pfv ${p.icresp.pfv} cpda ${p.icresp.cpda} digest ${digestNames(p.icresp)} maxh2cdata ${p.icresp.maxh2cdata}`);
      break;
    case 'H2CTermReq':
    case 'C2HTermReq':
      if (p.term) f.push(`fes ${hex(p.term.fes)} fei ${hex(p.term.fei, 8)}`);
  }
  return f;
}
