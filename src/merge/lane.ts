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
  /** Short name of the capture (host, target), set when the merge knows where it was taken. */
  code = 0;

  constructor(readonly index: number, readonly file: string) {}

  get length(): number {
    return this.events.length - this.head;
  }

  peek(): LaneEvent | undefined {
    return this.head < this.events.length ? this.events[this.head] : undefined;
  }

  /** Events from `from` on, without taking them (the probe reads them in place). */
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

  private push(kind: EventKind, conn: NvmeConnection, time: number, frame: number): LaneEvent {
    const e: LaneEvent = { kind, conn, time, frame, fromHost: false, acked: -1, flag: undefined, outOfWindow: false, pdu: undefined, diagnostic: undefined };
    if (time < this.firstTime) this.firstTime = time;
    if (time > this.lastTime) this.lastTime = time;
    this.events.push(e);
    return e;
  }

  connection(conn: NvmeConnection): void {
    this.push(EventKind.Connection, conn, Math.max(conn.tcp.firstTime, this.lastTime), conn.tcp.firstFrame);
  }

  packet(conn: NvmeConnection, fromHost: boolean, frame: number, time: number, peerAcked: number): void {
    const e = this.push(EventKind.Packet, conn, time, frame);
    e.fromHost = fromHost;
    e.acked = peerAcked;
  }

  pdu(pdu: PduEvent, conn: NvmeConnection): void {
    this.push(EventKind.Pdu, conn, pdu.time, pdu.frame).pdu = pdu;
  }

  tcpFlag(conn: NvmeConnection, fromHost: boolean, kind: FlagKind, frame: number, time: number, outOfWindow: boolean): void {
    const e = this.push(EventKind.Flag, conn, time, frame);
    e.fromHost = fromHost;
    e.flag = kind;
    e.outOfWindow = outOfWindow;
  }

  diagnostic(diag: StreamDiagnostic, conn: NvmeConnection): void {
    this.push(EventKind.Diagnostic, conn, diag.time, diag.frame).diagnostic = diag;
  }

  closed(conn: NvmeConnection): void {
    this.push(EventKind.Closed, conn, this.lastTime, conn.tcp.firstFrame);
  }
}
