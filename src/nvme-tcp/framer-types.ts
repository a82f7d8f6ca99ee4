/** What the PDU framer and its user tell each other: the framed PDU, the body plan, the callbacks, where bytes went. */

/** What to do with the bytes after a PDU's header. */
export interface BodyPlan {
  /** Copy data bytes here: data byte k goes to collect[collectBase + k] while it fits. */
  collect?: Uint8Array;
  collectBase?: number;
  /** Compute CRC32C over the data to check the data digest. */
  verifyDigest: boolean;
}

/** The PDU being framed, shared with the callbacks; reused. */
export interface FramedPdu {
  type: number;
  flags: number;
  hlen: number;
  pdo: number;
  plen: number;
  streamOffset: number;
  firstFrame: number;
  firstTime: number;
  /** Header digest: undefined when absent. */
  hdgstOk: boolean | undefined;
  /** Data digest: undefined when absent or not checkable (bytes missing). */
  ddgstOk: boolean | undefined;
  /** Bytes of the PDU that were never captured. */
  missing: number;
  /**
   * The first loss inside this PDU: cut by the snapshot length (Wireshark then shows the PDU in that
   * frame, from what it holds) or bytes never captured; and where it happened.
   */
  lossCause: 'snaplen' | 'not-captured' | undefined;
  lossFrame: number;
  lossTime: number;
  /** Data bytes copied into the plan's collect buffer. */
  collected: number;
}

export interface FramerCallbacks {
  /** Header complete at bytes[offset, offset + length) (hlen bytes, then the digest if any): decode it and plan the body. */
  header(bytes: Uint8Array, offset: number, length: number, pdu: FramedPdu): BodyPlan;
  /** The PDU's last byte arrived, or the stream ended or lost bytes inside it (`pdu.missing` > 0). */
  complete(pdu: FramedPdu, frame: number, time: number): void;
  /** Bytes that are not PDUs: skipped while hunting for a boundary, or lost. */
  skipped(kind: 'resync' | 'garbage' | 'truncated-pdu', streamOffset: number, length: number, frame: number, time: number, message: string): void;
}

/** Where every byte of a stream went: into PDUs, skipped as not-a-PDU, or never captured. */
export interface ByteAccount {
  pdu: number;
  skipped: number;
  lost: number;
}
