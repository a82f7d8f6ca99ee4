/** The two handshake messages read in the clear (RFC 8446 §4.1.2–4.1.3): what picks the secrets and the cipher. */

import { u16be, u24be } from '../common/bytes.js';

export const HandshakeType = { ClientHello: 1, ServerHello: 2, NewSessionTicket: 4, Finished: 20, KeyUpdate: 24 } as const;

/** ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3). */
const HELLO_RETRY_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');
const SUPPORTED_VERSIONS = 43;

export interface ServerHello {
  /** 0x0304 for TLS 1.3 (the supported_versions extension), else the legacy version. */
  version: number;
  cipherSuite: number;
  helloRetry: boolean;
}

/** ClientHello body → its 32-byte random (after legacy_version). */
export function clientRandom(body: Uint8Array): Uint8Array | undefined {
  return body.length >= 34 ? body.slice(2, 34) : undefined;
}

/** ServerHello body → version, suite and whether it is a HelloRetryRequest; undefined when cut short. */
export function parseServerHello(b: Uint8Array): ServerHello | undefined {
  if (b.length < 38) return undefined;
  const helloRetry = Buffer.from(b.subarray(2, 34)).equals(HELLO_RETRY_RANDOM);
  let p = 34;
  p += 1 + b[p]; // legacy_session_id_echo
  if (p + 3 > b.length) return undefined;
  const cipherSuite = u16be(b, p);
  p += 3; // cipher suite, legacy compression method
  let version = u16be(b, 0);
  if (p + 2 <= b.length) {
    const end = Math.min(b.length, p + 2 + (u16be(b, p)));
    for (p += 2; p + 4 <= end; ) {
      const type = u16be(b, p);
      const length = u16be(b, p + 2);
      if (type === SUPPORTED_VERSIONS && length === 2 && p + 6 <= end) version = u16be(b, p + 4);
      p += 4 + length;
    }
  }
  return { version, cipherSuite, helloRetry };
}

export function versionName(version: number): string {
  if (version === 0x0304) return 'TLS 1.3';
  if (version >= 0x0301 && version <= 0x0303) return `TLS 1.${version - 0x0301}`;
  return `version 0x${version.toString(16).padStart(4, '0')}`;
}

/** Alert descriptions (RFC 8446 §6) worth a name in a report. */
export const ALERT_NAMES: Record<number, string> = {
  0: 'close_notify', 10: 'unexpected_message', 20: 'bad_record_mac', 40: 'handshake_failure', 42: 'bad_certificate',
  47: 'illegal_parameter', 48: 'unknown_ca', 50: 'decode_error', 51: 'decrypt_error', 70: 'protocol_version',
  80: 'internal_error', 90: 'user_canceled', 109: 'missing_extension', 115: 'unknown_psk_identity', 116: 'certificate_required',
};

/**
 * Handshake messages of one direction, reassembled across records (a message may span several, and
 * one record may hold several): each whole message goes to `visit`. Bounded: a message larger than
 * `limit` (a certificate chain, say) is skipped, not buffered.
 */
export class HandshakeReader {
  private buf = new Uint8Array(0);
  private len = 0;
  private skipping = 0;

  constructor(
    private readonly visit: (type: number, body: Uint8Array) => void,
    private readonly limit = 1 << 16,
  ) {}

  /** The message's whole size, header included, once its header is in. */
  private total(): number {
    return 4 + u24be(this.buf, 1);
  }

  push(b: Uint8Array, offset: number, length: number): void {
    let p = offset;
    const end = offset + length;
    while (p < end) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, end - p);
        this.skipping -= n;
        p += n;
        continue;
      }
      // Collect the 4-byte header, then the message it announces.
      const need = this.len < 4 ? 4 : this.total();
      if (this.len >= 4 && need > this.limit) {
        this.skipping = need - this.len;
        this.len = 0;
        continue;
      }
      if (this.buf.length < need) {
        const grown = new Uint8Array(Math.max(need, 64));
        grown.set(this.buf.subarray(0, this.len));
        this.buf = grown;
      }
      const n = Math.min(need - this.len, end - p);
      this.buf.set(b.subarray(p, p + n), this.len);
      this.len += n;
      p += n;
      if (this.len >= 4 && this.len === this.total()) {
        this.len = 0;
        this.visit(this.buf[0], this.buf.slice(4, 4 + u24be(this.buf, 1)));
      }
    }
  }
}
