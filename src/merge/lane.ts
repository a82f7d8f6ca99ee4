import type { FlagKind } from '../reassembly/types.js';
import type { NvmeConnection, PduEvent, PduSink, StreamDiagnostic } from '../nvme-tcp/types.js';

export const EventKind = { Connection: 0, Packet: 1, Pdu: 2, Flag: 3, Diagnostic: 4, Closed: 5 } as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

/** One event of one capture, held until the merge places it in time among the other captures' events. */
export interface LaneEvent {
  kind: EventKind;
  conn: NvmeConnection;
  /** The capture's own clock. */
  time: number;
  frame: number;
  fromHost: boolean;
  /** Packet: the peer offset it acknowledges. */
  acked: number;
  flag: FlagKind | undefined;
  outOfWindow: boolean;
  pdu: PduEvent | undefined;
  diagnostic: StreamDiagnostic | undefined;
}

/** What a lane asks the merge as its capture is decoded (src/merge/merger.ts). */
export interface LaneGate {
  /** Can an event of `lane` at capture time `time` go to the model now (nothing of another capture can come before it)? */
  takesNow(lane: Lane, time: number): boolean;
  /** Take it now. */
  take(lane: Lane, e: LaneEvent): void;
  /** A packet taken now, without an event object: most events are packets. */
  takePacket(lane: Lane, conn: NvmeConnection, fromHost: boolean, frame: number, time: number, acked: number): void;
  /** Are `conn`'s packets, flags and diagnostics of no use (another capture's view of the connection drives the model)? */
  onlyPdus(lane: Lane, conn: NvmeConnection): boolean;
}

/**
 * The PDU sink of one capture read with others: its events wait in order in a queue (its
 * decoder hands out fresh PDU objects, so they can wait) until the merge takes them.
 */
export class Lane implements PduSink {
  private readonly events: LaneEvent[] = [];
  private head = 0;
  ended = false;
  firstTime = Infinity;
  lastTime = -Infinity;
  /** Which capture this is in the merged stream (0 the host side, 1 the target side; frame references carry it), set once the probe knows. */
  code = 0;

  gate: LaneGate | undefined;

  constructor(readonly index: number, readonly file: string) {}

  get length(): number {
    return this.events.length - this.head;
  }

  peek(): LaneEvent | undefined {
    return this.head < this.events.length ? this.events[this.head] : undefined;
  }

  /** The i-th held event, without taking it (the probe reads them in place). */
  at(i: number): LaneEvent | undefined {
    return this.events[this.head + i];
  }

  take(): LaneEvent {
    const e = this.events[this.head++];
    if (this.head > 4096 && this.head * 2 > this.events.length) {
      this.events.splice(0, this.head);
      this.head = 0;
    }
    return e;
  }

  private stamp(time: number): void {
    if (time < this.firstTime) this.firstTime = time;
    if (time > this.lastTime) this.lastTime = time;
  }

  private event(kind: EventKind, conn: NvmeConnection, time: number, frame: number): LaneEvent {
    this.stamp(time);
    return { kind, conn, time, frame, fromHost: false, acked: -1, flag: undefined, outOfWindow: false, pdu: undefined, diagnostic: undefined };
  }

  /** To the model at once when nothing can come before it, else into the queue. */
  private add(e: LaneEvent): void {
    if (this.head === this.events.length && this.gate?.takesNow(this, e.time)) this.gate.take(this, e);
    else this.events.push(e);
  }

  private push(kind: EventKind, conn: NvmeConnection, time: number, frame: number): LaneEvent {
    const e = this.event(kind, conn, time, frame);
    this.events.push(e);
    return e;
  }

  connection(conn: NvmeConnection): void {
    this.add(this.event(EventKind.Connection, conn, Math.max(conn.tcp.firstTime, this.lastTime), conn.tcp.firstFrame));
  }

  packet(conn: NvmeConnection, fromHost: boolean, frame: number, time: number, peerAcked: number): void {
    const gate = this.gate;
    if (gate) {
      if (gate.onlyPdus(this, conn)) return this.stamp(time);
      if (this.head === this.events.length && gate.takesNow(this, time)) {
        this.stamp(time);
        return gate.takePacket(this, conn, fromHost, frame, time, peerAcked);
      }
    }
    const e = this.push(EventKind.Packet, conn, time, frame);
    e.fromHost = fromHost;
    e.acked = peerAcked;
  }

  pdu(pdu: PduEvent, conn: NvmeConnection): void {
    const e = this.event(EventKind.Pdu, conn, pdu.time, pdu.frame);
    e.pdu = pdu;
    this.add(e);
  }

  tcpFlag(conn: NvmeConnection, fromHost: boolean, kind: FlagKind, frame: number, time: number, outOfWindow: boolean): void {
    if (this.gate?.onlyPdus(this, conn)) return this.stamp(time);
    const e = this.event(EventKind.Flag, conn, time, frame);
    e.fromHost = fromHost;
    e.flag = kind;
    e.outOfWindow = outOfWindow;
    this.add(e);
  }

  diagnostic(diag: StreamDiagnostic, conn: NvmeConnection): void {
    if (this.gate?.onlyPdus(this, conn)) return this.stamp(diag.time);
    const e = this.event(EventKind.Diagnostic, conn, diag.time, diag.frame);
    e.diagnostic = diag;
    this.add(e);
  }

  closed(conn: NvmeConnection): void {
    this.add(this.event(EventKind.Closed, conn, this.lastTime, conn.tcp.firstFrame));
  }
}
