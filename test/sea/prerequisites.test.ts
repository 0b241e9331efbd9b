import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PrerequisiteCheck } from '../sim/prerequisites.ts';
import { checkBuildPrerequisites, checkQemuPrerequisites, singleExecutableAvailable } from './prerequisites.ts';

const present: PrerequisiteCheck = {
  name: 'strip',
  ok: true,
  detail: 'strip found',
  fix: 'apt-get install -y binutils',
};
const missing: PrerequisiteCheck = {
  name: 'qemu-aarch64-static',
  ok: false,
  detail: 'qemu-aarch64-static does not run',
  fix: 'apt-get install -y qemu-user-static',
};

describe('singleExecutableAvailable', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('runs the tests when everything is present', () => {
    expect(singleExecutableAvailable('arm64', {}, () => [present])).toBe(true);
  });

  it('fails in CI, naming what is missing and the fix', () => {
    const attempt = () => singleExecutableAvailable('arm64', { CI: 'true' }, () => [present, missing]);
    expect(attempt).toThrow(/^arm64 single-executable tests cannot run and CI is set/);
    expect(attempt).toThrow(
      'qemu-aarch64-static (qemu-aarch64-static does not run; fix: apt-get install -y qemu-user-static)',
    );
  });

  it('skips loudly outside CI', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(singleExecutableAvailable('x64', {}, () => [missing])).toBe(false);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('SKIPPING X64 SINGLE-EXECUTABLE TESTS. Missing: qemu'));
  });

  it('checks the build tools first, then qemu and its arm64 libraries', () => {
    const names = [...checkBuildPrerequisites(), ...checkQemuPrerequisites()].map((check) => check.name);
    expect(names).toEqual([
      'node 24',
      'x64 host',
      'strip',
      'aarch64-linux-gnu-strip',
      'tar',
      'npm',
      'qemu-aarch64-static',
      'arm64 libraries',
    ]);
  });
});
