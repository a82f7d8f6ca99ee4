import type { AssociationSummary, QueueSummary } from './types.js';
import { pathOf, percentiles, round3 } from './model-helpers.js';
import { ADMIN_AER, type Assoc, type Queue } from './model-types.js';

/* An association and a queue as the report lists them. */

export function summarize(a: Assoc): AssociationSummary {
  const intervals = a.kaIntervals;
  return {
    id: a.id, path: pathOf(a), hostnqn: a.hostnqn ?? null, subnqn: a.subnqn ?? null, host: a.hostAddress, controller: a.controller,
    cntlid: a.cntlid ?? null, katoMs: a.katoMs, katoSource: a.katoSource, cqtMs: a.cqtMs, cqtSource: a.cqtSource, tbkas: a.tbkas,
    ...(a.instance ? { instance: { ciu: a.instance.ciu, cirn: a.instance.cirn, ccrl: a.instance.ccrl } } : {}),
    inferred: a.inferred, firstFrame: a.first.frame, firstTime: a.first.time,
    lastControllerContact: a.lastCtrlSeen ? { ...a.lastCtrlSeen } : null,
    controllerAfterHostClose: a.afterHostClose
      ? { pdus: a.afterHostClose.pdus, firstFrame: a.afterHostClose.first.frame, firstTime: a.afterHostClose.first.time, lastFrame: a.afterHostClose.last.frame, lastTime: a.afterHostClose.last.time }
      : null,
    lastHostTransmission: a.lastHost ?? null, fencedBy: a.fences[0] ?? null,
    queues: a.queues.map((q) => queueSummary(q)).sort((x, y) => (x.qid ?? 99999) - (y.qid ?? 99999) || x.conn - y.conn),
    keepAlive: {
      sent: a.kaSent, answered: a.kaAnswered,
      maxIntervalMs: a.kaMaxInterval ? round3(a.kaMaxInterval.ms) : null,
      medianIntervalMs: intervals.count ? round3(intervals.quantile(0.5)!) : null,
      maxRttMs: a.kaMaxRtt === undefined ? null : round3(a.kaMaxRtt),
      intervalMs: percentiles(intervals),
      rttMs: percentiles(a.kaRtts),
      late: a.kaLate,
    },
  };
}

export function queueSummary(q: Queue): QueueSummary {
  return {
    conn: q.nvme.id, qid: q.qid ?? null, qidSource: q.qidSource, sqsize: q.sqsize ?? null, host: q.host, controller: q.controller,
    firstFrame: q.firstFrame, lastFrame: q.lastFrame, teardown: q.teardown, commands: q.commands,
    inFlightAtEnd: [...q.orphans.values()].filter((c) => !(c.admin && c.opcode === ADMIN_AER)).length, gaps: q.gaps, bytesLost: q.bytesLost,
  };
}
