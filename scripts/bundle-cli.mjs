// Bundles the CLI into one file (dist/cli.bundle.js), which bin/ runs: start-up reads and links one
// module instead of some fifty (npm run bench measured a small capture at 2.4x a bare `node -e 0`
// from dist/, 1.9x from the bundle). The library (dist/api) stays as tsc wrote it.
import { build } from 'esbuild';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
await build({
  entryPoints: [join(root, 'dist', 'cli', 'main.js')],
  outfile: join(root, 'dist', 'cli.bundle.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Whitespace and syntax only: names stay, so an internal error's stack still reads.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  // commander is CommonJS: its require() calls need a require in an ES module.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});
