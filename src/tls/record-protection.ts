/** TLS 1.3 record protection (RFC 8446 §5.2–5.4): one record opened with the AEAD of its direction. */
import { createCipheriv, createDecipheriv, type CipherCCMTypes, type CipherGCMTypes } from 'node:crypto';
import { IV_LENGTH, type TrafficKeys } from './key-schedule.js';

export const RECORD_HEADER = 5;
/** TLSCiphertext.length may exceed 2^14 by 256 (RFC 8446 §5.2). */
export const MAX_CIPHERTEXT = (1 << 14) + 256;

export const ContentType = { ChangeCipherSpec: 20, Alert: 21, Handshake: 22, ApplicationData: 23 } as const;

/** The per-record nonce: the IV with the 64-bit record sequence number XORed into its last bytes. */
function nonce(iv: Uint8Array, seq: number): Uint8Array {
  const n = iv.slice();
  let s = seq;
  for (let i = IV_LENGTH - 1; i >= IV_LENGTH - 8 && s > 0; i--) {
    n[i] ^= s % 256;
    s = Math.floor(s / 256);
  }
  return n;
}

/** A decrypted record: the content is plaintext[0, length); `type` the inner content type. */
export interface OpenedRecord {
  plaintext: Uint8Array;
  length: number;
  type: number;
}

/**
 * Opens the record whose header is `header` (5 bytes, the additional data) and whose body is
 * body[offset, offset + length). Undefined when it does not authenticate under `keys` at `seq`
 * (wrong secret, wrong sequence number, damaged bytes) or holds no content type (all padding).
 */
export function openRecord(keys: TrafficKeys, seq: number, header: Uint8Array, body: Uint8Array, offset: number, length: number): OpenedRecord | undefined {
  const tagLength = keys.suite.tagLength;
  if (length <= tagLength) return undefined;
  const cipherLength = length - tagLength;
  let plaintext: Uint8Array;
  try {
    const decipher = keys.suite.aead === 'aes-128-ccm'
      ? createDecipheriv(keys.suite.aead as CipherCCMTypes, keys.key, nonce(keys.iv, seq), { authTagLength: tagLength })
      : createDecipheriv(keys.suite.aead as CipherGCMTypes, keys.key, nonce(keys.iv, seq), { authTagLength: tagLength });
    decipher.setAuthTag(body.subarray(offset + cipherLength, offset + length));
    decipher.setAAD(header, { plaintextLength: cipherLength });
    const head = decipher.update(body.subarray(offset, offset + cipherLength));
    const tail = decipher.final();
    plaintext = tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    return undefined;
  }
  // TLSInnerPlaintext: content, the real content type, then zero padding.
  let end = plaintext.length - 1;
  while (end >= 0 && plaintext[end] === 0) end--;
  if (end < 0) return undefined;
  return { plaintext, length: end, type: plaintext[end] };
}

/** The sealing side, for test captures and the benchmark: `content` of `type` as one record, with `padding` zero bytes. */
export function sealRecord(keys: TrafficKeys, seq: number, type: number, content: Uint8Array, padding = 0): Uint8Array {
  const tagLength = keys.suite.tagLength;
  const inner = new Uint8Array(content.length + 1 + padding);
  inner.set(content);
  inner[content.length] = type;
  const length = inner.length + tagLength;
  const header = Uint8Array.of(ContentType.ApplicationData, 3, 3, length >> 8, length & 0xff);
  const cipher = keys.suite.aead === 'aes-128-ccm'
    ? createCipheriv(keys.suite.aead as CipherCCMTypes, keys.key, nonce(keys.iv, seq), { authTagLength: tagLength })
    : createCipheriv(keys.suite.aead as CipherGCMTypes, keys.key, nonce(keys.iv, seq), { authTagLength: tagLength });
  cipher.setAAD(header, { plaintextLength: inner.length });
  const body = Buffer.concat([cipher.update(inner), cipher.final(), cipher.getAuthTag()]);
  const out = new Uint8Array(RECORD_HEADER + body.length);
  out.set(header);
  out.set(body, RECORD_HEADER);
  return out;
}
