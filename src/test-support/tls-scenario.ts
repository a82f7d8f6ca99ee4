/**
 * Scripted conversations over real TLS 1.3: the scenario is run once to learn what each connection
 * sends, every connection's bytes then go through Node's TLS stack (OpenSSL) — a client for the host,
 * a server for the controller, over an in-memory pipe — and the scenario is run again with the
 * ciphertext the stack wrote. The key log is the stack's own (its `keylog` events).
 */
import { readFileSync } from 'node:fs';
import { Duplex } from 'node:stream';
import { connect, TLSSocket } from 'node:tls';
import { concat } from './builders.js';
import { Scenario, type TcpConn, type Wire } from './scenario.js';

export interface TlsOptions {
  /** A TLS 1.3 suite name, as OpenSSL spells it; default TLS_AES_128_GCM_SHA256. */
  cipher?: string;
  /** Authenticate with a pre-shared key, as NVMe/TCP TP 8011 does (default), or with the test certificate (needed for SHA-384 suites). */
  auth?: 'psk' | 'certificate';
  /** The controller knows no PSK for the host's identity: the handshake fails with the stack's alert, nothing is carried. */
  unknownPsk?: boolean;
}

interface Chunk {
  fromHost: boolean;
  bytes: Uint8Array;
}

/** What one connection sent: recorded in the first run, sealed for the second. */
interface ConnScript {
  sends: Chunk[];
  handshake: Chunk[];
  sealed: Uint8Array[];
  next: number;
}

const FIXTURES = new URL('../../fixtures/tls/', import.meta.url);
const PSK = Buffer.alloc(32, 0x5a);

/** Runs `build` over TLS: returns the scenario (its packets carry ciphertext) and the NSS key log. */
export async function tlsScenario(build: (s: Scenario) => void, options: TlsOptions = {}): Promise<{ scenario: Scenario; keyLog: string }> {
  const scripts: ConnScript[] = [];
  const record = new Scenario();
  record.wire = scriptWire(scripts, false);
  build(record);
  const keyLog: string[] = [];
  for (const script of scripts) await runTls(script, options, keyLog);
  const scenario = new Scenario(record.link);
  for (const script of scripts) script.next = 0;
  scenario.wire = scriptWire(scripts, true);
  build(scenario);
  return { scenario, keyLog: keyLog.join('') };
}

function scriptWire(scripts: ConnScript[], sealed: boolean): Wire {
  const byConn = new Map<TcpConn, ConnScript>();
  let opened = 0;
  return {
    opened(conn) {
      const script = sealed ? scripts[opened++] : { sends: [], handshake: [], sealed: [], next: 0 };
      if (!sealed) scripts.push(script);
      byConn.set(conn, script);
      for (const c of script.handshake) conn.send(c.fromHost, c.bytes, { raw: true });
    },
    seal(conn, fromHost, bytes) {
      const script = byConn.get(conn);
      if (!script) return bytes; // a connection without a TCP handshake in the script carries no TLS
      if (!sealed) {
        script.sends.push({ fromHost, bytes: bytes.slice() });
        return bytes;
      }
      return script.sealed[script.next++];
    },
  };
}

/** One TLS session carrying `script.sends` in order; fills in its handshake flights and sealed records. */
async function runTls(script: ConnScript, options: TlsOptions, keyLog: string[]): Promise<void> {
  const wire: Chunk[] = [];
  let toServer: Duplex | undefined;
  let toClient: Duplex | undefined;
  const hostEnd = new Duplex({ read() {}, write(c, _e, done) { wire.push({ fromHost: true, bytes: new Uint8Array(c) }); toServer!.push(c); done(); } });
  const ctrlEnd = new Duplex({ read() {}, write(c, _e, done) { wire.push({ fromHost: false, bytes: new Uint8Array(c) }); toClient!.push(c); done(); } });
  toServer = ctrlEnd;
  toClient = hostEnd;
  const cipher = options.cipher ?? 'TLS_AES_128_GCM_SHA256';
  const common = { minVersion: 'TLSv1.3' as const, maxVersion: 'TLSv1.3' as const, ciphers: cipher };
  const psk = (options.auth ?? 'psk') === 'psk';
  const server = new TLSSocket(ctrlEnd, {
    isServer: true, ...common,
    ...(psk ? { pskCallback: () => (options.unknownPsk ? null : PSK) } : { key: readFileSync(new URL('test-key.pem', FIXTURES)), cert: readFileSync(new URL('test-cert.pem', FIXTURES)) }),
  });
  const client = connect({
    socket: hostEnd, ...common, rejectUnauthorized: false,
    ...(psk ? { pskCallback: () => ({ psk: PSK, identity: 'NVMe0R01 nqn.test.host nqn.test.subsys' }), checkServerIdentity: () => undefined } : {}),
  });
  client.on('keylog', (line: Buffer) => keyLog.push(line.toString()));
  const received = { host: 0, ctrl: 0 };
  client.on('data', (d: Buffer) => (received.host += d.length));
  server.on('data', (d: Buffer) => (received.ctrl += d.length));
  const failed = new Promise<never>((_, reject) => {
    client.on('error', reject);
    server.on('error', reject);
  });
  const secure = Promise.all([new Promise((r) => client.once('secureConnect', r)), new Promise((r) => server.once('secure', r))]);
  if (options.unknownPsk) await failed.catch(() => undefined);
  else await Promise.race([secure, failed]);
  for (let i = 0; i < 5; i++) await settle(); // the server's session tickets follow the handshake
  script.handshake = wire.splice(0);
  if (options.unknownPsk) {
    script.sealed = script.sends.map(() => new Uint8Array(0));
    client.destroy();
    server.destroy();
    return;
  }
  for (const send of script.sends) {
    const want = (send.fromHost ? received.ctrl : received.host) + send.bytes.length;
    (send.fromHost ? client : server).write(send.bytes);
    while ((send.fromHost ? received.ctrl : received.host) < want) await Promise.race([settle(), failed]);
    const chunks = wire.splice(0);
    if (chunks.some((c) => c.fromHost !== send.fromHost)) throw new Error('the TLS stack wrote in the other direction while carrying a send');
    script.sealed.push(concat(chunks.map((c) => c.bytes)));
  }
  client.destroy();
  server.destroy();
}

function settle(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
