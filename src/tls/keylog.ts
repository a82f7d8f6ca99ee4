/**
 * The NSS key log format (SSLKEYLOGFILE: what GnuTLS, and so tlshd, OpenSSL and Node write):
 * `LABEL <ClientHello.random, hex> <secret, hex>` per line, `#` comments. Only the TLS 1.3 traffic
 * secrets are used; every other line is counted, never fatal.
 */
import { eachLine, type LogText } from '../common/lines.js';

export interface SessionSecrets {
  clientHandshake?: Uint8Array;
  serverHandshake?: Uint8Array;
  client0?: Uint8Array;
  server0?: Uint8Array;
}

const LABELS: Record<string, keyof SessionSecrets | null> = {
  CLIENT_HANDSHAKE_TRAFFIC_SECRET: 'clientHandshake',
  SERVER_HANDSHAKE_TRAFFIC_SECRET: 'serverHandshake',
  CLIENT_TRAFFIC_SECRET_0: 'client0',
  SERVER_TRAFFIC_SECRET_0: 'server0',
  // Valid lines this reader has no use for: 0-RTT, exporters, TLS 1.2 and earlier.
  CLIENT_EARLY_TRAFFIC_SECRET: null,
  EARLY_EXPORTER_SECRET: null,
  EXPORTER_SECRET: null,
  CLIENT_RANDOM: null,
  RSA: null,
};

export class KeyLogFormatError extends Error {}

/** Key log lines of one or more files, by client random. */
export class TlsKeyLog {
  private readonly sessions = new Map<string, SessionSecrets>();
  readonly files: string[] = [];
  /** Lines holding a TLS 1.3 traffic secret. */
  secretLines = 0;
  /** Well-formed lines of other kinds (exporter, 0-RTT, TLS 1.2 CLIENT_RANDOM). */
  otherLines = 0;
  /** Lines that are not key log lines, and the first of them. */
  ignoredLines = 0;
  firstIgnored: { file: string; line: number } | undefined;

  /** Reads one file's lines; a file without a single key log line is not a key log. */
  read(text: LogText, file: string): this {
    const before = this.secretLines + this.otherLines;
    eachLine(text, (line, n) => this.add(line, file, n));
    this.files.push(file);
    if (this.secretLines + this.otherLines === before) throw new KeyLogFormatError(`${file} holds no NSS key log line (LABEL <client random> <secret>)`);
    return this;
  }

  add(line: string, file: string, lineNo: number): void {
    const text = line.trim();
    if (text === '' || text.startsWith('#')) return;
    const m = /^([A-Z0-9_]+) ([0-9a-fA-F]{64}) ([0-9a-fA-F]{32,192})$/.exec(text);
    const slot = m ? LABELS[m[1]] : undefined;
    if (!m || slot === undefined || m[3].length % 2 !== 0) {
      this.ignoredLines++;
      this.firstIgnored ??= { file, line: lineNo };
      return;
    }
    if (slot === null) {
      this.otherLines++;
      return;
    }
    const random = m[2].toLowerCase();
    let session = this.sessions.get(random);
    if (!session) this.sessions.set(random, (session = {}));
    session[slot] = Uint8Array.from(Buffer.from(m[3], 'hex'));
    this.secretLines++;
  }

  /** The secrets logged for the session whose ClientHello carried `clientRandom`. */
  secrets(clientRandom: Uint8Array): SessionSecrets | undefined {
    return this.sessions.get(Buffer.from(clientRandom).toString('hex'));
  }

  get sessionCount(): number {
    return this.sessions.size;
  }
}
