import MarkdownIt from 'markdown-it';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../api/analyze-capture.js';
import { ioCmd } from '../test-support/builders.js';
import { connectAssociation, Scenario } from '../test-support/scenario.js';
import { escapeData, escapeProperty, githubAnnotations } from './github.js';
import { renderJunit } from './junit.js';
import { mdCode, mdText, renderMarkdown } from './markdown.js';

/** CommonMark with GitHub's tables, raw HTML allowed: what an issue tracker would do with it. */
const md = new MarkdownIt({ html: true });

async function* once(bytes: Uint8Array) {
  yield bytes;
}

describe('Markdown report', () => {
  it('early-retry.pcap: the verdict first, then each retry\'s evidence as a table, the filter in a code span, the tool and command last', async () => {
    const report = await analyzeCapture('fixtures/early-retry.pcap');
    const text = renderMarkdown(report, { commandLine: 'nvme-tcp-timeline analyze early-retry.pcap --markdown' });
    const tokens = md.parse(text, {});
    // The first block is the verdict, in bold.
    expect(tokens[0].type).toBe('paragraph_open');
    expect(tokens[1].content).toBe('**2 commands resubmitted before KATO: 1 write, 1 read.**');
    const html = md.render(text);
    expect(html).toContain('<strong>2 commands resubmitted before KATO: 1 write, 1 read.</strong>');
    expect(html).toContain('<th>step</th>');
    expect((html.match(/<table>/g) ?? []).length).toBeGreaterThanOrEqual(3);
    expect(html).toMatch(/<td>original-sent<\/td>\s*<td>111<\/td>/);
    expect(html).toMatch(/<td>retry<\/td>\s*<td>161<\/td>/);
    expect(html).toContain('<code>frame.number in {109 111 118 161}</code>');
    expect(text.trimEnd().split('\n').at(-1)).toBe(`nvme-tcp-timeline ${report.tool.version} · \`nvme-tcp-timeline analyze early-retry.pcap --markdown\``);
    // Short enough to paste.
    expect(text.split('\n').length).toBeLessThan(80);
    expect(renderMarkdown(await analyzeCapture('fixtures/clean-io.pcap'))).toContain(', 1 association, 71 commands;');
  });

  it('renders a crafted NQN with Markdown and HTML in it as text', async () => {
    const evil = 'nqn.x:<script>alert(1)</script>**bold**[link](http://evil.example)|cell`code`<img src=x onerror=alert(2)>';
    const s = new Scenario();
    const a1 = connectAssociation(s, { katoMs: 30000, cntlid: 1, hostnqn: evil });
    a1.io[0].host(ioCmd(1, 0x11, 100, 8));
    s.wait(1000);
    a1.io[0].fin(true);
    connectAssociation(s, { katoMs: 30000, cntlid: 2, hostnqn: evil }).io[0].host(ioCmd(1, 0x20, 100, 8));
    const report = await analyzeCapture(once(s.pcap()), { name: 'crafted `name` <b>.pcap' });
    const html = md.render(renderMarkdown(report));
    expect(html).not.toMatch(/<script|<img|<strong>bold|<a |<b>|onerror=alert\(2\)>/);
    // The NQN is there, as text: one table cell, its characters shown, not interpreted.
    const dom = html.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/&quot;/g, '"');
    expect(dom).toContain(evil);
    const row = html.split('\n').find((l) => l.includes('alert(1)'))!;
    expect(row).toBeDefined();
    expect(html.match(/<tr>/g)!.length).toBe(html.match(/<\/tr>/g)!.length);
  });

  it('escapes only what changes structure', () => {
    expect(mdText('Write (frame 111) 9.186 s')).toBe('Write (frame 111) 9.186 s');
    expect(mdText('# not a heading')).toBe('\\# not a heading');
    expect(mdText('1. not a list')).toBe('1\\. not a list');
    expect(mdText('a|b *c* _d_ [e] <f> ~~g~~')).toBe('a\\|b \\*c\\* \\_d\\_ \\[e\\] &lt;f&gt; \\~\\~g\\~\\~');
    expect(mdText('see https://x and www.y.z')).toBe('see https:\\/\\/x and www\\.y.z');
    expect(mdCode('a`b')).toBe('`` a`b ``');
  });
});

describe('CI outputs', () => {
  it('GitHub workflow commands: one per incident, then one per finding outside incidents, escaped as the runner reads them', async () => {
    const report = await analyzeCapture('fixtures/early-retry.pcap');
    const lines = githubAnnotations('traces/early,retry:1.pcap', report).trimEnd().split('\n');
    // Every finding of early-retry.pcap is part of its one incident.
    expect(report.incidents[0].findings).toHaveLength(report.findings.length);
    expect(lines).toEqual([expect.stringMatching(/^::error title=incident 1,file=traces\/early%2Cretry%3A1\.pcap::association 1 broke \(I\/O timeout\): 2 commands \(1 write, 1 read\) resubmitted before KATO \[/)]);
    // Outside an incident, a finding is an annotation of its own.
    const loose = { ...report, incidents: [] };
    const all = githubAnnotations('traces/early,retry:1.pcap', loose).trimEnd().split('\n');
    expect(all).toHaveLength(report.findings.length);
    expect(all.find((l) => l.startsWith('::error '))).toMatch(/^::error title=retry-before-kato,file=traces\/early%2Cretry%3A1\.pcap::Write SLBA 2100 NLB 1 \(frame 111\)/);
    expect(escapeData('50% done\r\nnext')).toBe('50%25 done%0D%0Anext');
    expect(escapeProperty('a:b,c')).toBe('a%3Ab%2Cc');
  });

  it('JUnit time is the analysis time, not the capture\'s length', async () => {
    const report = await analyzeCapture('fixtures/early-retry.pcap');
    expect(report.capture.durationS).toBeGreaterThan(20);
    const xml = renderJunit([{ file: 'early-retry.pcap', report, seconds: 0.042 }], 'error');
    expect(xml).toContain('name="early-retry.pcap" time="0.042"');
  });
});
