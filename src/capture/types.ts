/**
 * One captured packet, handed to the decode stage. The object and its bytes are
 * borrowed: both are reused or overwritten after `record()` returns.
 */
export interface CaptureRecord {
  /** 1-based, counted over every packet block like Wireshark's frame.number. */
  frame: number;
  /** Seconds since the Unix epoch. */
  time: number;
  /** LINKTYPE_* value of the interface the packet was captured on. */
  linkType: number;
  bytes: Uint8Array;
  /** Packet data is bytes[offset, offset + capLen). */
  offset: number;
  capLen: number;
  /** Length on the wire; larger than capLen when the snaplen cut the packet. */
  origLen: number;
  /** Offset of the record in the (decompressed) capture stream. */
  fileOffset: number;
}

export interface CaptureSink {
  record(record: CaptureRecord): void;
}

/**
 * Sees every block of the file as it is (pcap: the file header and each
 * record; pcapng: every block), borrowed for the call, before the record it
 * holds (if any) reaches the CaptureSink. For writers that copy a capture.
 */
export interface BlockSink {
  block(bytes: Uint8Array, offset: number, size: number): void;
}

export type CaptureFormat = 'pcap' | 'pcapng';

/** What the reader learnt about the file itself. */
export interface CaptureInfo {
  format: CaptureFormat | 'unknown';
  compressed: boolean;
  /** pcap: 'us' or 'ns'; pcapng: resolution of the first interface. */
  timeResolution: string;
  byteOrder: 'little' | 'big' | 'unknown';
  linkTypes: number[];
  bytesRead: number;
  frames: number;
}

/** A damaged capture: everything before `byteOffset` was decoded. */
export interface CaptureProblem {
  kind: 'truncated' | 'corrupt' | 'read-error';
  byteOffset: number;
  /** Last frame decoded before the problem (0 when none). */
  afterFrame: number;
  message: string;
}

/** Raised by the framers for bytes that cannot be a capture record. */
export class CaptureFormatError extends Error {
  constructor(
    readonly byteOffset: number,
    message: string,
  ) {
    super(message);
    this.name = 'CaptureFormatError';
  }
}
