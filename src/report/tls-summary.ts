import { count } from '../common/text.js';
import type { TlsReport } from '../correlate/types.js';
import type { TlsDecryption } from '../tls/types.js';

const WHY: Record<Exclude<TlsDecryption, 'decrypted'>, string> = {
  'no-keylog': 'not decrypted: give --tls-keylog FILE (the SSLKEYLOGFILE of tlshd on the host or the target)',
  'no-secret': 'without a secret in the key log',
  'no-handshake': 'without the handshake in the capture',
  unsupported: 'not TLS 1.3',
  'auth-failed': 'whose records did not authenticate with the logged secret',
  'handshake-failed': 'whose TLS handshake failed',
};

/** The TLS sentences of the text and Markdown reports: one line on the connections, one on the key log when it held junk. */
export function tlsSummary(t: TlsReport | null): string[] {
  if (!t) return [];
  const lines: string[] = [];
  if (t.connections === 0) {
    lines.push(`--tls-keylog given (${count(t.keyLog?.sessions ?? 0, 'session')}), but no NVMe/TCP connection used TLS`);
  } else {
    const ciphers = [...new Set(t.list.map((c) => c.cipher).filter((c) => c !== null))];
    const rest = (Object.entries(t.byDecryption) as [TlsDecryption, number][]).filter(([k]) => k !== 'decrypted').map(([k, n]) => `${n} ${WHY[k as Exclude<TlsDecryption, 'decrypted'>]}`);
    lines.push(`NVMe/TCP over TLS on ${count(t.connections, 'connection')}: ${t.decrypted} decrypted${ciphers.length ? ` (${ciphers.join(', ')})` : ''}${rest.length ? `; ${rest.join('; ')}` : ''}`);
  }
  const k = t.keyLog;
  if (k?.ignoredLines) lines.push(`key log: skipped ${count(k.ignoredLines, 'line')} not in the NSS key log format (first: ${k.firstIgnored!.file} line ${k.firstIgnored!.line})`);
  return lines;
}
