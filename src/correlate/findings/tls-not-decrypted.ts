import type { TlsDecryption } from '../../tls/types.js';
import { declareRule, type JsonSchema } from './declare.js';

/** A TLS connection whose records were not (all) opened: why, and how much was read. */
export interface TlsNotDecryptedDetails {
  conn: number;
  decryption: TlsDecryption;
  version: string | null;
  cipher: string | null;
  clientRandom: string | null;
  records: number;
  undecryptedBytes: number;
}

const SCHEMA: JsonSchema = {
  type: 'object',
  required: ['conn', 'decryption', 'version', 'cipher', 'clientRandom', 'records', 'undecryptedBytes'],
  additionalProperties: false,
  properties: {
    conn: { type: 'integer' },
    decryption: { $ref: '#/$defs/tlsDecryption' },
    version: { type: ['string', 'null'] },
    cipher: { type: ['string', 'null'] },
    clientRandom: { type: ['string', 'null'], description: 'ClientHello.random in hex: the key log key for this connection' },
    records: { type: 'integer', description: 'records opened before decryption stopped' },
    undecryptedBytes: { type: 'integer' },
  },
};

/** A TLS connection whose records were not (all) opened. Without a key log it is information (the user's choice); with one, a warning: what was asked for could not be done. */
export const TLS_NOT_DECRYPTED = declareRule<TlsNotDecryptedDetails, { reason: string }>()({
  id: 'tls-not-decrypted',
  noisy: true,
  details: { name: 'tlsNotDecryptedDetails', schema: SCHEMA },
  severity: (d) => (d.decryption === 'no-keylog' || d.decryption === 'unsupported' ? 'info' : 'warning'),
  sentence(d, { reason }) {
    const read = d.records > 0 ? `; ${d.records} records were opened before that` : '';
    return `connection ${d.conn}: ${reason}${read}`;
  },
});
