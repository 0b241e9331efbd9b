/**
 * Regenerates samples/agent/<scenario>.tar.gz with the REAL agent: each simulated node (test/sim) is built, the
 * built CLI runs `collect` inside its network namespace, and the bundle is kept. Needs root, `ip netns`, iptables and
 * systemd-journal-remote (see test/sim/README.md). Unlike samples/bundles, these are not byte-reproducible: they carry
 * the time they were collected.
 *
 *   npm run samples:agent
 */
import { copyFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { checkSimulationPrerequisites } from '../test/sim/prerequisites.ts';
import { scenarioNames } from '../test/sim/scenarios.ts';
import { createNodeWorld } from '../test/sim/world.ts';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'dist', 'eks-node-diag.cjs');
const out = join(root, 'samples', 'agent');

const missing = checkSimulationPrerequisites().filter((check) => !check.ok);
if (missing.length > 0) {
  console.error(
    `cannot build agent samples: ${missing.map((check) => `${check.name}: ${check.detail} (${check.fix})`).join('; ')}`,
  );
  process.exit(1);
}
await mkdir(out, { recursive: true });
const work = await mkdtemp(join(tmpdir(), 'agent-samples-'));
try {
  for (const name of scenarioNames) {
    const world = await createNodeWorld(name);
    try {
      const bundle = join(work, `${name}.tar.gz`);
      const result = await world.exec(
        ['node', cli, 'collect', '--root', world.root, '--out', bundle, '--since', '24h'],
        {
          timeoutMs: 180_000,
        },
      );
      if (result.exitCode !== 0) throw new Error(`collect on ${name} exited ${result.exitCode}: ${result.stderr}`);
      await copyFile(bundle, join(out, `${name}.tar.gz`));
      console.log(`samples/agent/${name}.tar.gz  ${((await stat(bundle)).size / 1024).toFixed(0)} KiB`);
    } finally {
      await world.dispose();
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
