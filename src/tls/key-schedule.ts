/**
 * The part of the TLS 1.3 key schedule a capture reader needs (RFC 8446 §7.1, §7.3): from a traffic
 * secret of the key log to the record key and IV, and the next secret after a KeyUpdate.
 */
import { createHmac } from 'node:crypto';

export interface CipherSuite {
  id: number;
  name: string;
  /** Node's AEAD cipher name. */
  aead: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305' | 'aes-128-ccm';
  hash: 'sha256' | 'sha384';
  keyLength: number;
  tagLength: number;
}

/** The TLS 1.3 suites (RFC 8446 §B.4); TP 8011 requires the first two, tlshd also offers ChaCha20. */
export const CIPHER_SUITES: ReadonlyMap<number, CipherSuite> = new Map(
  ([
    [0x1301, 'TLS_AES_128_GCM_SHA256', 'aes-128-gcm', 'sha256', 16, 16],
    [0x1302, 'TLS_AES_256_GCM_SHA384', 'aes-256-gcm', 'sha384', 32, 16],
    [0x1303, 'TLS_CHACHA20_POLY1305_SHA256', 'chacha20-poly1305', 'sha256', 32, 16],
    [0x1304, 'TLS_AES_128_CCM_SHA256', 'aes-128-ccm', 'sha256', 16, 16],
    [0x1305, 'TLS_AES_128_CCM_8_SHA256', 'aes-128-ccm', 'sha256', 16, 8],
  ] as const).map(([id, name, aead, hash, keyLength, tagLength]) => [id, { id, name, aead, hash, keyLength, tagLength }]),
);

export const IV_LENGTH = 12;

/** The record protection of one direction under one traffic secret. */
export interface TrafficKeys {
  suite: CipherSuite;
  secret: Uint8Array;
  key: Uint8Array;
  iv: Uint8Array;
}

/** HKDF-Expand (RFC 5869 §2.3). */
function hkdfExpand(hash: CipherSuite['hash'], prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let previous: Uint8Array = new Uint8Array(0);
  for (let filled = 0, counter = 1; filled < length; counter++) {
    previous = createHmac(hash, prk).update(previous).update(info).update(Uint8Array.of(counter)).digest();
    out.set(previous.subarray(0, Math.min(previous.length, length - filled)), filled);
    filled += previous.length;
  }
  return out;
}

/** HKDF-Expand-Label(secret, label, context, length): the HkdfLabel structure with the "tls13 " prefix. */
export function hkdfExpandLabel(hash: CipherSuite['hash'], secret: Uint8Array, label: string, context: Uint8Array, length: number): Uint8Array {
  const fullLabel = new TextEncoder().encode(`tls13 ${label}`);
  const info = new Uint8Array(2 + 1 + fullLabel.length + 1 + context.length);
  info[0] = length >> 8;
  info[1] = length & 0xff;
  info[2] = fullLabel.length;
  info.set(fullLabel, 3);
  info[3 + fullLabel.length] = context.length;
  info.set(context, 4 + fullLabel.length);
  return hkdfExpand(hash, secret, info, length);
}

const EMPTY = new Uint8Array(0);

export function trafficKeys(suite: CipherSuite, secret: Uint8Array): TrafficKeys {
  return {
    suite, secret,
    key: hkdfExpandLabel(suite.hash, secret, 'key', EMPTY, suite.keyLength),
    iv: hkdfExpandLabel(suite.hash, secret, 'iv', EMPTY, IV_LENGTH),
  };
}

/** After a KeyUpdate: application_traffic_secret_N+1 (RFC 8446 §7.2). */
export function updatedKeys(keys: TrafficKeys): TrafficKeys {
  const hashLength = keys.suite.hash === 'sha384' ? 48 : 32;
  return trafficKeys(keys.suite, hkdfExpandLabel(keys.suite.hash, keys.secret, 'traffic upd', EMPTY, hashLength));
}
