import { runPipeline } from '../api/pipeline.js';
import type { PduSink, PduEvent } from '../nvme-tcp/types.js';

// Temporary driver until the CLI lands.
const file = process.argv[2] ?? '-';
const out: string[] = [];
const sink: PduSink = {
  connection() {}, packet() {}, tcpFlag() {}, closed() {},
  diagnostic(d) { process.stderr.write(JSON.stringify(d) + '\n'); },
  pdu(p: PduEvent) { out.push(JSON.stringify({ frame: p.frame, type: p.type, cid: p.cid })); },
};
const r = await runPipeline(file, sink);
process.stdout.write(out.join('\n') + '\n');
process.stderr.write(JSON.stringify({ ...r.decode, ...r.reassembly, pdus: r.pdus }) + '\n');
