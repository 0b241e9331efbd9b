/**
 * What a simulated node needs from the machine: root (network namespaces, iptables), iproute2's `ip netns`,
 * iptables with both backends, systemd-journal-remote (to write journal files) and journalctl (to read them back).
 * In CI a missing piece fails the suite with the fix; on a developer machine the suite skips behind a banner.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface PrerequisiteCheck {
  name: string;
  ok: boolean;
  /** What was found, or what is missing. */
  detail: string;
  fix: string;
}

const APT_FIX = 'apt-get install -y iptables systemd-journal-remote iproute2';

const JOURNAL_REMOTE_PATHS = ['/lib/systemd/systemd-journal-remote', '/usr/lib/systemd/systemd-journal-remote'];

export function findJournalRemote(exists: (path: string) => boolean = existsSync): string | undefined {
  return JOURNAL_REMOTE_PATHS.find((path) => exists(path));
}

function runs(program: string, args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(program, args, { encoding: 'utf8', timeout: 10_000 });
  if (result.error) return { ok: false, output: result.error.message };
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}

export function checkSimulationPrerequisites(): PrerequisiteCheck[] {
  const isRoot = process.getuid?.() === 0;
  const netns = runs('ip', ['netns', 'list']);
  const iptables = ['iptables-restore', 'iptables-save', 'ip6tables-restore', 'iptables-legacy-restore'].map(
    (program) => ({ program, ...runs(program, ['--version']) }),
  );
  const missingIptables = iptables.filter((tool) => !tool.ok).map((tool) => tool.program);
  const journalRemote = findJournalRemote();
  const journalctl = runs('journalctl', ['--version']);
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  return [
    {
      name: 'root',
      ok: isRoot,
      detail: isRoot ? 'running as root' : `running as uid ${process.getuid?.()}`,
      fix: 'run the tests as root (network namespaces and iptables need it)',
    },
    {
      name: 'ip netns',
      ok: netns.ok,
      detail: netns.ok ? 'ip netns works' : `\`ip netns list\` failed: ${netns.output}`,
      fix: APT_FIX,
    },
    {
      name: 'iptables',
      ok: missingIptables.length === 0,
      detail:
        missingIptables.length === 0
          ? 'iptables (nf_tables and legacy) found'
          : `missing: ${missingIptables.join(', ')}`,
      fix: APT_FIX,
    },
    {
      name: 'systemd-journal-remote',
      ok: journalRemote !== undefined,
      detail: journalRemote ?? `not found at ${JOURNAL_REMOTE_PATHS.join(' or ')}`,
      fix: APT_FIX,
    },
    {
      name: 'journalctl',
      ok: journalctl.ok,
      detail: journalctl.ok ? (journalctl.output.split('\n')[0] ?? 'journalctl') : journalctl.output,
      fix: 'apt-get install -y systemd',
    },
    {
      name: 'node 24',
      ok: nodeMajor >= 24,
      detail: `node ${process.versions.node} at ${process.execPath}`,
      fix: 'run the tests through npm (`npm test`, `npx vitest`) so the node@24 dev dependency is used',
    },
  ];
}

/**
 * Whether simulated-node tests can run here. With `CI` set a missing prerequisite throws, naming it and the fix,
 * so the suite fails instead of passing vacuously; otherwise a banner is printed and false returned, to skip.
 */
export function simulationAvailable(
  env: NodeJS.ProcessEnv = process.env,
  check: () => PrerequisiteCheck[] = checkSimulationPrerequisites,
): boolean {
  const missing = check().filter((item) => !item.ok);
  if (missing.length === 0) return true;
  const list = missing.map((item) => `${item.name} (${item.detail}; fix: ${item.fix})`).join('; ');
  if (env.CI) {
    throw new Error(`simulated-node tests cannot run and CI is set, so they may not be skipped. Missing: ${list}.`);
  }
  const rule = '!'.repeat(100);
  console.warn(`\n${rule}\n!! SKIPPING SIMULATED-NODE TESTS. Missing: ${list}.\n${rule}\n`);
  return false;
}
