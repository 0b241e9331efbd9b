/**
 * Real files in a real `--root` world: symlinks that try to leave it, a FIFO, a socket, a directory, a file only
 * root may read (read by a real process running as `nobody`), and logs larger than their budget.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { text } from 'node:stream/consumers';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNodeFile, readNodeGlob, resolveUnderRoot } from './file.ts';
import { spool } from './spool.ts';
import type { SourceContext } from './types.ts';

const run = promisify(execFile);

let scratch: string;
let root: string;
let socketServer: Server;

function context(overrides: Partial<SourceContext> = {}): SourceContext {
  return {
    root,
    signal: new AbortController().signal,
    timeoutMs: 10_000,
    maxBytes: 1 << 20,
    tail: false,
    env: {},
    ...overrides,
  };
}

/** `line 0000001\n` ... : 13 bytes a line, so offsets are easy to reason about. */
function lines(first: number, last: number): string {
  let out = '';
  for (let n = first; n <= last; n++) out += `line ${String(n).padStart(7, '0')}\n`;
  return out;
}

async function put(nodePath: string, content: string): Promise<void> {
  await mkdir(dirname(join(root, nodePath)), { recursive: true });
  await writeFile(join(root, nodePath), content);
}

async function link(nodePath: string, target: string): Promise<void> {
  await mkdir(dirname(join(root, nodePath)), { recursive: true });
  await symlink(target, join(root, nodePath));
}

async function readAll(nodePath: string, overrides: Partial<SourceContext> = {}) {
  const source = readNodeFile(nodePath, context(overrides));
  const output = await text(source.stream);
  return { output, outcome: await source.done, unread: await source.unreadBytes };
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'file-test-'));
  await chmod(scratch, 0o755);
  root = join(scratch, 'node-root');
  await put('/etc/hostname', 'ip-10-0-1-23.ec2.internal\n');
  await put('/var/log/aws-routed-eni/ipamd.log', lines(1, 1000));
  await put('/var/log/pods/kube-system_aws-node-x7k2p_0d5a/aws-node/0.log', '{"log":"ipamd started"}\n');
  await link(
    '/var/log/containers/aws-node-x7k2p_kube-system_aws-node-1a2b.log',
    '/var/log/pods/kube-system_aws-node-x7k2p_0d5a/aws-node/0.log',
  );
  await link('/var/log/relative-escape', '../../../../../../../../../../etc/hostname');
  await link('/var/log/absolute-escape', '/etc/passwd');
  await put('/outside-marker', 'inside the root\n');
  await writeFile(join(scratch, 'outside-secret'), 'host secret\n');
  await link('/var/log/host-path', join(scratch, 'outside-secret'));
  await link('/var/lib/rootlink', '/');
  await link('/var/log/loop-a', 'loop-b');
  await link('/var/log/loop-b', 'loop-a');
  await run('mkfifo', [join(root, 'var/log/fifo')]);
  socketServer = createServer();
  await new Promise<void>((resolve) => socketServer.listen(join(root, 'var/log/socket'), resolve));
  await put('/var/log/unreadable', 'root only\n');
  await chmod(join(root, 'var/log/unreadable'), 0o600);
});

afterAll(async () => {
  socketServer.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('resolveUnderRoot', () => {
  it('re-roots absolute symlink targets at the node root', async () => {
    const resolved = await resolveUnderRoot(root, '/var/log/containers/aws-node-x7k2p_kube-system_aws-node-1a2b.log');
    expect(resolved).toMatchObject({ path: join(root, 'var/log/pods/kube-system_aws-node-x7k2p_0d5a/aws-node/0.log') });
  });

  it('stops `..` in a symlink at the node root, as a chroot does', async () => {
    expect(await resolveUnderRoot(root, '/var/log/relative-escape')).toMatchObject({
      path: join(root, 'etc/hostname'),
    });
    expect(await resolveUnderRoot(root, '/var/lib/rootlink/etc/hostname')).toMatchObject({
      path: join(root, 'etc/hostname'),
    });
  });

  it('refuses a requested path that climbs out of the root', async () => {
    expect(await resolveUnderRoot(root, '/var/../../outside-secret')).toEqual({
      outcome: { status: 'error', reason: 'refused: /var/../../outside-secret climbs out of the node root' },
    });
    expect(await resolveUnderRoot(root, '/var/log/../../outside-marker')).toMatchObject({
      path: join(root, 'outside-marker'),
    });
  });

  it('resolves plainly when the root is /', async () => {
    expect(await resolveUnderRoot('/', '/proc/self/../loadavg')).toMatchObject({ path: '/proc/loadavg' });
  });
});

describe('readNodeFile', () => {
  it('reads a file under the root', async () => {
    expect(await readAll('/etc/hostname')).toEqual({
      output: 'ip-10-0-1-23.ec2.internal\n',
      outcome: { status: 'ok' },
      unread: 0,
    });
  });

  it('never reads outside the root through symlinks', async () => {
    expect(await readAll('/var/log/relative-escape')).toMatchObject({ output: 'ip-10-0-1-23.ec2.internal\n' });
    // /etc/passwd exists on this machine but not in the world: the link means the world's own.
    expect(await readAll('/var/log/absolute-escape')).toMatchObject({
      output: '',
      outcome: { status: 'skipped', reason: 'not present' },
    });
    expect(await readAll('/var/log/host-path')).toMatchObject({
      output: '',
      outcome: { status: 'skipped', reason: 'not present' },
    });
  });

  it('records a missing file as skipped: not present', async () => {
    expect(await readAll('/var/log/nothing-here.log')).toMatchObject({
      output: '',
      outcome: { status: 'skipped', reason: 'not present' },
    });
    expect((await readAll('/etc/hostname/below-a-file')).outcome).toEqual({ status: 'skipped', reason: 'not present' });
    expect((await readAll('/etc/hostname', { root: join(scratch, 'no-such-root') })).outcome.reason).toBe(
      'not present',
    );
  });

  it('refuses a FIFO at once instead of blocking on it', async () => {
    const started = Date.now();
    expect(await readAll('/var/log/fifo')).toMatchObject({
      output: '',
      outcome: { status: 'error', reason: 'not a regular file: a FIFO' },
    });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses directories, sockets and symlink loops', async () => {
    expect((await readAll('/var/log')).outcome).toEqual({ status: 'error', reason: 'is a directory' });
    expect((await readAll('/var/log/socket')).outcome).toEqual({
      status: 'error',
      reason: 'not a regular file: a socket',
    });
    expect((await readAll('/var/log/loop-a')).outcome).toEqual({
      status: 'error',
      reason: 'too many levels of symbolic links',
    });
    expect((await readAll('/dev/null', { root: '/' })).outcome).toEqual({
      status: 'error',
      reason: 'not a regular file: a character device',
    });
  });

  it('records a file it may not read as an error (a real process running as nobody)', async () => {
    const fileModule = new URL('./file.ts', import.meta.url).href;
    const script = `
      const { readNodeFile } = await import(${JSON.stringify(fileModule)});
      const ctx = { root: process.argv[1], signal: new AbortController().signal, timeoutMs: 5000, maxBytes: 1e6, tail: false, env: {} };
      const source = readNodeFile('/var/log/unreadable', ctx);
      source.stream.resume();
      process.stdout.write(JSON.stringify(await source.done));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, root], {
      uid: 65534,
      gid: 65534,
      cwd: '/',
    });
    expect(JSON.parse(stdout)).toEqual({ status: 'error', reason: 'permission denied' });
  });

  it('reads procfs files, whose size says 0, to their end', async () => {
    const { output, outcome } = await readAll('/proc/self/status', { root: '/' });
    expect(outcome).toEqual({ status: 'ok' });
    expect(output).toMatch(/^Name:\t/);
    expect(output).toContain('\nVmRSS:');
    // A root spelled differently is still the live root, where symlinks such as /proc/self are followed as usual.
    expect((await readAll('/proc/self/status', { root: '/.' })).outcome).toEqual({ status: 'ok' });
  });
});

describe('readNodeFile budgets', () => {
  it('reads only the last maxBytes of a log in tail mode, from the first whole line', async () => {
    // 13000 bytes; the last 100 start at offset 12900, inside line 993; line 994 starts at 12909.
    expect(await readAll('/var/log/aws-routed-eni/ipamd.log', { tail: true, maxBytes: 100 })).toEqual({
      output: lines(994, 1000),
      outcome: { status: 'ok' },
      unread: 12909,
    });
  });

  it('tail mode with a window that starts on a line keeps that line', async () => {
    expect(await readAll('/var/log/aws-routed-eni/ipamd.log', { tail: true, maxBytes: 26 })).toMatchObject({
      output: lines(999, 1000),
      unread: 12974,
    });
  });

  it('reads only the first maxBytes in head mode', async () => {
    expect(await readAll('/var/log/aws-routed-eni/ipamd.log', { maxBytes: 30 })).toEqual({
      output: `${lines(1, 2)}line`,
      outcome: { status: 'ok' },
      unread: 12970,
    });
  });

  it('gives the spool what it needs for a true marker', async () => {
    const tempDir = await mkdtemp(join(scratch, 'spool-'));
    const source = readNodeFile('/var/log/aws-routed-eni/ipamd.log', context({ tail: true, maxBytes: 100 }));
    const spooled = await spool(source.stream, { maxBytes: 100, tail: true, tempDir, unreadBytes: source.unreadBytes });
    expect(await text(spooled.open())).toBe(`[eks-node-diag: output cut at 91 bytes of 13000]\n${lines(994, 1000)}`);
    expect(spooled.truncated).toBe(true);
  });

  it('stops when the run is aborted, keeping what was read', async () => {
    await put('/var/log/big.log', lines(1, 200_000));
    const controller = new AbortController();
    const source = readNodeFile('/var/log/big.log', context({ signal: controller.signal, maxBytes: 1 << 30 }));
    const first: Buffer = await new Promise((resolve) => source.stream.once('data', resolve));
    source.stream.pause();
    controller.abort(new Error('run deadline reached'));
    const rest = await text(source.stream);
    expect(first.length + Buffer.byteLength(rest)).toBeLessThan(13 * 200_000);
    expect(await source.done).toEqual({ status: 'timeout', reason: 'stopped: run deadline reached' });
  });

  it('records a reader that stops early as ok, and releases the file', async () => {
    const source = readNodeFile('/var/log/big.log', context({ maxBytes: 1 << 30 }));
    await new Promise((resolve) => source.stream.once('data', resolve));
    source.stream.destroy();
    expect(await source.done).toEqual({ status: 'ok', reason: 'output no longer read; file read stopped' });
  });
});

describe('readNodeGlob', () => {
  beforeAll(async () => {
    const dir = '/var/log/glob-case';
    const day = 24 * 3600;
    const now = Math.floor(Date.now() / 1000);
    for (const [name, ageDays] of [
      ['ipamd.log', 0],
      ['ipamd-2026-11-24T00-00-00.000.log', 2],
      ['ipamd-2026-11-20T00-00-00.000.log', 6],
      ['plugin.log', 1],
    ] as const) {
      await put(`${dir}/${name}`, lines(1, 10));
      await utimes(join(root, dir, name), now - ageDays * day, now - ageDays * day);
    }
    await mkdir(join(root, dir, 'subdir'));
    await link(`${dir}/dangling.log`, '/var/log/pods/gone/0.log');
  });

  async function collect(pattern: string, overrides: Partial<SourceContext> = {}) {
    const files = await readNodeGlob(pattern, context(overrides));
    return Promise.all(
      files.map(async ({ path, run: source }) => ({
        path,
        output: await text(source.stream),
        outcome: await source.done,
      })),
    );
  }

  it('reads every matching file, sorted by path, leaving directories out', async () => {
    const files = await collect('/var/log/glob-case/*');
    expect(files.map(({ path }) => path)).toEqual([
      '/var/log/glob-case/dangling.log',
      '/var/log/glob-case/ipamd-2026-11-20T00-00-00.000.log',
      '/var/log/glob-case/ipamd-2026-11-24T00-00-00.000.log',
      '/var/log/glob-case/ipamd.log',
      '/var/log/glob-case/plugin.log',
    ]);
    expect(files[0]?.outcome).toEqual({ status: 'skipped', reason: 'not present' });
    for (const file of files.slice(1)) expect(file).toMatchObject({ output: lines(1, 10), outcome: { status: 'ok' } });
  });

  it('keeps the newest files first when they do not all fit the budget', async () => {
    // 130 bytes each. Newest first: ipamd.log (today) and plugin.log (1 day) whole, 40 bytes left for the 2-day-old
    // file (from its first whole line: 39 bytes), nothing for the 6-day-old one.
    const files = await collect('/var/log/glob-case/*.log', { maxBytes: 300, tail: true });
    expect(files).toEqual([
      { path: '/var/log/glob-case/dangling.log', output: '', outcome: { status: 'skipped', reason: 'not present' } },
      {
        path: '/var/log/glob-case/ipamd-2026-11-20T00-00-00.000.log',
        output: '',
        outcome: { status: 'skipped', reason: 'over budget: newer files used all 300 bytes' },
      },
      { path: '/var/log/glob-case/ipamd-2026-11-24T00-00-00.000.log', output: lines(8, 10), outcome: { status: 'ok' } },
      { path: '/var/log/glob-case/ipamd.log', output: lines(1, 10), outcome: { status: 'ok' } },
      { path: '/var/log/glob-case/plugin.log', output: lines(1, 10), outcome: { status: 'ok' } },
    ]);
  });

  it('cuts the file that crosses the budget from its head when the item is not a log', async () => {
    const files = await collect('/var/log/glob-case/ipamd*.log', { maxBytes: 300, tail: false });
    expect(files.map(({ output }) => output)).toEqual([lines(1, 10).slice(0, 40), lines(1, 10), lines(1, 10)]);
  });

  it('matches brace patterns through symlinks re-rooted at the node root', async () => {
    const files = await collect('/var/log/containers/{aws-node,kube-proxy}*');
    expect(files).toEqual([
      {
        path: '/var/log/containers/aws-node-x7k2p_kube-system_aws-node-1a2b.log',
        output: '{"log":"ipamd started"}\n',
        outcome: { status: 'ok' },
      },
    ]);
  });

  it('returns nothing when the folder is missing, and one run for a plain path', async () => {
    expect(await readNodeGlob('/var/log/absent/*.log', context())).toEqual([]);
    expect((await collect('/etc/hostname')).map(({ output }) => output)).toEqual(['ip-10-0-1-23.ec2.internal\n']);
  });
});
