/**
 * The arm64 single executable, run on this x64 machine under qemu-aarch64-static (binfmt_misc is not mounted, so
 * qemu is called explicitly with the arm64 libraries as its sysroot): version, and a small offline collection.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOL_VERSION } from '../../analyzer/engine/version.ts';
import { bundleMembers, readManifest } from '../support/bundle-files.ts';
import { ensureAgentBinaries, PROJECT_ROOT, runProgram } from './agent-binaries.ts';
import { writeNodeRoot } from './node-root.ts';
import { QEMU_SYSROOT, singleExecutableAvailable } from './prerequisites.ts';

const ELF_MACHINE_AARCH64 = 0xb7;

describe.skipIf(!singleExecutableAvailable('arm64'))('the arm64 single executable (emulated)', () => {
  let binary: string;
  let dir: string;
  const emulated = (args: string[]) =>
    runProgram('qemu-aarch64-static', ['-L', QEMU_SYSROOT, binary, ...args], { timeoutMs: 180_000 });

  beforeAll(async () => {
    binary = (await ensureAgentBinaries()).arm64;
    dir = await mkdtemp(join(tmpdir(), 'sea-arm64-'));
  }, 900_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is an AArch64 ELF, and its .sha256 checks out with sha256sum', async () => {
    const header = (await readFile(binary)).subarray(0, 20);
    expect(header.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(header.readUInt16LE(18)).toBe(ELF_MACHINE_AARCH64);
    const check = await runProgram('sha256sum', ['-c', 'eks-node-diag-agent-linux-arm64.sha256'], {
      cwd: join(PROJECT_ROOT, 'dist'),
    });
    expect(check).toEqual({ exitCode: 0, stdout: 'eks-node-diag-agent-linux-arm64: OK\n', stderr: '' });
  });

  it('prints the version', async () => {
    expect(await emulated(['--version'])).toEqual({ exitCode: 0, stdout: `${TOOL_VERSION}\n`, stderr: '' });
  });

  it('collects a few items of a node root offline', async () => {
    const root = join(dir, 'root');
    await writeNodeRoot(root);
    const bundle = join(dir, 'arm64.tar.gz');
    const result = await emulated([
      'collect',
      '--root',
      root,
      '--offline',
      '--only',
      'uname,os-release,proc-loadavg',
      '--out',
      bundle,
    ]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${bundle}\n`);

    const manifest = await readManifest(bundle);
    const selected = manifest.items
      .filter((item) => ['uname', 'os-release', 'proc-loadavg'].includes(item.id))
      .map((item) => [item.id, item.status, item.reason]);
    expect(selected).toEqual([
      ['os-release', 'ok', undefined],
      ['proc-loadavg', 'ok', undefined],
      // uname is a command, and an offline collection runs none.
      ['uname', 'skipped', 'live state not read (--offline)'],
    ]);
    expect(manifest.items.filter((item) => item.status === 'ok')).toHaveLength(2);
    const members = await bundleMembers(bundle);
    expect([...members.keys()].sort()).toEqual(['manifest.json', 'system/loadavg.txt', 'system/os-release.txt']);
    expect(members.get('system/loadavg.txt')?.toString()).toBe('0.42 0.30 0.25 2/345 12345\n');
  });
});
