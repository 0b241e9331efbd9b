// Regenerates docs/rules.md from the rules' metadata through the built CLI (`npm run docs` builds it first), so the
// page is exactly what `eks-node-diag rules --md` prints. analyzer/commands/rules.test.ts fails when the page is stale.
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { buildProgram } = require('../dist/eks-node-diag.cjs');

let page = '';
const program = buildProgram({
  out: (text) => {
    page += text;
  },
  err: (text) => process.stderr.write(text),
  isTTY: false,
});
await program.parseAsync(['rules', '--md'], { from: 'user' });
if (!page.startsWith('<!--'))
  throw new Error('eks-node-diag rules --md printed no catalog; docs/rules.md left as it was');
await writeFile(new URL('../docs/rules.md', import.meta.url), page);
process.stdout.write(`docs/rules.md: ${page.split('\n').length - 1} lines\n`);
