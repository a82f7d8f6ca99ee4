import { describe, expect, it } from 'vitest';
import { FORMAT_KEYS, FORMATS, outputFiles, stdoutFormat } from './formats.js';
import { buildProgram } from './main.js';

describe('report format registry', () => {
  it('every format is an option of analyze, check and timeline, from the registry; pdus takes only --json', () => {
    const program = buildProgram();
    for (const name of ['analyze', 'check', 'timeline', 'pdus']) {
      const cmd = program.commands.find((c) => c.name() === name)!;
      const flags = cmd.options.map((o) => o.long);
      for (const f of FORMATS) expect(flags, `${name} ${f.flag}`).toContain(f.flag);
    }
    expect(FORMATS.map((f) => f.key)).toEqual([...FORMAT_KEYS]);
  });

  it('every file a format is given is checked before the capture is read; only [file] formats go to stdout', () => {
    const files = Object.fromEntries(FORMATS.map((f) => [f.key, `/out/${f.key}`]));
    expect(outputFiles(files)).toEqual(FORMATS.map((f) => `/out/${f.key}`));
    expect(FORMATS.filter((f) => f.stdout).map((f) => f.key)).toEqual(FORMATS.filter((f) => f.argument === '[file]').map((f) => f.key));
    expect(stdoutFormat({ json: true })?.key).toBe('json');
    expect(stdoutFormat({ markdown: true, html: '/x.html' })?.key).toBe('markdown');
    expect(stdoutFormat({ json: '/x.json' })).toBeUndefined();
    // A format is written after the analysis, streamed during it (perfetto), or writes its file itself (annotate).
    for (const f of FORMATS) expect(Boolean(f.render || f.write || f.key === 'perfetto'), f.key).toBe(true);
  });
});
