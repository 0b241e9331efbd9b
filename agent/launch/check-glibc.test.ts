import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHECK_GLIBC_SH, GLIBC_TOO_OLD_EXIT_CODE, GLIBC_TOO_OLD_MESSAGE_PREFIX, MINIMUM_GLIBC } from './check-glibc.ts';

const scratch = mkdtempSync(join(tmpdir(), 'check-glibc-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let fakes = 0;

/** A directory put first on PATH, with `getconf` and `ldd` that print the given text (or fail, as if missing). */
function fakeTools(tools: { getconf?: string; ldd?: string }): string {
  const dir = join(scratch, `bin-${fakes++}`);
  mkdirSync(dir);
  for (const [name, output] of Object.entries(tools)) {
    writeFileSync(join(dir, name), `#!/bin/sh\ncat <<'OUT'\n${output}\nOUT\n`);
    chmodSync(join(dir, name), 0o755);
  }
  // Whatever is not faked fails like a missing tool, instead of reaching the real one on this machine.
  for (const name of ['getconf', 'ldd'].filter((tool) => !(tool in tools))) {
    writeFileSync(join(dir, name), '#!/bin/sh\nexit 127\n');
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

function runCheck(tools: { getconf?: string; ldd?: string }, script = CHECK_GLIBC_SH) {
  const result = spawnSync('sh', ['-c', script], {
    encoding: 'utf8',
    env: { PATH: `${fakeTools(tools)}:/usr/bin:/bin` },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const tooOld = (version: string) =>
  `eks-node-diag: this node's glibc ${version} is older than 2.28 (Amazon Linux 2?); the agent cannot run here\n`;

describe('check-glibc.sh', () => {
  it('is exported verbatim for the node script to embed, with the exit code and minimum the module names', () => {
    expect(CHECK_GLIBC_SH).toBe(readFileSync(join(import.meta.dirname, 'check-glibc.sh'), 'utf8'));
    expect(CHECK_GLIBC_SH).toContain(`exit ${GLIBC_TOO_OLD_EXIT_CODE}`);
    expect(CHECK_GLIBC_SH).toContain(`older than ${MINIMUM_GLIBC}`);
    expect(tooOld('2.26').startsWith(GLIBC_TOO_OLD_MESSAGE_PREFIX)).toBe(true);
  });

  it('refuses Amazon Linux 2 (getconf says glibc 2.26) plainly, with exit 42 and nothing on stdout', () => {
    expect(runCheck({ getconf: 'glibc 2.26' })).toEqual({ status: 42, stdout: '', stderr: tooOld('2.26') });
  });

  it.each([
    ['Amazon Linux 2023', 'glibc 2.34'],
    ['the minimum itself', 'glibc 2.28'],
    ['a later major version', 'glibc 3.0'],
  ])('lets %s through silently (%s)', (_name, getconf) => {
    expect(runCheck({ getconf })).toEqual({ status: 0, stdout: '', stderr: '' });
  });

  it('compares the minor version as a number, not as text (2.9 is older than 2.28)', () => {
    expect(runCheck({ getconf: 'glibc 2.9' })).toMatchObject({ status: 42, stderr: tooOld('2.9') });
  });

  it.each([
    ['GNU', 'ldd (GNU libc) 2.26\nCopyright (C) 2017 Free Software Foundation, Inc.', 42],
    ['Debian', 'ldd (Debian GLIBC 2.36-9+deb12u4) 2.36\nCopyright (C) 2022 Free Software Foundation, Inc.', 0],
  ])(
    'falls back to the first line of `ldd --version` (%s wording) when getconf gives nothing',
    (_name, ldd, status) => {
      expect(runCheck({ ldd }).status).toBe(status);
    },
  );

  it('uses ldd when getconf answers with something that is not a version', () => {
    expect(runCheck({ getconf: 'glibc 2.', ldd: 'ldd (GNU libc) 2.26' })).toMatchObject({
      status: 42,
      stderr: tooOld('2.26'),
    });
  });

  it.each([
    ['neither tool answers', {}],
    ['both answer with noise', { getconf: 'undefined', ldd: 'musl libc (x86_64)\nVersion 1.2.4' }],
  ])('starts the agent with a warning when %s', (_name, tools) => {
    const result = runCheck(tools);
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/^eks-node-diag: could not tell the glibc version .*starting the agent anyway\n$/);
  });

  it('works embedded in a `set -eu` script: stops it on 2.26, falls through to the agent on 2.34', () => {
    const nodeScript = `set -eu\n${CHECK_GLIBC_SH}\necho "agent runs"\n`;
    expect(runCheck({ getconf: 'glibc 2.26' }, nodeScript)).toMatchObject({ status: 42, stdout: '' });
    expect(runCheck({ getconf: 'glibc 2.34' }, nodeScript)).toEqual({ status: 0, stdout: 'agent runs\n', stderr: '' });
    expect(runCheck({ getconf: 'glibc 2.' }, nodeScript)).toMatchObject({ status: 0, stdout: 'agent runs\n' });
  });

  it("reads this machine's real glibc without complaint", () => {
    const result = spawnSync('sh', ['-c', CHECK_GLIBC_SH], { encoding: 'utf8' });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  });
});
