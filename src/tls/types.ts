import type { GapCause, Side } from '../reassembly/types.js';

/**
 * Why a TLS connection's records were, or were not, opened:
 * - `decrypted`: secrets found, records authenticated;
 * - `no-keylog`: no --tls-keylog was given;
 * - `no-secret`: the key logs hold no traffic secret for this connection's ClientHello random;
 * - `no-handshake`: the capture lacks the ClientHello or ServerHello that pick the secrets and cipher;
 * - `unsupported`: not TLS 1.3, or a cipher suite TLS 1.3 does not define;
 * - `auth-failed`: a record did not authenticate with the logged secret (wrong key log, or damaged);
 * - `handshake-failed`: an alert ended the handshake before the ServerHello (a PSK the other side
 *   does not know, say): NVMe/TCP never ran on this connection.
 */
export type TlsDecryption = 'decrypted' | 'no-keylog' | 'no-secret' | 'no-handshake' | 'unsupported' | 'auth-failed' | 'handshake-failed';

/** What the TLS layer learnt about one connection: live, read by the report when the connection ends. */
export interface TlsStatus {
  /** The TCP side that sent the ClientHello: the NVMe/TCP host. */
  clientSide: Side | undefined;
  firstFrame: number;
  firstTime: number;
  version: string | null;
  cipher: string | null;
  /** ClientHello.random in hex: the key log's key for this connection. */
  clientRandom: string | null;
  decryption: TlsDecryption;
  /** Said to the user when not `decrypted`, or when decryption stopped part-way. */
  reason: string | null;
  /** Records opened (both directions), and the application bytes they held. */
  records: number;
  plaintextBytes: number;
  /** Ciphertext bytes (record headers included) that could not be opened: lost with a gap, failed, or never keyed. */
  undecryptedBytes: number;
  /** Records of the encrypted handshake opened or passed over; KeyUpdates followed. */
  handshakeRecords: number;
  keyUpdates: number;
  /** Alerts, by name, in the order they came (close_notify is the orderly end). */
  alerts: string[];
  /** Times the record stream was found again after bytes were lost. */
  resyncs: number;
}

/** Where the TLS layer sends what it opened. */
export interface TlsOutput {
  /** Decrypted application bytes of one side's stream, in order. */
  plaintext(side: Side, bytes: Uint8Array, offset: number, length: number, frame: number, time: number): void;
  /** `length` application bytes of one side's stream were in records that could not be opened. */
  lost(side: Side, length: number, frame: number, time: number, cause: GapCause): void;
  /** Ciphertext bytes passed over, and why (for the report's stream problems). */
  problem(side: Side, frame: number, time: number, streamOffset: number, length: number, message: string): void;
}
