import type { CaptureInput } from '../capture/capture-reader.js';
import type { PduEvent, PduSink } from '../nvme-tcp/types.js';
import { runPipeline, type PipelineOptions, type PipelineResult } from './pipeline.js';

/** What `pdus` needs to say besides the PDUs: TLS connections whose records stayed closed. */
export interface ListPdusResult extends PipelineResult {
  tlsConnections: number;
  tlsNotDecrypted: number;
}

export interface ListPdusOptions extends PipelineOptions {
  /**
   * Also hand over PDUs with bytes that were never captured (dropped, or the capture ended):
   * tshark cannot reassemble those. PDUs only cut by the snapshot length are always listed, as tshark does.
   */
  includeIncomplete?: boolean;
}

/** Streams every PDU of a capture to `onPdu`, in the order their last byte arrived. */
export async function listPdus(
  input: CaptureInput,
  onPdu: (pdu: PduEvent) => void,
  options: ListPdusOptions = {},
): Promise<ListPdusResult> {
  const tls = { tlsConnections: 0, tlsNotDecrypted: 0 };
  const sink: PduSink = {
    connection() {},
    packet() {},
    tcpFlag() {},
    diagnostic() {},
    closed(conn) {
      if (!conn.tls) return;
      tls.tlsConnections++;
      if (conn.tls.decryption !== 'decrypted') tls.tlsNotDecrypted++;
    },
    pdu(pdu) {
      if (pdu.missingCause === 'not-captured' && !options.includeIncomplete) return;
      onPdu(pdu);
    },
  };
  return { ...(await runPipeline(input, sink, options)), ...tls };
}
