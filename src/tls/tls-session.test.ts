import { describe, expect, it } from 'vitest';
import type { GapCause, Side } from '../reassembly/types.js';
import { CIPHER_SUITES, trafficKeys, updatedKeys, type TrafficKeys } from './key-schedule.js';
import { TlsKeyLog } from './keylog.js';
import { ContentType, sealRecord } from './record-protection.js';
import { NO_KEYLOG_REASON, TlsSession } from './tls-session.js';

/** RFC 8448 §3 (simple 1-RTT handshake): the server's handshake traffic secret and the record key and IV it yields. */
describe('key schedule', () => {
  it('derives the RFC 8448 record key and IV from a traffic secret', () => {
    const secret = Buffer.from('b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38', 'hex');
    const keys = trafficKeys(CIPHER_SUITES.get(0x1301)!, secret);
    expect(Buffer.from(keys.key).toString('hex')).toBe('3fce516009c21727d0f2e4e86ee403bc');
    expect(Buffer.from(keys.iv).toString('hex')).toBe('5d313eb2671276ee13000b30');
  });
});

const SUITE = 0x1301;
const RANDOM = new Uint8Array(32).fill(0x42);
const SECRETS = { CLIENT_HANDSHAKE_TRAFFIC_SECRET: 1, SERVER_HANDSHAKE_TRAFFIC_SECRET: 2, CLIENT_TRAFFIC_SECRET_0: 3, SERVER_TRAFFIC_SECRET_0: 4 };
const secret = (n: number) => new Uint8Array(32).fill(n);
const keysOf = (n: number, suite = SUITE) => trafficKeys(CIPHER_SUITES.get(suite)!, secret(n));

function keyLog(labels = Object.keys(SECRETS) as (keyof typeof SECRETS)[], random = RANDOM): TlsKeyLog {
  const log = new TlsKeyLog();
  const lines = labels.map((l) => `${l} ${Buffer.from(random).toString('hex')} ${Buffer.from(secret(SECRETS[l])).toString('hex')}`);
  return log.read(() => [lines.join('\n')], 'keys.txt');
}

function handshakeMessage(type: number, body: Uint8Array): Uint8Array {
  return Uint8Array.from([type, body.length >> 16, (body.length >> 8) & 255, body.length & 255, ...body]);
}

function plainRecord(type: number, content: Uint8Array): Uint8Array {
  return Uint8Array.from([type, 3, 3, content.length >> 8, content.length & 255, ...content]);
}

const clientHello = plainRecord(ContentType.Handshake, handshakeMessage(1, Uint8Array.from([3, 3, ...RANDOM, 0, 0, 2, 0x13, 0x01, 1, 0, 0, 0])));
function serverHello(suite = SUITE, version = 0x0304): Uint8Array {
  const ext = [0, 43, 0, 2, version >> 8, version & 255];
  return plainRecord(ContentType.Handshake, handshakeMessage(2, Uint8Array.from([3, 3, ...new Uint8Array(32).fill(9), 0, suite >> 8, suite & 255, 0, 0, ext.length, ...ext])));
}
const finished = handshakeMessage(20, new Uint8Array(32).fill(0xf1));
const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

/** A client stream: ClientHello, CCS, Finished under the handshake key, then `app` records under the traffic keys. */
function clientStream(app: Uint8Array[], keys: TrafficKeys = keysOf(3)): Uint8Array {
  return concat([clientHello, plainRecord(ContentType.ChangeCipherSpec, Uint8Array.of(1)), sealRecord(keysOf(1), 0, ContentType.Handshake, finished),
    ...app.map((a, i) => sealRecord(keys, i, ContentType.ApplicationData, a))]);
}

function serverStream(app: Uint8Array[]): Uint8Array {
  const encryptedExtensions = handshakeMessage(8, Uint8Array.of(0, 0));
  return concat([serverHello(), sealRecord(keysOf(2), 0, ContentType.Handshake, concat([encryptedExtensions, finished])),
    ...app.map((a, i) => sealRecord(keysOf(4), i, ContentType.ApplicationData, a))]);
}

interface Seen {
  plain: [number[], number[]];
  lost: { side: Side; length: number; cause: GapCause }[];
  problems: string[];
}

function session(log: TlsKeyLog | undefined) {
  const seen: Seen = { plain: [[], []], lost: [], problems: [] };
  const s = new TlsSession({
    plaintext: (side, b, o, n) => void seen.plain[side].push(...b.subarray(o, o + n)),
    lost: (side, length, _f, _t, cause) => void seen.lost.push({ side, length, cause }),
    problem: (_side, _f, _t, _o, _l, message) => void seen.problems.push(message),
  }, log, 1, 0);
  return { s, seen };
}

/** ClientHello, the server's flight, the rest of the client's stream: the order of the wire. */
function handshake(s: TlsSession, client: Uint8Array, server: Uint8Array): void {
  s.push(0, client, 0, clientHello.length, 1, 0);
  s.push(1, server, 0, server.length, 2, 0);
  s.push(0, client, clientHello.length, client.length - clientHello.length, 3, 0);
}

const APP = [bytes(100, 1), bytes(3000, 2), bytes(16384, 3)];

describe('TlsSession', () => {
  it('opens both directions, whatever the segment boundaries (every segment size from 1 to 600 bytes)', () => {
    const client = clientStream(APP);
    const server = serverStream([bytes(40, 7)]);
    const want = concat(APP);
    for (let size = 1; size <= 600; size++) {
      const { s, seen } = session(keyLog());
      // The server answers once the ClientHello is complete, and the client goes on after: as on the wire.
      const feed = (from: number, to: number) => {
        for (let o = from; o < to; o += size) s.push(0, client, o, Math.min(size, to - o), 1, 0);
      };
      feed(0, clientHello.length);
      s.push(1, server, 0, server.length, 2, 0);
      feed(clientHello.length, client.length);
      expect(Buffer.from(seen.plain[0]).equals(Buffer.from(want)), `size ${size}`).toBe(true);
      expect(seen.plain[1]).toEqual([...bytes(40, 7)]);
      expect(seen.problems).toEqual([]);
    }
    const { s } = session(keyLog());
    s.push(0, client, 0, clientHello.length, 1, 0);
    s.push(1, server, 0, server.length, 2, 0);
    s.push(0, client, clientHello.length, client.length - clientHello.length, 1, 0);
    expect(s.status).toMatchObject({ decryption: 'decrypted', reason: null, version: 'TLS 1.3', cipher: 'TLS_AES_128_GCM_SHA256', clientSide: 0, records: 6, plaintextBytes: want.length + 40 });
  });

  it('without the handshake secrets, the first record that opens under the traffic secret ends the handshake', () => {
    const { s, seen } = session(keyLog(['CLIENT_TRAFFIC_SECRET_0', 'SERVER_TRAFFIC_SECRET_0']));
    handshake(s, clientStream(APP), serverStream([bytes(40, 7)]));
    expect(seen.plain[0].length).toBe(100 + 3000 + 16384);
    expect(seen.plain[1].length).toBe(40);
    expect(s.status).toMatchObject({ decryption: 'decrypted', handshakeRecords: 2 });
  });

  it('follows a KeyUpdate, strips padding, names alerts', () => {
    const k0 = keysOf(3);
    const k1 = updatedKeys(k0);
    const stream = concat([clientHello, sealRecord(keysOf(1), 0, ContentType.Handshake, finished),
      sealRecord(k0, 0, ContentType.ApplicationData, bytes(10, 1), 200),
      sealRecord(k0, 1, ContentType.Handshake, handshakeMessage(24, Uint8Array.of(0))),
      sealRecord(k1, 0, ContentType.ApplicationData, bytes(20, 2)),
      sealRecord(k1, 1, ContentType.Alert, Uint8Array.of(1, 0))]);
    const { s, seen } = session(keyLog());
    handshake(s, stream, serverHello());
    expect(seen.plain[0]).toEqual([...bytes(10, 1), ...bytes(20, 2)]);
    expect(s.status).toMatchObject({ keyUpdates: 1, alerts: ['close_notify'], decryption: 'decrypted' });
  });

  it('a loss inside one record loses exactly that record; the next opens', () => {
    const client = clientStream(APP);
    const second = client.length - (5 + 16384 + 17) - (5 + 3000 + 17); // start of the 3000-byte record
    const { s, seen } = session(keyLog());
    handshake(s, client.subarray(0, second + 100), serverHello());
    s.gap(0, 500, 3, 0, 'not-captured');
    s.push(0, client, second + 600, client.length - second - 600, 4, 0);
    expect(seen.lost).toEqual([{ side: 0, length: 3000, cause: 'not-captured' }]);
    expect(seen.plain[0]).toEqual([...bytes(100, 1), ...bytes(16384, 3)]);
    expect(seen.problems[0]).toMatch(/TLS record lost 500 bytes/);
  });

  it('a loss across record boundaries: the stream is found again by trial, the plaintext lost counted exactly', () => {
    const app = Array.from({ length: 12 }, (_, i) => bytes(1000 + i, i + 1));
    const client = clientStream(app);
    const firstApp = client.length - app.reduce((n, a) => n + a.length + 22, 0);
    const from = firstApp + (1000 + 22) + 300; // inside record 1
    const to = firstApp + app.slice(0, 5).reduce((n, a) => n + a.length + 22, 0) + 7; // inside record 5
    const { s, seen } = session(keyLog());
    handshake(s, client.subarray(0, from), serverHello());
    s.gap(0, to - from, 3, 0, 'not-captured');
    s.push(0, client, to, client.length - to, 4, 0);
    // Records 1–5 are lost (1 and 5 in part): their content, 1001 + … + 1005 bytes.
    expect(seen.lost).toEqual([{ side: 0, length: 1001 + 1002 + 1003 + 1004 + 1005, cause: 'not-captured' }]);
    expect(seen.plain[0]).toEqual(concat([app[0], ...app.slice(6)]).reduce((a: number[], b) => (a.push(b), a), []));
    expect(s.status.resyncs).toBe(1);
    expect(seen.problems[0]).toMatch(/5 record\(s\) skipped.*found again at record 6/);
  });

  it('a wrong secret: authentication fails, said once, nothing is made up', () => {
    const log = new TlsKeyLog().read(() => [`CLIENT_TRAFFIC_SECRET_0 ${Buffer.from(RANDOM).toString('hex')} ${'ee'.repeat(32)}\nSERVER_TRAFFIC_SECRET_0 ${Buffer.from(RANDOM).toString('hex')} ${'ee'.repeat(32)}\n`], 'k');
    const { s, seen } = session(log);
    handshake(s, clientStream([...APP, ...APP]), serverStream([bytes(40, 7)]));
    s.end(0, 9, 0);
    s.end(1, 9, 0);
    expect(seen.plain).toEqual([[], []]);
    expect(s.status.decryption).toBe('auth-failed');
    expect(s.status.reason).toMatch(/^none of 7 records authenticated with the logged traffic secret \(frame 9\): the key log.s secret does not match/);
    expect(seen.problems.length).toBe(1); // the client's seven records cannot all be handshake; the server's two could
  });

  it('without a key log or without a secret for the random: recognised, said, not decrypted', () => {
    const a = session(undefined);
    a.s.push(0, clientHello, 0, clientHello.length, 1, 0);
    a.s.push(1, serverHello(), 0, serverHello().length, 2, 0);
    expect(a.s.status).toMatchObject({ decryption: 'no-keylog', reason: NO_KEYLOG_REASON, version: 'TLS 1.3' });
    const b = session(keyLog(undefined, new Uint8Array(32).fill(1)));
    b.s.push(0, clientHello, 0, clientHello.length, 1, 0);
    b.s.push(1, serverHello(), 0, serverHello().length, 2, 0);
    expect(b.s.status.decryption).toBe('no-secret');
    expect(b.s.status.reason).toContain('4242424242424242');
    const c = session(keyLog());
    c.s.push(0, clientHello, 0, clientHello.length, 1, 0);
    c.s.push(1, serverHello(SUITE, 0x0303), 0, serverHello().length, 2, 0);
    expect(c.s.status).toMatchObject({ decryption: 'unsupported', version: 'TLS 1.2' });
  });

  it('an alert that ends the handshake (a PSK the controller does not know) is said, key log or not', () => {
    for (const log of [undefined, keyLog()]) {
      const { s } = session(log);
      s.push(0, clientHello, 0, clientHello.length, 1, 0);
      const alert = plainRecord(ContentType.Alert, Uint8Array.of(2, 115));
      s.push(1, alert, 0, alert.length, 2, 0);
      expect(s.status).toMatchObject({
        decryption: 'handshake-failed', alerts: ['unknown_psk_identity'],
        reason: 'the TLS handshake failed: the controller sent the alert unknown_psk_identity before any ServerHello; NVMe/TCP never ran on this connection',
      });
    }
  });

  it('acknowledged ciphertext → the plaintext of the whole records it covers', () => {
    const client = clientStream([bytes(100, 1), bytes(200, 2)]);
    const { s } = session(keyLog());
    handshake(s, client, serverHello());
    const end = client.length;
    expect(s.plainAcked(0, end - 223)).toBe(-1);
    expect(s.plainAcked(0, end - 222)).toBe(100);
    expect(s.plainAcked(0, end - 1)).toBe(100);
    expect(s.plainAcked(0, end)).toBe(300);
  });
});
