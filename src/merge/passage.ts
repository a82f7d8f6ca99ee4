import { captureLabel } from '../common/frame-ref.js';
import type { NvmeConnection } from '../nvme-tcp/types.js';
import { maxOf, minOf } from '../common/numbers.js';
import type { ConnectionPassage, PassageCounts, SameTrafficReport } from './types.js';

/** Connections listed in the report's passage table; the rest are counted. */
const CONNECTIONS_LISTED = 32;
/** First frames of PDUs lost between the points kept per direction. */
export const FIRST_LOST_KEPT = 5;

/** What the ledger reads of a connection as it ends. */
export interface PassageSource {
  id: number;
  /** Another capture saw it too. */
  watched: boolean;
  owner: { code: number };
  ownerConn: NvmeConnection;
  h2c: { passage: PassageCounts };
  c2h: { passage: PassageCounts };
}

/** The passage counts of ended connections: totals, the connections listed (those with losses first), the rest counted. */
export class PassageLedger {
  readonly totals = { h2c: newCounts(), c2h: newCounts() };
  readonly connections: ConnectionPassage[] = [];
  notListed = 0;
  readonly onlyIn: Record<string, number> = {};

  /** The overlap of the captures' spans (host clock), and the passage part of the report. */
  report(captures: { firstTime: number | null; lastTime: number | null }[]): Pick<SameTrafficReport, 'overlap' | 'totals' | 'connections' | 'connectionsNotListed' | 'connectionsOnlyIn'> {
    const from = maxOf(captures.map((c) => c.firstTime ?? Infinity));
    const to = minOf(captures.map((c) => c.lastTime ?? -Infinity));
    return { overlap: from <= to ? { from, to } : null, totals: this.totals, connections: this.connections, connectionsNotListed: this.notListed, connectionsOnlyIn: this.onlyIn };
  }

  fold(m: PassageSource): void {
    if (!m.watched) {
      const label = captureLabel(m.owner.code);
      this.onlyIn[label] = (this.onlyIn[label] ?? 0) + 1;
      return;
    }
    addCounts(this.totals.h2c, m.h2c.passage);
    addCounts(this.totals.c2h, m.c2h.passage);
    const tcp = m.ownerConn.tcp;
    const hs = m.ownerConn.hostSide ?? 0;
    const row: ConnectionPassage = {
      conn: m.id, host: `${tcp.endpoints[hs].address}:${tcp.endpoints[hs].port}`, controller: `${tcp.endpoints[hs ^ 1].address}:${tcp.endpoints[hs ^ 1].port}`,
      h2c: m.h2c.passage, c2h: m.c2h.passage,
    };
    if (this.connections.length < CONNECTIONS_LISTED) return void this.connections.push(row);
    this.notListed++;
    // A connection that lost PDUs between the points takes the place of one that lost none.
    const plain = this.connections.findIndex((c) => !lossy(c));
    if (lossy(row) && plain >= 0) this.connections[plain] = row;
  }
}

function lossy(c: ConnectionPassage): boolean {
  return c.h2c.senderOnly + c.h2c.receiverOnly + c.c2h.senderOnly + c.c2h.receiverOnly > 0;
}

export function newCounts(): PassageCounts {
  return { both: 0, senderOnly: 0, receiverOnly: 0, bytesBoth: 0, bytesSenderOnly: 0, bytesReceiverOnly: 0, firstLostFrames: [] };
}

function addCounts(into: PassageCounts, c: PassageCounts): void {
  into.both += c.both;
  into.senderOnly += c.senderOnly;
  into.receiverOnly += c.receiverOnly;
  into.bytesBoth += c.bytesBoth;
  into.bytesSenderOnly += c.bytesSenderOnly;
  into.bytesReceiverOnly += c.bytesReceiverOnly;
  for (const f of c.firstLostFrames) if (into.firstLostFrames.length < FIRST_LOST_KEPT) into.firstLostFrames.push(f);
}
