/**
 * Faults on a sick node, driven through the real built agent (`dist/eks-node-diag.cjs collect`) in a child process:
 * a fake node root in a temp dir, fake tools (shell scripts) as the child's whole PATH, and real processes, FIFOs,
 * sockets, sparse files, signals and a tiny tmpfs as the faults. Each case checks the manifest state the agent
 * documents and that the analyzer still reads the bundle: the manifest, and the items that were fine.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { inventory } from '../agent/items/index.ts';
import type { BundleManifest } from '../contract/bundle.ts';
import {
  analyze,
  CLI,
  CLOSED_IMDS,
  type CollectResult,
  collect,
  createFakeNode,
  type FakeNode,
  manifestItem,
  processesWithMarker,
  readBundle,
  readManifest,
  shellQuote,
  startCollect,
  survivors,
  type ToolCall,
} from './support/fake-tools.ts';

const SECOND = 1000;
/** What the agent gives a command between SIGTERM and SIGKILL (agent/sources/command.ts TERM_GRACE_MS). */
const TERM_GRACE_MS = 1000;
/** Node start-up, the analyzer-free part of a short run, and a noisy machine. */
const SLACK_MS = 4000;

const LOADAVG = '0.52 0.58 0.59 3/412 28170\n';
const OS_RELEASE = 'NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\nVERSION_ID="2023"\n';
const INSTANCE_ID = 'i-0abc123def4567890\n';

let node: FakeNode;
afterEach(async () => {
  await node?.dispose();
});

async function fakeNode(): Promise<FakeNode> {
  node = await createFakeNode();
  await node.file('/proc/loadavg', LOADAVG);
  await node.file('/etc/os-release', OS_RELEASE);
  await node.file('/var/lib/cloud/data/instance-id', INSTANCE_ID);
  return node;
}

function bundlePath(name = 'bundle.tar.gz'): string {
  return join(node.dir, name);
}

/** The run ended on its own and wrote a complete bundle; returns its manifest. */
async function completeRun(result: CollectResult, file: string): Promise<BundleManifest> {
  expect(result.stderr).not.toMatch(/internal error/);
  expect(result.stdout.toString()).toBe(`${file}\n`);
  return readManifest(await readFile(file));
}

/** The analyzer reads the bundle: valid, manifest read, and these members present in full (parsed or not). */
async function expectAnalyzable(file: string, readPaths: string[], options: { complete?: boolean } = {}) {
  const report = await analyze(file);
  expect(report.bundle.layout).toBe('eks-node-diag');
  if (options.complete !== false) {
    expect(report.bundle.errors).toEqual([]);
    expect(report.bundle.collector?.name).toBe('eks-node-diag');
  }
  for (const path of readPaths) {
    expect(report.bundle.inventory.find((entry) => entry.path === path)?.state, path).toMatch(/^(read|not-parsed)$/);
  }
  return report;
}

describe('a command that hangs', () => {
  it('is recorded as timeout at its own time limit, and nothing it started is left running', async () => {
    await fakeNode();
    await node.tool('iptables-save', 'sleep 1000');
    const file = bundlePath();
    const result = await collect(node, [
      ...['--root', node.root, '--out', file, '--item-timeout', '2s'],
      ...['--only', 'iptables-save,proc-loadavg,os-release'],
    ]);

    expect(result.code).toBe(0);
    expect(result.ms).toBeLessThan(2 * SECOND + TERM_GRACE_MS + SLACK_MS);
    const manifest = await completeRun(result, file);
    expect(manifest.interrupted).toBeUndefined();
    expect(manifestItem(manifest, 'iptables-save')).toMatchObject({
      status: 'timeout',
      reason: 'timed out after 2s',
      bytes: 0,
    });
    expect(manifestItem(manifest, 'proc-loadavg')).toMatchObject({ status: 'ok', bytes: LOADAVG.length });
    expect(await survivors(node.marker)).toEqual([]);
    const report = await expectAnalyzable(file, ['system/loadavg.txt', 'system/os-release.txt']);
    expect(report.bundle.inventory.find((entry) => entry.itemId === 'iptables-save')).toMatchObject({
      state: 'skipped',
      collectedStatus: 'timeout',
    });
  });

  it('is killed with SIGKILL after the grace when it and its child ignore SIGTERM; the output so far is kept', async () => {
    await fakeNode();
    await node.tool(
      'iptables-save',
      ["trap '' TERM", "echo '*filter'", "echo ':FORWARD DROP [0:0]'", 'sleep 1000 &', 'wait', 'wait'].join('\n'),
    );
    const file = bundlePath();
    const result = await collect(node, [
      ...['--root', node.root, '--out', file, '--item-timeout', '2s'],
      ...['--only', 'iptables-save,proc-loadavg'],
    ]);

    expect(result.code).toBe(0);
    // SIGTERM changed nothing: only the SIGKILL a grace later ended it.
    expect(result.ms).toBeGreaterThanOrEqual(2 * SECOND + TERM_GRACE_MS - 100);
    expect(result.ms).toBeLessThan(2 * SECOND + TERM_GRACE_MS + SLACK_MS);
    const manifest = await completeRun(result, file);
    expect(manifestItem(manifest, 'iptables-save')).toMatchObject({ status: 'timeout', reason: 'timed out after 2s' });
    const members = await readBundle(await readFile(file));
    expect(members.get('networking/iptables-save.txt')?.toString()).toBe('*filter\n:FORWARD DROP [0:0]\n');
    expect(await survivors(node.marker)).toEqual([]);
    await expectAnalyzable(file, ['system/loadavg.txt']);
  });

  it('ends at its time limit when it exits at once but leaves a SIGTERM-proof child holding its output open', async () => {
    await fakeNode();
    await node.tool('iptables-save', ["echo '*filter'", "(trap '' TERM; exec sleep 1000) &", 'exit 0'].join('\n'));
    const file = bundlePath();
    const result = await collect(node, [
      ...['--root', node.root, '--out', file, '--item-timeout', '2s'],
      ...['--only', 'iptables-save,proc-loadavg'],
    ]);

    expect(result.code).toBe(0);
    expect(result.ms).toBeLessThan(2 * SECOND + TERM_GRACE_MS + SLACK_MS);
    const manifest = await completeRun(result, file);
    expect(manifestItem(manifest, 'iptables-save')).toMatchObject({ status: 'timeout', bytes: '*filter\n'.length });
    expect(await survivors(node.marker)).toEqual([]);
    await expectAnalyzable(file, ['system/loadavg.txt', 'networking/iptables-save.txt']);
  });
});

describe('a missing tool', () => {
  it('is recorded as skipped: not installed, and the items around it are collected', async () => {
    await fakeNode();
    await node.tool('ip', `echo 'default via 10.0.0.1 dev eth0'`);
    const file = bundlePath();
    const result = await collect(node, [
      ...['--root', node.root, '--out', file],
      ...['--only', 'iptables-save,ip-route,proc-loadavg'],
    ]);

    expect(result.code).toBe(0);
    const manifest = await completeRun(result, file);
    expect(manifestItem(manifest, 'iptables-save')).toMatchObject({
      status: 'skipped',
      reason: 'not installed',
      bytes: 0,
    });
    expect(manifestItem(manifest, 'ip-route')).toMatchObject({ status: 'ok', exitCode: 0 });
    expect(await node.calls()).toEqual([{ tool: 'ip', args: ['route', 'show', 'table', 'all'] }]);
    const report = await expectAnalyzable(file, ['networking/iproute.txt', 'system/loadavg.txt']);
    expect(report.bundle.inventory.find((entry) => entry.itemId === 'iptables-save')).toMatchObject({
      collectedStatus: 'skipped',
      collectedReason: 'not installed',
    });
  });
});

describe('an unreadable file', () => {
  it('is an error when a directory, a FIFO or a socket stands where a file should be; the run never blocks', async () => {
    await fakeNode();
    await node.file('/proc/meminfo', 'MemTotal:       16093120 kB\nMemAvailable:   11820084 kB\n');
    // /etc/os-release as a directory, /proc/loadavg as a FIFO nobody writes, ipamd.log as a FIFO in a glob folder.
    await rm(node.path('/etc/os-release'));
    await node.file('/etc/os-release/unexpected', 'x');
    await node.file('/var/log/aws-routed-eni/plugin.log', '{"level":"info","msg":"ADD"}\n');
    for (const fifo of ['/proc/loadavg', '/var/log/aws-routed-eni/ipamd.log']) {
      await rm(node.path(fifo), { force: true });
      expect(spawnSync('mkfifo', [node.path(fifo)]).status).toBe(0);
    }
    // A listening unix socket where the instance-id file should be.
    await rm(node.path('/var/lib/cloud/data/instance-id'));
    const socketServer = createServer();
    await new Promise<void>((resolveListen) =>
      socketServer.listen(node.path('/var/lib/cloud/data/instance-id'), resolveListen),
    );
    const file = bundlePath();
    try {
      const result = await collect(node, [
        ...['--root', node.root, '--out', file],
        ...['--only', 'proc-loadavg,os-release,proc-meminfo,aws-routed-eni-logs,instance-id'],
      ]);

      expect(result.code).toBe(0);
      expect(result.ms).toBeLessThan(SLACK_MS * 2);
      const manifest = await completeRun(result, file);
      expect(manifestItem(manifest, 'proc-loadavg')).toMatchObject({
        status: 'error',
        reason: 'not a regular file: a FIFO',
      });
      expect(manifestItem(manifest, 'os-release')).toMatchObject({ status: 'error', reason: 'is a directory' });
      expect(manifestItem(manifest, 'ipamd-log')).toMatchObject({
        status: 'error',
        reason: 'not a regular file: a FIFO',
      });
      expect(manifestItem(manifest, 'plugin-log')).toMatchObject({ status: 'ok' });
      expect(manifestItem(manifest, 'proc-meminfo')).toMatchObject({ status: 'ok' });
      expect(manifestItem(manifest, 'instance-id')).toMatchObject({
        status: 'error',
        reason: 'not a regular file: a socket',
      });
      await expectAnalyzable(file, ['system/meminfo.txt', 'var_log/aws-routed-eni/plugin.log']);
    } finally {
      socketServer.close();
    }
  });
});

describe('a multi-gigabyte log', () => {
  it('keeps only the tail within the budget of a sparse 3 GiB ipamd.log: truncated, small bundle, fast', async () => {
    await fakeNode();
    const log = node.path('/var/log/aws-routed-eni/ipamd.log');
    await mkdir(join(log, '..'), { recursive: true });
    expect(spawnSync('truncate', ['-s', '3G', log]).status).toBe(0);
    const lines = (count: number, tag: string) =>
      Array.from(
        { length: count },
        (_, n) =>
          `{"level":"debug","ts":"2026-11-26T10:00:${String(n % 60).padStart(2, '0')}.000Z","caller":"ipamd/ipamd.go:1234","msg":"IP pool stats: total=28 used=${n % 28} ${tag}"}\n`,
      ).join('');
    // Past the hole, 66 MiB of real lines: the kept tail (64 MiB) is text, starting on a whole line.
    const block = Buffer.from(lines(4000, 'older'));
    const handle = await open(log, 'a');
    for (let written = 0; written < 66 * 2 ** 20; written += block.length) await handle.write(block);
    const lastLines = lines(2000, 'newest');
    await handle.write(lastLines);
    await handle.close();
    const size = (await stat(log)).size;
    const file = bundlePath();
    // The run's total budget caps the folder's own (512 MiB) so the test stays quick; the cut is the same code path.
    const result = await collect(node, [
      ...['--root', node.root, '--out', file, '--max-bytes', '64MiB'],
      ...['--only', 'aws-routed-eni-logs,proc-loadavg'],
    ]);

    expect(result.code).toBe(0);
    expect(result.ms).toBeLessThan(30 * SECOND);
    const manifest = await completeRun(result, file);
    const item = manifestItem(manifest, 'ipamd-log');
    expect(item.status).toBe('truncated');
    expect(item.reason).toMatch(new RegExp(`^kept the last \\d+ of ${size} bytes \\(item budget\\)$`));
    expect(item.bytes).toBeLessThanOrEqual(64 * 2 ** 20 + 100);
    expect((await stat(file)).size).toBeLessThan(2 * 2 ** 20);
    const kept = (await readBundle(await readFile(file))).get('var_log/aws-routed-eni/ipamd.log');
    expect(kept?.subarray(0, 80).toString()).toMatch(/^\[eks-node-diag: output cut at \d+ bytes of/);
    expect(kept?.subarray(-lastLines.length).toString()).toBe(lastLines);
    const firstLine = kept?.subarray(0, 2000).toString().split('\n')[1];
    expect(firstLine).toMatch(/^\{"level":"debug".*older"\}$/);
    const report = await expectAnalyzable(file, ['system/loadavg.txt', 'var_log/aws-routed-eni/ipamd.log']);
    expect(report.bundle.inventory.find((entry) => entry.path === 'var_log/aws-routed-eni/ipamd.log')).toMatchObject({
      collectedStatus: 'truncated',
    });
  });
});

/** A server that accepts connections, reads the request and never answers. */
async function silentServer(listenOn: number | string): Promise<{ server: Server; requests: string[] }> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (chunk) => requests.push(chunk.toString('latin1').split('\r\n')[0] ?? ''));
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('close', () => {
    for (const socket of sockets) socket.destroy();
  });
  await new Promise<void>((resolveListen) =>
    typeof listenOn === 'number'
      ? server.listen(listenOn, '127.0.0.1', resolveListen)
      : server.listen(listenOn, resolveListen),
  );
  return { server, requests };
}

async function closeServer(server: Server): Promise<void> {
  server.close();
  server.emit('close');
}

describe('an endpoint that accepts and never answers', () => {
  for (const transport of ['tcp', 'unix'] as const) {
    it(`ends the introspection items as timeout (INTROSPECTION_BIND_ADDRESS over ${transport})`, async () => {
      await fakeNode();
      const { server, requests } = await silentServer(transport === 'tcp' ? 0 : join(node.dir, 'introspection.sock'));
      const address = server.address();
      const bind =
        transport === 'tcp' && typeof address === 'object' && address
          ? `127.0.0.1:${address.port}`
          : `unix:${join(node.dir, 'introspection.sock')}`;
      // aws-node's process as ipamd's endpoints are found: comm and environment under the node root's /proc.
      await node.file('/proc/4242/comm', 'aws-k8s-agent\n');
      await node.file('/proc/4242/environ', `AWS_VPC_K8S_CNI_LOGLEVEL=DEBUG\0INTROSPECTION_BIND_ADDRESS=${bind}\0`);
      const file = bundlePath();
      try {
        const result = await collect(node, [
          ...['--root', node.root, '--out', file, '--item-timeout', '2s'],
          ...['--only', 'ipamd-enis,ipamd-eni-configs,proc-loadavg'],
        ]);

        expect(result.code).toBe(0);
        // Both run at once (two at a time), each within its own limit.
        expect(result.ms).toBeLessThan(2 * SECOND + SLACK_MS);
        const manifest = await completeRun(result, file);
        const source = transport === 'tcp' ? `http://${bind}/v1/enis` : `${bind}:/v1/enis`;
        expect(manifestItem(manifest, 'ipamd-enis')).toMatchObject({
          status: 'timeout',
          reason: 'timed out after 2s',
          source,
          bytes: 0,
        });
        expect(manifestItem(manifest, 'ipamd-eni-configs')).toMatchObject({ status: 'timeout' });
        expect(requests.sort()).toEqual(['GET /v1/eni-configs HTTP/1.1', 'GET /v1/enis HTTP/1.1']);
        await expectAnalyzable(file, ['system/loadavg.txt']);
      } finally {
        await closeServer(server);
      }
    });
  }
});

/** Fake networking tools that hang, for runs that must be stopped from outside. */
async function slowNetworkingTools(): Promise<void> {
  for (const tool of ['iptables-save', 'ip', 'sysctl']) await node.tool(tool, 'sleep 1000');
}
const SLOW_ITEMS = 'instance-id,ip-route,ip-rule,iptables-save,sysctl-all,ip-addr,proc-loadavg';

describe('the whole-run deadline', () => {
  it('stops running items, skips unstarted ones naming the deadline, and writes the manifest', async () => {
    await fakeNode();
    await slowNetworkingTools();
    const file = bundlePath();
    const result = await collect(node, ['--root', node.root, '--out', file, '--deadline', '3s', '--only', SLOW_ITEMS]);

    expect(result.code).toBe(0);
    expect(result.ms).toBeGreaterThanOrEqual(3 * SECOND - 100);
    expect(result.ms).toBeLessThan(3 * SECOND + TERM_GRACE_MS + SLACK_MS);
    const manifest = await completeRun(result, file);
    expect(manifest.interrupted).toBe(true);
    expect(manifest.parameters).toMatchObject({ deadline: '3s', stoppedBy: 'deadline' });
    expect(manifestItem(manifest, 'instance-id')).toMatchObject({ status: 'ok' });
    // Priority 1, by id: instance-id, then ip-route and ip-rule take both slots and hang until the deadline.
    for (const id of ['ip-route', 'ip-rule']) {
      expect(manifestItem(manifest, id), id).toMatchObject({ status: 'timeout', reason: 'stopped: deadline' });
    }
    for (const id of ['iptables-save', 'proc-loadavg', 'sysctl-all', 'ip-addr']) {
      expect(manifestItem(manifest, id), id).toMatchObject({
        status: 'skipped',
        reason: 'the whole-run deadline (--deadline) was reached before it started',
      });
    }
    expect(await survivors(node.marker)).toEqual([]);
    const report = await expectAnalyzable(file, ['system/instance-id.txt']);
    expect(report.bundle.collector?.interrupted).toBe(true);
  });
});

describe('stop signals', () => {
  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    it(`${signal} mid-run: exit ${code}, a complete bundle with its manifest, nothing left running`, async () => {
      await fakeNode();
      await slowNetworkingTools();
      const file = bundlePath();
      const run = startCollect(node, ['--root', node.root, '--out', file, '--only', SLOW_ITEMS]);
      await run.stderrMatches(/ok +system\/instance-id\.txt/);
      run.child.kill(signal);
      const result = await run.result;

      expect(result.signal).toBeNull();
      expect(result.code).toBe(code);
      expect(result.ms).toBeLessThan(TERM_GRACE_MS + SLACK_MS * 2);
      expect(result.stderr).toContain(`received ${signal}: stopping, writing the manifest`);
      const manifest = await completeRun(result, file);
      expect(manifest.interrupted).toBe(true);
      expect(manifest.parameters.stoppedBy).toBe('signal');
      for (const id of ['ip-route', 'ip-rule']) {
        expect(manifestItem(manifest, id), id).toMatchObject({ status: 'timeout', reason: 'stopped: signal' });
      }
      expect(manifestItem(manifest, 'sysctl-all')).toMatchObject({
        status: 'skipped',
        reason: 'the agent was stopped before it started',
      });
      expect(await survivors(node.marker)).toEqual([]);
      const report = await expectAnalyzable(file, ['system/instance-id.txt']);
      expect(report.bundle.collector?.interrupted).toBe(true);
    });
  }

  it('SIGKILL mid-run: what was written reads as a bundle cut short, and the hung tools still end on their own', async () => {
    await fakeNode();
    await slowNetworkingTools();
    const file = bundlePath();
    // Three quick files first (priority 1), then two commands (priority 2) that hang.
    const run = startCollect(node, [
      ...['--root', node.root, '--out', file, '--item-timeout', '2s'],
      ...['--only', 'instance-id,os-release,proc-loadavg,ip-addr,ip-link'],
    ]);
    for (const path of ['system/instance-id.txt', 'system/os-release.txt', 'system/loadavg.txt']) {
      await run.stderrMatches(new RegExp(`ok +${path.replaceAll('.', '\\.')}`));
    }
    // Each entry is flushed before its progress line; give the file stream a moment to hand it to the kernel.
    await new Promise((resolvePause) => setTimeout(resolvePause, 300));
    // The two hung tools (each a shell and its sleep) are running as the agent dies.
    expect((await processesWithMarker(node.marker)).length).toBeGreaterThanOrEqual(2);
    run.child.kill('SIGKILL');
    const result = await run.result;
    expect(result.signal).toBe('SIGKILL');
    expect(existsSync(file)).toBe(true);

    const report = await analyze(file);
    expect(report.bundle.errors.map((error) => error.code)).toEqual([
      'ENDIAG_ARCHIVE_TRUNCATED',
      'ENDIAG_ARCHIVE_TRUNCATED',
    ]);
    expect(report.bundle.errors[0]?.message).toMatch(/the gzip stream ends early/);
    expect(report.bundle.errors[1]).toMatchObject({
      member: 'manifest.json',
      message: expect.stringMatching(/without manifest\.json: the agent was stopped before it finished/),
    });
    for (const [path, content] of [
      ['system/instance-id.txt', INSTANCE_ID],
      ['system/os-release.txt', OS_RELEASE],
      ['system/loadavg.txt', LOADAVG],
    ] as const) {
      expect(
        report.bundle.inventory.find((entry) => entry.path === path),
        path,
      ).toMatchObject({
        state: expect.stringMatching(/^(read|not-parsed)$/),
        bytes: content.length,
      });
    }
    // No timer of the dead agent fires: the `timeout` backstop each command runs under ends them instead.
    expect(await survivors(node.marker, 2 * SECOND + TERM_GRACE_MS + 1000 + SLACK_MS)).toEqual([]);
  });
});

describe('not enough disk', () => {
  it('refuses before writing anything: exit 4, a clear message, no file', async () => {
    await fakeNode();
    await node.tool('ionice');
    const file = bundlePath();
    const result = await collect(node, ['--root', node.root, '--out', file, '--max-bytes', '100TB']);

    expect(result.code).toBe(4);
    expect(result.stdout.length).toBe(0);
    expect(result.stderr).toMatch(
      /^eks-node-diag: not enough free disk space in .+: \d+ MiB free, \d+ MiB needed .*nothing was written\./,
    );
    expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(existsSync(file)).toBe(false);
    expect((await readdir(node.dir)).filter((name) => name.startsWith('.eks-node-diag-spool-'))).toEqual([]);
    expect(await node.calls()).toEqual([]);
  });

  it('a disk that fills up while writing: the item is an error, then exit 4 with a clear message, partial file removed', async () => {
    await fakeNode();
    const small = join(node.dir, 'small');
    await mkdir(small);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=280m', 'tmpfs', small], { encoding: 'utf8' });
    expect(mounted.status, `mount -t tmpfs (needs root): ${mounted.stderr}`).toBe(0);
    const go = (name: string) => join(node.dir, name);
    const waitFor = (name: string) => `while [ ! -e ${shellQuote(go(name))} ]; do sleep 0.05; done`;
    try {
      // Once the disk is full: iptables-save prints 4 MB (more than the spool keeps in memory, so it needs a temp
      // file), then sysctl 800 KB that does not compress (held in memory, but the bundle file must grow for it).
      await node.tool('iptables-save', `${waitFor('go-1')}\nhead -c 3000000 /dev/urandom | base64`);
      await node.tool('sysctl', `${waitFor('go-2')}\nhead -c 600000 /dev/urandom | base64`);
      await node.tool('ip', `echo 'default via 10.0.0.1 dev eth0'`);
      const file = join(small, 'bundle.tar.gz');
      // 4 MiB of budget passes the free-space check (256 MiB reserve + budget / 4) on a 280 MiB disk.
      const run = startCollect(node, [
        ...['--root', node.root, '--out', file, '--max-bytes', '4MiB'],
        ...['--only', 'instance-id,ip-route,iptables-save,os-release,proc-loadavg,sysctl-all'],
      ]);
      await run.stderrMatches(/ok +system\/loadavg\.txt/);
      const free = spawnSync('stat', ['-f', '-c', '%a %S', small], { encoding: 'utf8' }).stdout.trim().split(' ');
      const fill = spawnSync('fallocate', ['-l', String(Number(free[0]) * Number(free[1])), join(small, 'filler')]);
      expect(fill.status).toBe(0);
      await writeFile(go('go-1'), '');
      await run.stderrMatches(/error +networking\/iptables-save\.txt \(could not be spooled: ENOSPC/);
      await writeFile(go('go-2'), '');
      const result = await run.result;

      expect(result.code).toBe(4);
      expect(result.stdout.length).toBe(0);
      expect(result.stderr).toMatch(
        /eks-node-diag: no space left on the device while writing .*bundle\.tar\.gz \(after \d+ entries\); the partial bundle was removed/,
      );
      expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(existsSync(file)).toBe(false);
      expect((await readdir(small)).sort()).toEqual(['filler']);
      expect(await survivors(node.marker)).toEqual([]);
    } finally {
      spawnSync('umount', ['-l', small]);
    }
  });
});

describe('an output that cannot be written', () => {
  it('an --out directory that does not exist: exit 1, a clear message, nothing run or written', async () => {
    await fakeNode();
    await node.tool('ionice');
    const missing = join(node.dir, 'no-such-dir');
    const result = await collect(node, ['--root', node.root, '--out', join(missing, 'bundle.tar.gz')]);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `eks-node-diag: cannot write the bundle in ${missing}: no such directory; nothing was written.\n`,
    );
    expect(existsSync(missing)).toBe(false);
    expect(await node.calls()).toEqual([]);
  });

  it('--out - whose reader goes away: the run stops, exit 1 naming the broken pipe, nothing left behind', async () => {
    await fakeNode();
    await node.tool('iptables-save', "sleep 1\necho '*filter'");
    await node.tool('ip', 'sleep 1000');
    const spoolsBefore = await spoolDirs('/var/tmp');
    const run = startCollect(node, [
      ...['--root', node.root, '--out', '-'],
      ...['--only', 'instance-id,iptables-save,ip-route,sysctl-all,proc-loadavg'],
    ]);
    // The reader takes the first bytes (gzip header, first entries), then closes its end of the pipe.
    await new Promise((resolveData) => run.child.stdout?.once('data', resolveData));
    run.child.stdout?.destroy();
    const result = await run.result;

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/eks-node-diag: could not write the bundle to stdout: .*EPIPE/);
    expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(result.ms).toBeLessThan(TERM_GRACE_MS + SLACK_MS * 2);
    expect(await survivors(node.marker)).toEqual([]);
    expect(await spoolDirs('/var/tmp')).toEqual(spoolsBefore);
  });
});

describe('--out -', () => {
  it('streams the bundle to stdout, with nothing else on it and no local file', async () => {
    await fakeNode();
    await node.tool('ip', `echo 'default via 10.0.0.1 dev eth0'`);
    const spoolsBefore = await spoolDirs('/var/tmp');
    const file = bundlePath('streamed.tar.gz');
    const listing = join(node.dir, 'listing.txt');
    // A real pipe: the agent's stdout straight into tar, a copy kept for the analyzer (which reads files only).
    const pipeline = spawn(
      'bash',
      [
        '-c',
        `set -o pipefail; ${shellQuote(process.execPath)} ${shellQuote(CLI)} collect --root ${shellQuote(node.root)} --only proc-loadavg,os-release,ip-route --out - | tee ${shellQuote(file)} | tar -tzf - > ${shellQuote(listing)}`,
      ],
      { env: { PATH: `${node.bin}:/usr/bin:/bin`, AWS_EC2_METADATA_SERVICE_ENDPOINT: CLOSED_IMDS }, stdio: 'ignore' },
    );
    const code = await new Promise<number | null>((resolveExit) => pipeline.once('close', resolveExit));

    expect(code).toBe(0);
    const listed = (await readFile(listing, 'utf8')).split('\n').filter(Boolean);
    // Entries go in as items finish; the manifest always last.
    expect(listed.at(-1)).toBe('manifest.json');
    expect(listed.sort()).toEqual([
      'manifest.json',
      'networking/iproute.txt',
      'system/loadavg.txt',
      'system/os-release.txt',
    ]);
    // Only the gzip stream: `gzip -t` warns about anything after it ("trailing garbage").
    const check = spawnSync('gzip', ['-t', file], { encoding: 'utf8' });
    expect([check.status, check.stderr]).toEqual([0, '']);
    const manifest = await readManifest(await readFile(file));
    expect(manifestItem(manifest, 'ip-route')).toMatchObject({ status: 'ok' });
    expect(await spoolDirs('/var/tmp')).toEqual(spoolsBefore);
    await expectAnalyzable(file, ['system/loadavg.txt', 'system/os-release.txt', 'networking/iproute.txt']);
  });
});

async function spoolDirs(directory: string): Promise<string[]> {
  return (await readdir(directory)).filter((name) => name.startsWith('.eks-node-diag-spool-')).sort();
}

/** Tools the derived items run besides the inventory's own commands. */
const DERIVED_TOOLS = ['iptables', 'iptables-legacy-save', 'iptables-nft-save', 'ps', 'ctr', 'ip', 'ethtool'];
/** Tools whose mere use would change the node: the agent must never run them. */
const FORBIDDEN_TOOLS = ['kill', 'pkill', 'killall', 'modprobe', 'rmmod', 'reboot', 'shutdown', 'iptables-restore'];
const NETFILTER_WRITES = new Set([
  ...['-A', '--append', '-D', '--delete', '-I', '--insert', '-R', '--replace', '-F', '--flush', '-X'],
  ...['--delete-chain', '-P', '--policy', '-N', '--new-chain', '-E', '--rename-chain', '-Z', '--zero'],
]);

/** Why a recorded call would change the node, or undefined when it only reads. */
function writeIn(call: ToolCall, agentPid: number): string | undefined {
  const { tool, args } = call;
  const has = (...flags: string[]) => args.some((arg) => flags.includes(arg));
  if (FORBIDDEN_TOOLS.includes(tool)) return 'must never run';
  if (/^ip6?tables/.test(tool)) {
    const write = args.find((arg) => NETFILTER_WRITES.has(arg));
    if (write) return `rule change ${write}`;
    if (has('-L', '--list') && !has('-n', '--numeric')) return 'a listing without --numeric resolves names (DNS)';
    if (tool.endsWith('-restore')) return 'restores rules';
    return undefined;
  }
  switch (tool) {
    case 'ip':
      return args.includes('show') && !has('add', 'del', 'delete', 'change', 'replace', 'set', 'flush', 'append')
        ? undefined
        : 'not a show';
    case 'sysctl':
      return has('-w', '--write', '-p', '--load', '--system') || args.some((arg) => arg.includes('='))
        ? 'writes a sysctl'
        : undefined;
    case 'nft':
      return args[0] === 'list' ? undefined : 'not a list';
    case 'conntrack':
      return args.every((arg) => ['-S', '--stats', '-C', '--count', '-L', '--dump'].includes(arg))
        ? undefined
        : 'not a read';
    case 'ipvsadm':
      return args.every((arg) => ['--save', '-S', '--numeric', '-n', '--list', '-L'].includes(arg))
        ? undefined
        : 'not a read';
    case 'ipset':
      return ['list', 'save'].includes(args[0] ?? '') ? undefined : 'not a list';
    case 'systemctl':
      return ['cat', 'list-units', 'show', 'status'].includes(args[0] ?? '') ? undefined : 'changes units';
    case 'ethtool':
      return ['-S', '--statistics', '-i', '--driver', '-k', '--show-features'].includes(args[0] ?? '')
        ? undefined
        : 'changes a NIC';
    case 'ctr':
      return has('rm', 'delete', 'del', 'kill', 'task', 'create', 'run', 'pull', 'update')
        ? 'changes containers'
        : undefined;
    case 'crictl':
      return ['pods', 'ps', 'version', 'info', 'inspect', 'inspectp', 'images'].includes(args[0] ?? '')
        ? undefined
        : 'changes containers';
    case 'dmesg':
      return has(
        '-C',
        '--clear',
        '-c',
        '--read-clear',
        '-n',
        '--console-level',
        '-D',
        '-E',
        '--console-off',
        '--console-on',
      )
        ? 'changes the kernel log'
        : undefined;
    case 'journalctl':
      return args.some((arg) => /^--(rotate|vacuum|flush|sync|relinquish-var|setup-keys)/.test(arg))
        ? 'changes the journal'
        : undefined;
    case 'ionice':
      // Its own IO class is the one priority the agent may change.
      return args.join(' ') === `-c 3 -p ${agentPid}` ? undefined : 'changes another process';
    default:
      return undefined;
  }
}

describe('read-only towards the system', () => {
  it('a full collection runs only reads: no rule, sysctl, link or unit changes, no signals, numeric listings', async () => {
    await fakeNode();
    // A real stand-in for aws-node that records any signal it gets; /proc under the root points the agent at it.
    const signalLog = join(node.dir, 'daemon-signals.log');
    const daemon = spawn(
      'sh',
      [
        '-c',
        `for s in TERM INT HUP USR1 USR2 QUIT; do trap "echo $s >> ${shellQuote(signalLog)}" $s; done; while :; do sleep 0.2; done`,
      ],
      { stdio: 'ignore', detached: true },
    );
    const commandTools = inventory.flatMap((item) =>
      item.source.kind === 'command' && !item.source.argv[0]?.includes('/') ? [item.source.argv[0] as string] : [],
    );
    for (const tool of new Set([...commandTools, ...DERIVED_TOOLS, 'journalctl', 'ionice', ...FORBIDDEN_TOOLS])) {
      await node.tool(tool);
    }
    // Outputs that lead the derived items on to their follow-up commands.
    await node.tool(
      'ctr',
      `case "$*" in *list*) printf 'CONTAINER IMAGE RUNTIME\\nabc123 602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.20.4-eksbuild.1 io.containerd.runc.v2\\n';; *) echo '{}';; esac`,
    );
    await node.tool(
      'ip',
      `case "$*" in '-o link show') printf '1: lo: <LOOPBACK,UP> mtu 65536\\n2: eth0: <BROADCAST,UP> mtu 9001\\n';; *) echo "fake ip $*";; esac`,
    );
    await node.tool('iptables', `echo 'iptables v1.8.8 (nf_tables)'`);
    await mkdir(node.path('/var/log/journal/0123456789abcdef'), { recursive: true });
    await node.file(`/proc/${daemon.pid}/comm`, 'aws-k8s-agent\n');
    await node.file(`/proc/${daemon.pid}/environ`, 'AWS_VPC_K8S_CNI_LOGLEVEL=DEBUG\0');
    const file = bundlePath();
    try {
      const run = startCollect(node, ['--root', node.root, '--out', file, '--deadline', '60s']);
      const result = await run.result;

      expect(result.code).toBe(0);
      const manifest = await completeRun(result, file);
      expect(manifest.interrupted).toBeUndefined();
      expect(manifest.items.length).toBeGreaterThanOrEqual(inventory.length);
      const calls = await node.calls();
      const writes = calls.flatMap((call) => {
        const why = writeIn(call, run.child.pid as number);
        return why ? [`${call.tool} ${call.args.join(' ')}: ${why}`] : [];
      });
      expect(writes).toEqual([]);
      // The audit saw every command of the inventory (only absolute-path tools are absent here).
      for (const item of inventory) {
        if (item.source.kind !== 'command') continue;
        const [tool, ...args] = item.source.argv;
        if (tool?.includes('/')) {
          expect(manifestItem(manifest, item.id)).toMatchObject({ status: 'skipped', reason: 'not installed' });
          continue;
        }
        expect(calls, item.id).toContainEqual({ tool, args });
      }
      const listings = calls.filter((call) => /^ip6?tables$/.test(call.tool) && call.args.includes('--list'));
      expect(listings.length).toBeGreaterThanOrEqual(5);
      for (const listing of listings) expect(listing.args).toContain('--numeric');
      expect(calls.some((call) => call.tool === 'ethtool' && call.args.join(' ') === '-S eth0')).toBe(true);
      expect(calls.some((call) => call.tool === 'ctr' && call.args.includes('info'))).toBe(true);
      expect(calls.some((call) => call.tool === 'journalctl')).toBe(true);
      // aws-node is alive and got no signal.
      expect(daemon.exitCode).toBeNull();
      expect(existsSync(signalLog) ? await readFile(signalLog, 'utf8') : '').toBe('');
      await expectAnalyzable(file, ['system/loadavg.txt', 'system/os-release.txt']);
    } finally {
      process.kill(-(daemon.pid as number), 'SIGKILL');
    }
  });
});
