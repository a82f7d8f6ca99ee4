import { statusName } from '../../nvme-tcp/opcodes.js';
import { PduType, type PduEvent } from '../../nvme-tcp/types.js';
import { MESSAGES } from '../messages.js';
import type { Queue } from '../model.js';
import type { CaptureGapDetails, UnknownPduDetails } from '../types.js';
import type { RuleContext, RuleFamily } from './rule.js';

/** Fatal error status values of H2C/C2HTermReq. */
const FES_NAMES: Record<number, string> = {
  1: 'Invalid PDU Header Field', 2: 'PDU Sequence Error', 3: 'Header Digest Error', 4: 'Data Transfer Out of Range',
  5: 'Data Transfer Limit Exceeded', 6: 'Unsupported Parameter',
};

/** error-status, term-req, protocol-violation, digest-mismatch, capture-gap and unknown-pdu. */
export const protocol: RuleFamily = {
  name: 'protocol',
  ruleIds: ['error-status', 'term-req', 'protocol-violation', 'digest-mismatch', 'capture-gap', 'unknown-pdu'],
  noisy: ['error-status', 'protocol-violation', 'digest-mismatch', 'capture-gap', 'unknown-pdu'],
  create(ctx) {
    const at = (q: Queue) => ({ assoc: q.assoc?.id ?? null, qid: q.qid ?? null });
    return {
      pdu(q, p) {
        if (p.type === PduType.H2CTermReq || p.type === PduType.C2HTermReq) {
          const fes = p.term?.fes ?? 0;
          const details = { type: p.typeName, fes, fesName: FES_NAMES[fes] ?? null, fei: p.term?.fei ?? null };
          ctx.findings.add({ ruleId: 'term-req', severity: 'error', message: MESSAGES.termReq(details, p.conn), frames: [p.frame], time: p.time, ...at(q), cid: null, details });
        } else if (p.typeName === 'unknown') {
          unknown(ctx, q, p, { kind: 'unknown-type', type: p.type, plen: p.plen, hlen: p.hlen, dir: p.dir }, '');
        }
        if (p.hdgstOk === false || p.ddgstOk === false) {
          const details = { type: p.typeName, header: p.hdgstOk ?? null, data: p.ddgstOk ?? null };
          ctx.findings.add({ ruleId: 'digest-mismatch', severity: 'error', message: MESSAGES.digestMismatch(details), frames: [p.frame], time: p.time, ...at(q), cid: p.cid ?? null, details });
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
        ctx.findings.add({
          ruleId: 'error-status', severity: 'warning', message: MESSAGES.errorStatus(details, cmd.submit.frame),
          frames: [cmd.submit.frame, p.frame], time: p.time, ...at(cmd.q), cid: cmd.cid, details,
        });
      },
      diagnostic(q, d) {
        if (d.kind === 'gap' && d.cause !== 'snaplen') {
          const details: CaptureGapDetails = { cause: 'not-captured', conn: d.conn, dir: d.dir, streamOffset: d.streamOffset, bytes: d.length };
          ctx.findings.add({ ruleId: 'capture-gap', severity: 'warning', message: MESSAGES.captureGap(details), frames: [d.frame], time: d.time, ...at(q), cid: null, details });
        } else if (d.kind === 'garbage' || d.kind === 'resync') {
          unknown(ctx, q, { frame: d.frame, time: d.time, conn: d.conn }, { kind: d.kind, conn: d.conn, dir: d.dir, streamOffset: d.streamOffset, bytes: d.length }, d.message);
        }
      },
      queueEnded(q) {
        // Snapshot-length cuts are reported once per connection, not per packet.
        const c = q.snapCut;
        if (!c) return;
        const details: CaptureGapDetails = { cause: 'snaplen', conn: q.nvme.id, bytes: c.bytes, segments: c.segments, firstFrame: c.first.frame };
        ctx.findings.add({ ruleId: 'capture-gap', severity: 'warning', message: MESSAGES.captureGap(details), frames: [c.first.frame], time: c.first.time, ...at(q), cid: null, details });
      },
    };
  },
};

function violation(ctx: RuleContext, q: Queue, p: PduEvent, what: string): void {
  ctx.findings.add({
    ruleId: 'protocol-violation', severity: 'error', message: MESSAGES.protocolViolation(p.typeName, p.conn, what),
    frames: [p.frame], time: p.time, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: p.cid ?? null, details: { type: p.typeName, violation: what },
  });
}

function unknown(ctx: RuleContext, q: Queue, at: { frame: number; time: number; conn: number }, details: UnknownPduDetails, text: string): void {
  ctx.findings.add({
    ruleId: 'unknown-pdu', severity: 'warning', message: MESSAGES.unknownPdu(details, at.conn, text),
    frames: [at.frame], time: at.time, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: null, details,
  });
}
