// esbuild options shared by the CLI bundle (scripts/build.mjs) and the single executable (scripts/build-agent.mjs),
// so both ship the same code built the same way.
import { readFile } from 'node:fs/promises';

/** `import text from './x.hbs?raw'` (what vitest understands natively) becomes a string in the bundle. */
export const rawTextPlugin = {
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

export const CLI_ENTRY = 'cli/main.ts';

/** One CommonJS file for Node 24; command modules stay behind lazy `import()` so `--version` parses little. */
export const cliBuildOptions = {
  entryPoints: [CLI_ENTRY],
  outfile: 'dist/eks-node-diag.cjs',
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  // Class names appear in error messages and internal-error reports.
  keepNames: true,
  sourcemap: 'linked',
  legalComments: 'none',
  banner: { js: '#!/usr/bin/env node' },
  plugins: [rawTextPlugin],
  logLevel: 'warning',
};
