import { TLS_NOT_DECRYPTED, type TlsNotDecryptedDetails } from '../findings/tls-not-decrypted.js';
import type { Queue } from '../model.js';
import type { TlsConnectionSummary, TlsReport } from '../types.js';
import type { RuleFamily } from './rule.js';

/** A `tls` section before any connection: what the report holds when only a key log was given. */
export function emptyTlsReport(): TlsReport {
  return { connections: 0, decrypted: 0, byDecryption: {}, keyLog: null, list: [], notListed: 0 };
}

/** TLS connections listed one by one in the report; the rest are counted. */
const TLS_LIST_CAP = 100;

/**
 * tls-not-decrypted: a connection's TLS records were not opened (no key log, no secret for it, no
 * handshake captured, not TLS 1.3) or stopped opening (authentication failed). Without a key log it
 * is information (the user's choice); with one, a warning: what was asked for could not be done.
 * Also fills the report's `tls` section.
 */
export const tls: RuleFamily = {
  name: 'tls',
  create(ctx) {
    const report = emptyTlsReport();
    return {
      queueEnded(q: Queue) {
        const s = q.nvme.tls;
        if (!s) return;
        ctx.output.tls = report;
        report.connections++;
        report.byDecryption[s.decryption] = (report.byDecryption[s.decryption] ?? 0) + 1;
        if (s.decryption === 'decrypted') report.decrypted++;
        const { clientSide: _side, firstTime: _time, clientRandom: _random, ...facts } = s;
        const summary: TlsConnectionSummary = { conn: q.nvme.id, host: q.host, controller: q.controller, ...facts, alerts: s.alerts.slice(0, 10) };
        if (report.list.length < TLS_LIST_CAP) report.list.push(summary);
        else report.notListed++;
        if (s.decryption === 'decrypted' && s.reason === null) return;
        const details: TlsNotDecryptedDetails = {
          conn: q.nvme.id, decryption: s.decryption, version: s.version, cipher: s.cipher, clientRandom: s.clientRandom,
          records: s.records, undecryptedBytes: s.undecryptedBytes,
        };
        const place = { frames: [s.firstFrame], time: s.firstTime, assoc: q.assoc?.id ?? null, qid: q.qid ?? null, cid: null };
        ctx.findings.add(TLS_NOT_DECRYPTED, place, details, { reason: s.reason ?? '' });
      },
    };
  },
};
