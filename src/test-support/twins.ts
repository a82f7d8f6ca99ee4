/**
 * Twin captures from one scripted conversation: what a capture on the host's interface and one on
 * the target's saw of the same traffic. The scenario is written as the host sees it (its clock,
 * its send and receive times); the target's capture sees the host's packets `delayS` later and
 * its own `delayS` earlier, on a clock `offsetS` ahead. Packets sent while the scenario's `cut`
 * was set never reach the other side; those sent while `hostCaptureMisses` was set are missing
 * from the host's capture only.
 */
import { LINK_TYPE, pcapFile, type PacketIn } from './builders.js';
import type { Scenario } from './scenario.js';

export interface TwinOptions {
  /** Target clock minus host clock, seconds. */
  offsetS?: number;
  /** One-way delay between the capture points, seconds. */
  delayS?: number;
}

export function twinCaptures(s: Scenario, o: TwinOptions = {}): { host: Uint8Array; target: Uint8Array } {
  const offset = o.offsetS ?? 0;
  const delay = o.delayS ?? 0.00015;
  const host: PacketIn[] = [];
  const target: PacketIn[] = [];
  for (const p of s.packets) {
    const fromHost = p.fromHost ?? true;
    if (fromHost) {
      if (!p.hostMissed) host.push({ time: p.time, data: p.data, origLen: p.origLen });
      if (!p.cut) target.push({ time: p.time + delay + offset, data: p.data, origLen: p.origLen });
    } else {
      target.push({ time: p.time - delay + offset, data: p.data, origLen: p.origLen });
      if (!p.cut && !p.hostMissed) host.push({ time: p.time, data: p.data, origLen: p.origLen });
    }
  }
  const byTime = (a: PacketIn, b: PacketIn) => a.time - b.time;
  host.sort(byTime);
  target.sort(byTime);
  return { host: pcapFile(LINK_TYPE[s.link], host), target: pcapFile(LINK_TYPE[s.link], target) };
}
