// Bundles the CLI into one CommonJS file that runs on Node 24 (and later becomes the single executable).
import { readFile } from 'node:fs/promises';
import { build } from 'esbuild';

/** `import text from './x.hbs?raw'` (what vitest understands natively) becomes a string in the bundle. */
const rawText = {
  name: 'raw-text',
  setup(builder) {
    builder.onResolve({ filter: /\?raw$/ }, (args) => ({
      path: new URL(args.path.replace(/\?raw$/, ''), `file://${args.resolveDir}/`).pathname,
      namespace: 'raw-text',
    }));
    builder.onLoad({ filter: /.*/, namespace: 'raw-text' }, async (args) => ({
      contents: await readFile(args.path, 'utf8'),
      loader: 'text',
    }));
  },
};

await build({
  entryPoints: ['cli/main.ts'],
  outfile: 'dist/eks-node-diag.cjs',
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  keepNames: true,
  sourcemap: 'linked',
  legalComments: 'none',
  banner: { js: '#!/usr/bin/env node' },
  plugins: [rawText],
  logLevel: 'warning',
});
