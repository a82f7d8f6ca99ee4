import { statusName } from '../../nvme-tcp/opcodes.js';
import type { PduEvent } from '../../nvme-tcp/types.js';
import { CAPTURE_GAP, type CaptureGapDetails } from '../findings/capture-gap.js';
import { DIGEST_MISMATCH } from '../findings/digest-mismatch.js';
import { ERROR_STATUS } from '../findings/error-status.js';
import { PROTOCOL_VIOLATION } from '../findings/protocol-violation.js';
import { TERM_REQ } from '../findings/term-req.js';
import { UNKNOWN_PDU, type UnknownPduDetails } from '../findings/unknown-pdu.js';
import type { Queue } from '../model.js';
import type { RuleContext, RuleFamily } from './rule.js';

/** Fatal error status values of H2C/C2HTermReq. */
const FES_NAMES: Record<number, string> = {
  1: 'Invalid PDU Header Field', 2: 'PDU Sequence Error', 3: 'Header Digest Error', 4: 'Data Transfer Out of Range',
  5: 'Data Transfer Limit Exceeded', 6: 'Unsupported Parameter',
};

/** error-status, term-req, protocol-violation, digest-mismatch, capture-gap and unknown-pdu. */
export const protocol: RuleFamily = {
  name: 'protocol',
  create(ctx) {
    const at = (q: Queue) => ({ assoc: q.assoc?.id ?? null, qid: q.qid ?? null });
    return {
      pdu(q, p) {
        if (p.typeName === 'H2CTermReq' || p.typeName === 'C2HTermReq') {
          const fes = p.term?.fes ?? 0;
          const details = { type: p.typeName, fes, fesName: FES_NAMES[fes] ?? null, fei: p.term?.fei ?? null };
          ctx.findings.add(TERM_REQ, { frames: [p.frame], time: p.time, ...at(q), cid: null }, details, { conn: p.conn });
        } else if (p.typeName === 'unknown') {
          unknown(ctx, q, p, { kind: 'unknown-type', type: p.type, plen: p.plen, hlen: p.hlen, dir: p.dir }, '');
        }
        if (p.hdgstOk === false || p.ddgstOk === false) {
          const details = { type: p.typeName, header: p.hdgstOk ?? null, data: p.ddgstOk ?? null };
          ctx.findings.add(DIGEST_MISMATCH, { frames: [p.frame], time: p.time, ...at(q), cid: p.cid ?? null }, details);
        }
        if (p.violation && !p.incomplete) violation(ctx, q, p, p.violation);
      },
      violation(q, p, what) {
        violation(ctx, q, p, what);
      },
      commandCompleted(cmd, p) {
        const done = cmd.done!;
        if (done.sct === 0 && done.sc === 0) return;
        const details = { opcode: ctx.model.opName(cmd), sct: done.sct, sc: done.sc, status: statusName(done.sct, done.sc), crd: done.crd, more: done.more, dnr: done.dnr };
        ctx.findings.add(ERROR_STATUS, { frames: [cmd.submit.frame, p.frame], time: p.time, ...at(cmd.q), cid: cmd.cid }, details, { submitFrame: cmd.submit.frame });
      },
      diagnostic(q, d) {
        if (d.kind === 'gap' && d.cause !== 'snaplen') {
          const details: CaptureGapDetails = { cause: 'not-captured', conn: d.conn, dir: d.dir, streamOffset: d.streamOffset, bytes: d.length };
          ctx.findings.add(CAPTURE_GAP, { frames: [d.frame], time: d.time, ...at(q), cid: null }, details);
        } else if (d.kind === 'garbage' || d.kind === 'resync') {
          unknown(ctx, q, { frame: d.frame, time: d.time, conn: d.conn }, { kind: d.kind, conn: d.conn, dir: d.dir, streamOffset: d.streamOffset, bytes: d.length }, d.message);
        }
      },
      queueEnded(q) {
        // Snapshot-length cuts are reported once per connection, not per packet.
        const c = q.snapCut;
        if (!c) return;
        const details: CaptureGapDetails = { cause: 'snaplen', conn: q.nvme.id, bytes: c.bytes, segments: c.segments, firstFrame: c.first.frame };
        ctx.findings.add(CAPTURE_GAP, { frames: [c.first.frame], time: c.first.time, ...at(q), cid: null }, details);
      },
    };
  },
};

function violation(ctx: RuleContext, q: Queue, p: PduEvent, what: string): void {
  const place = { frames: [p.frame], time: p.time, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: p.cid ?? null };
  ctx.findings.add(PROTOCOL_VIOLATION, place, { type: p.typeName, violation: what }, { conn: p.conn });
}

function unknown(ctx: RuleContext, q: Queue, at: { frame: number; time: number; conn: number }, details: UnknownPduDetails, text: string): void {
  ctx.findings.add(UNKNOWN_PDU, { frames: [at.frame], time: at.time, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: null }, details, { conn: at.conn, text });
}
