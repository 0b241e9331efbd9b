/**
 * What the single-executable tests need from the machine: Node 24 (the blob must come from the same version as the
 * target binaries), `strip` and `aarch64-linux-gnu-strip`, npm and tar (to fetch the official binaries), and for the
 * arm64 binary qemu-aarch64-static with an arm64 glibc, libstdc++ and libgcc under /usr/aarch64-linux-gnu.
 * In CI a missing piece fails the suite with the fix; on a developer machine the suite skips behind a banner.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { PrerequisiteCheck } from '../sim/prerequisites.ts';

export const QEMU_SYSROOT = '/usr/aarch64-linux-gnu';

const BUILD_FIX = 'apt-get install -y binutils binutils-aarch64-linux-gnu';
const QEMU_FIX = 'apt-get install -y qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross';

function answers(program: string, args: string[]): boolean {
  const result = spawnSync(program, args, { encoding: 'utf8', timeout: 10_000 });
  return !result.error && result.status === 0;
}

function tool(program: string, args: string[], fix: string): PrerequisiteCheck {
  const ok = answers(program, args);
  return { name: program, ok, detail: ok ? `${program} found` : `${program} does not run`, fix };
}

export function checkBuildPrerequisites(): PrerequisiteCheck[] {
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  return [
    {
      name: 'node 24',
      ok: nodeMajor >= 24,
      detail: `node ${process.versions.node} at ${process.execPath}`,
      fix: 'run the tests through npm (`npm test`, `npx vitest`) so the node@24 dev dependency is used',
    },
    {
      name: 'x64 host',
      ok: process.arch === 'x64',
      detail: `this machine is ${process.arch}`,
      fix: 'run the single-executable tests on an x64 machine (the arm64 binary is tested under qemu)',
    },
    tool('strip', ['--version'], BUILD_FIX),
    tool('aarch64-linux-gnu-strip', ['--version'], BUILD_FIX),
    tool('tar', ['--version'], 'apt-get install -y tar'),
    tool('npm', ['--version'], 'install npm (it fetches the official node-linux-<arch> binaries)'),
  ];
}

export function checkQemuPrerequisites(): PrerequisiteCheck[] {
  const libraries = ['lib/ld-linux-aarch64.so.1', 'lib/libc.so.6', 'lib/libstdc++.so.6', 'lib/libgcc_s.so.1'];
  const missing = libraries.filter((library) => !existsSync(`${QEMU_SYSROOT}/${library}`));
  return [
    tool('qemu-aarch64-static', ['--version'], QEMU_FIX),
    {
      name: 'arm64 libraries',
      ok: missing.length === 0,
      detail:
        missing.length === 0 ? `found under ${QEMU_SYSROOT}` : `missing under ${QEMU_SYSROOT}: ${missing.join(', ')}`,
      fix: QEMU_FIX,
    },
  ];
}

/**
 * Whether single-executable tests for `arch` can run here. With `CI` set a missing prerequisite throws, naming it and
 * the fix, so the suite fails instead of passing vacuously; otherwise a banner is printed and false returned, to skip.
 */
export function singleExecutableAvailable(
  arch: 'x64' | 'arm64',
  env: NodeJS.ProcessEnv = process.env,
  check: () => PrerequisiteCheck[] = () => [
    ...checkBuildPrerequisites(),
    ...(arch === 'arm64' ? checkQemuPrerequisites() : []),
  ],
): boolean {
  const missing = check().filter((item) => !item.ok);
  if (missing.length === 0) return true;
  const list = missing.map((item) => `${item.name} (${item.detail}; fix: ${item.fix})`).join('; ');
  if (env.CI) {
    throw new Error(`${arch} single-executable tests cannot run and CI is set, so they may not be skipped: ${list}.`);
  }
  const rule = '!'.repeat(100);
  console.warn(`\n${rule}\n!! SKIPPING ${arch.toUpperCase()} SINGLE-EXECUTABLE TESTS. Missing: ${list}.\n${rule}\n`);
  return false;
}
