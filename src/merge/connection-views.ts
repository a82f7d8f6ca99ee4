import type { Direction, NvmeConnection } from '../nvme-tcp/types.js';

/* One TCP connection as two captures see it: the same 4-tuple, each side's stream from its own sequence origin. */

/** The connection's two ends, the same whichever capture (and whichever side first) saw it. */
export function tupleKey(conn: NvmeConnection): string {
  const [a, b] = conn.tcp.endpoints;
  const x = `${a.address}|${a.port}`;
  const y = `${b.address}|${b.port}`;
  return x < y ? `${x}|${y}` : `${y}|${x}`;
}

/** The sending side's TCP side index in `conn` for `dir`. */
export function senderSide(conn: NvmeConnection, dir: Direction): 0 | 1 | undefined {
  if (conn.hostSide === undefined) return undefined;
  return (dir === 'h2c' ? conn.hostSide : conn.hostSide ^ 1) as 0 | 1;
}

/** Add to `other`'s stream offsets for `dir` to number them as the owner does (both from the TCP sequence). */
export function offsetDelta(owner: NvmeConnection, other: NvmeConnection, dir: Direction): number | undefined {
  const so = senderSide(owner, dir);
  const sx = senderSide(other, dir);
  if (so === undefined || sx === undefined) return undefined;
  const a = owner.tcp.seqOrigin[so];
  const b = other.tcp.seqOrigin[sx];
  if (a < 0 || b < 0) return undefined;
  return ((b - a) | 0);
}

/** Two captures' views of a 4-tuple are one connection when their streams start at compatible sequence numbers. */
export function sameIncarnation(a: NvmeConnection, b: NvmeConnection): boolean {
  if (!a.tcp.sawOpen || !b.tcp.sawOpen) return true;
  const ea = a.tcp.endpoints[0];
  const sameOrder = ea.address === b.tcp.endpoints[0].address && ea.port === b.tcp.endpoints[0].port;
  const sb = sameOrder ? 0 : 1;
  return a.tcp.seqOrigin[0] < 0 || b.tcp.seqOrigin[sb] < 0 || a.tcp.seqOrigin[0] === b.tcp.seqOrigin[sb];
}

/**
 * A non-host capture's connection as the model sees it: its own id (the host capture numbers
 * its connections from 1) and first frame as a reference; everything else read live from it.
 */
export function standIn(conn: NvmeConnection, id: number, ref: number, time: number): NvmeConnection {
  const tcp = Object.create(conn.tcp, { firstFrame: { value: conn.tcp.firstFrame + ref }, firstTime: { value: time } });
  return Object.create(conn, { id: { value: id }, tcp: { value: tcp } });
}
