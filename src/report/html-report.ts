import type { Report } from './types.js';

/** Placeholder until the HTML timeline lands. */
export function renderHtml(reports: Report[]): string {
  return `<!doctype html><meta charset="utf-8"><title>nvme-tcp-timeline</title><pre>${reports.length} report(s)</pre>`;
}
