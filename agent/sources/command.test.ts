import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExecutable, runCommand } from './command.ts';
import type { SourceContext } from './types.ts';

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function context(overrides: Partial<SourceContext> = {}): SourceContext {
  return {
    root: '/',
    signal: new AbortController().signal,
    timeoutMs: 10_000,
    maxBytes: 1 << 20,
    tail: false,
    env: { PATH },
    ...overrides,
  };
}

/** A `sleep` argument no other process on the machine uses, so the test can find exactly its own processes. */
function uniqueSleep(): string {
  return `${900 + Math.floor(Math.random() * 99)}.${process.pid}${Math.floor(Math.random() * 1e6)}`;
}

/** Live (not zombie) processes whose command line contains `marker`. */
async function processesWith(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      if (!cmdline.includes(marker)) continue;
      const state = (await readFile(`/proc/${entry}/stat`, 'utf8')).split(') ')[1]?.[0];
      if (state !== 'Z') found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** Processes still alive a moment after the source settled: SIGKILL is delivered asynchronously. */
async function survivorsOf(marker: string): Promise<number[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const alive = await processesWith(marker);
    if (alive.length === 0) return alive;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return processesWith(marker);
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'command-test-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('runCommand output', () => {
  it('streams stdout byte for byte as produced', async () => {
    const run = runCommand(['printf', 'a\\r\\nb\\0c\\377 no final newline'], context());
    const output = Buffer.concat(await run.stream.toArray());
    expect(output.equals(Buffer.from('a\r\nb\0c\xff no final newline', 'latin1'))).toBe(true);
    expect(await run.done).toEqual({ status: 'ok', exitCode: 0 });
  });

  it('hands over the first bytes while the command is still running', async () => {
    const run = runCommand(['sh', '-c', 'echo first; sleep 2; echo second'], context());
    let settled = false;
    void run.done.then(() => {
      settled = true;
    });
    const first = await new Promise<string>((resolve) =>
      run.stream.once('data', (chunk: Buffer) => resolve(String(chunk))),
    );
    expect(first).toBe('first\n');
    expect(settled).toBe(false);
    expect(await text(run.stream)).toBe('second\n');
    expect((await run.done).status).toBe('ok');
  });

  it('runs with LANG=C and only the given environment, stdin closed, in /', async () => {
    process.env.EKS_NODE_DIAG_LEAK_CHECK = 'must-not-appear';
    try {
      const run = runCommand(['env'], context({ env: { PATH, ONLY_THIS: 'yes', LANG: 'de_DE.UTF-8' } }));
      const lines = (await text(run.stream)).trim().split('\n').sort();
      expect(lines).toEqual(['LANG=C', 'LC_ALL=C', 'ONLY_THIS=yes', `PATH=${PATH}`]);
    } finally {
      delete process.env.EKS_NODE_DIAG_LEAK_CHECK;
    }
    const cat = runCommand(['sh', '-c', 'cat; pwd'], context({ timeoutMs: 3000 }));
    expect(await text(cat.stream)).toBe('/\n');
    expect((await cat.done).status).toBe('ok');
  });
});

describe('runCommand failures', () => {
  it('records a missing binary as skipped: not installed, without spawning', async () => {
    const run = runCommand(['eks-node-diag-no-such-tool'], context());
    expect(await text(run.stream)).toBe('');
    expect(await run.done).toEqual({ status: 'skipped', reason: 'not installed' });
    expect((await runCommand(['/nonexistent/bin/tool'], context()).done).reason).toBe('not installed');
  });

  it('looks the binary up on the item PATH, not the agent PATH', async () => {
    const tool = join(scratch, 'only-here');
    await writeFile(tool, '#!/bin/sh\necho from scratch\n');
    await chmod(tool, 0o755);
    expect(await findExecutable('only-here', `/nonexistent:${scratch}`)).toBe(tool);
    expect((await runCommand(['only-here'], context()).done).reason).toBe('not installed');
    const run = runCommand(['only-here'], context({ env: { PATH: `${scratch}:${PATH}` } }));
    expect(await text(run.stream)).toBe('from scratch\n');
  });

  it('does not count a file without execute permission as installed', async () => {
    const plain = join(scratch, 'not-executable');
    await writeFile(plain, '#!/bin/sh\necho no\n');
    await chmod(plain, 0o644);
    expect(await findExecutable('not-executable', scratch)).toBeUndefined();
  });

  it('records a non-zero exit as an error with the exit code and the stderr tail', async () => {
    const run = runCommand(
      ['sh', '-c', 'echo partial; echo "iptables: No chain/target/match by that name." >&2; exit 3'],
      context(),
    );
    expect(await text(run.stream)).toBe('partial\n');
    expect(await run.done).toEqual({
      status: 'error',
      reason: 'exit code 3: iptables: No chain/target/match by that name.',
      exitCode: 3,
    });
  });

  it('accepts the exit codes the item lists as fine', async () => {
    const run = runCommand(['sh', '-c', 'echo none; exit 1'], context(), { okExitCodes: [1] });
    await text(run.stream);
    expect(await run.done).toEqual({ status: 'ok', exitCode: 1 });
  });

  it('keeps only the last 4 KiB of stderr, starting on a whole line', async () => {
    const script =
      'i=0; while [ $i -lt 400 ]; do echo "noise line $i" >&2; i=$((i+1)); done; echo "the real error" >&2; exit 2';
    const run = runCommand(['sh', '-c', script], context());
    await text(run.stream);
    const outcome = await run.done;
    expect(outcome.reason?.startsWith('exit code 2: noise line ')).toBe(true);
    expect(outcome.reason?.endsWith('\nthe real error')).toBe(true);
    expect(outcome.reason?.length).toBeLessThanOrEqual(4096 + 'exit code 2: '.length);
    expect(outcome.reason).not.toContain('noise line 0\n');
  });

  it('records a command killed by a signal it did not get from us', async () => {
    const run = runCommand(['sh', '-c', 'kill -SEGV $$'], context());
    await text(run.stream);
    expect(await run.done).toMatchObject({ status: 'error', reason: 'killed by SIGSEGV', exitCode: null });
  });
});

describe('runCommand time limits', () => {
  it('kills the whole process group on timeout, children that ignore SIGTERM included', async () => {
    const marker = uniqueSleep();
    const started = Date.now();
    const run = runCommand(
      ['sh', '-c', `trap '' TERM; sleep ${marker} & sleep ${marker}; echo never`],
      context({ timeoutMs: 500 }),
    );
    expect(await text(run.stream)).toBe('');
    expect(await run.done).toMatchObject({ status: 'timeout', reason: 'timed out after 500ms' });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await survivorsOf(marker)).toEqual([]);
  });

  it('kills a background child that closed its output and outlived a finished command', async () => {
    const marker = uniqueSleep();
    const run = runCommand(['sh', '-c', `(trap '' TERM; exec sleep ${marker}) >/dev/null 2>&1 & echo done`], context());
    expect(await text(run.stream)).toBe('done\n');
    expect((await run.done).status).toBe('ok');
    expect(await survivorsOf(marker)).toEqual([]);
  });

  it('stops the process group when the run is aborted', async () => {
    const marker = uniqueSleep();
    const controller = new AbortController();
    const run = runCommand(['sh', '-c', `sleep ${marker} & sleep ${marker}`], context({ signal: controller.signal }));
    setTimeout(() => controller.abort(new Error('run deadline reached')), 200);
    await text(run.stream);
    expect(await run.done).toMatchObject({ status: 'timeout', reason: 'stopped: run deadline reached' });
    expect(await survivorsOf(marker)).toEqual([]);
  });

  it('does not start once the run is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('SIGTERM'));
    const run = runCommand(['true'], context({ signal: controller.signal }));
    expect(await run.done).toEqual({ status: 'skipped', reason: 'not started: SIGTERM' });
  });

  it('stops the command when the reader stops reading', async () => {
    const marker = uniqueSleep();
    const run = runCommand(['sh', '-c', `yes ${marker} & sleep ${marker}`], context());
    await new Promise((resolve) => run.stream.once('data', resolve));
    run.stream.destroy();
    expect(await run.done).toMatchObject({ status: 'ok', reason: 'output no longer read; command stopped' });
    expect(await survivorsOf(marker)).toEqual([]);
  });
});
