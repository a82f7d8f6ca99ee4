// Printed by `npm start` after its report: where the other outputs are.
const lines = [
  '',
  'That was fixtures/early-retry.pcap. Next:',
  '  node bin/nvme-tcp-timeline.js analyze YOUR.pcap                 the same report for your capture (pcap, pcapng, .gz, or - for stdin)',
  '  node bin/nvme-tcp-timeline.js analyze YOUR.pcap --html out.html  an interactive timeline to open in a browser',
  '  node bin/nvme-tcp-timeline.js analyze YOUR.pcap --json out.json  the full report as JSON (schema/report.schema.json)',
  '  node bin/nvme-tcp-timeline.js analyze YOUR.pcap --junit out.xml  JUnit for CI dashboards; `check` gates CI on findings',
  '  node bin/nvme-tcp-timeline.js timeline YOUR.pcap                 every command step by step; `pdus` lists each PDU as tshark would',
  '  node bin/nvme-tcp-timeline.js --help                             every command and option',
];
process.stdout.write(lines.join('\n') + '\n');
