/** The keep-alive aggregates of an association: sent, answered, intervals against what Linux schedules, round trips. */
import { keepAliveAllowedMs } from './model-helpers.js';
import type { Assoc, Cmd } from './model-types.js';

/** A Keep Alive sent on `a`'s admin queue: its interval since the last one (or, with TBKAS, since the last traffic) is measured. */
export function keepAliveSent(a: Assoc, cmd: Cmd): void {
  a.kaSent++;
  a.kaOpen.push(cmd);
  const previous = a.tbkas && a.kaClock && (!a.kaLast || a.kaClock.time > a.kaLast.time) ? a.kaClock : a.kaLast;
  if (previous && !a.hostTeardown) {
    const ms = (cmd.submit.time - previous.time) * 1000;
    a.kaIntervals.add(ms);
    if (ms > keepAliveAllowedMs(a)) a.kaLate++;
    if (!a.kaMaxInterval || ms > a.kaMaxInterval.ms) a.kaMaxInterval = { ms, from: { ...previous }, to: { ...cmd.submit } };
  }
  a.kaLast = cmd.submit;
}

/** Its completion: the round trip is measured and it leaves the open list. */
export function keepAliveAnswered(a: Assoc, cmd: Cmd, time: number): void {
  a.kaAnswered++;
  // By hand: splice allocates the array of removed elements and copyWithin is a slow builtin call,
  // on every keep-alive (nearly always the only one in flight).
  const open = a.kaOpen;
  const i = open.indexOf(cmd);
  if (i >= 0) {
    for (let k = i + 1; k < open.length; k++) open[k - 1] = open[k];
    open.pop();
  }
  const rtt = (time - cmd.submit.time) * 1000;
  a.kaRtts.add(rtt);
  if (a.kaMaxRtt === undefined || rtt > a.kaMaxRtt) a.kaMaxRtt = rtt;
}
