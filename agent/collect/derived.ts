/**
 * Items the agent computes rather than copies: the iptables backend in use, conntrack fill, the CFS-throttled
 * cgroups with their processes (the stock collector's format, with exact pid matching), aws-node's own cgroup
 * stats, aws-node's container spec from the runtime, NIC statistics per interface, and the node's own pods from the API
 * server (kube-pods.ts). Each is a SourceRun like any other, so budgets, redaction and the manifest treat them the same.
 */
import { readdir, readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { runCommand } from '../sources/command.ts';
import { resolveUnderRoot } from '../sources/file.ts';
import type { SourceContext, SourceOutcome, SourceRun } from '../sources/types.ts';
import { kubeletPods } from './kube-pods.ts';

type Producer = (ctx: SourceContext) => Promise<{ text: string; outcome: SourceOutcome }>;

/** Reads a small node file (under the root, chroot-style), or undefined when it is absent or unreadable. */
export async function readSmallNodeFile(
  ctx: SourceContext,
  path: string,
  limit = 1024 * 1024,
): Promise<string | undefined> {
  const resolved = await resolveUnderRoot(ctx.root, path);
  if (!('path' in resolved) || !resolved.stats.isFile()) return undefined;
  try {
    const text = await readFile(resolved.path, 'utf8');
    return text.length > limit ? text.slice(0, limit) : text;
  } catch {
    return undefined;
  }
}

/** Runs a command to completion and returns its stdout (bounded), for producers that combine several commands. */
async function commandText(
  argv: string[],
  ctx: SourceContext,
  limit = 4 * 1024 * 1024,
): Promise<{ text: string; outcome: SourceOutcome }> {
  const run = runCommand(argv, ctx);
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of run.stream as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes <= limit) chunks.push(chunk);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), outcome: await run.done };
}

const iptablesBackend: Producer = async (ctx) => {
  const version = await commandText(['iptables', '--version'], ctx);
  if (version.outcome.status !== 'ok') return { text: '', outcome: version.outcome };
  const lines = [`iptables: ${version.text.trim()}`];
  const backend = /\((nf_tables|legacy)\)/.exec(version.text)?.[1] ?? 'legacy';
  lines.push(`backend: ${backend}`);
  for (const [name, argv] of [
    ['legacy', ['iptables-legacy-save']],
    ['nf_tables', ['iptables-nft-save']],
  ] as const) {
    const save = await commandText([...argv], ctx);
    if (save.outcome.status === 'skipped') {
      lines.push(`${name} rules: unknown (${save.outcome.reason})`);
      continue;
    }
    const rules = save.text.split('\n').filter((line) => line.startsWith('-A ')).length;
    lines.push(`${name} rules: ${rules}`);
  }
  return { text: `${lines.join('\n')}\n`, outcome: { status: 'ok' } };
};

const conntrackCount: Producer = async (ctx) => {
  const count = await readSmallNodeFile(ctx, '/proc/sys/net/netfilter/nf_conntrack_count');
  const max = await readSmallNodeFile(ctx, '/proc/sys/net/netfilter/nf_conntrack_max');
  if (count === undefined && max === undefined) {
    return { text: '', outcome: { status: 'skipped', reason: 'nf_conntrack not loaded (no /proc/sys/net/netfilter)' } };
  }
  const lines = [];
  if (count !== undefined) lines.push(`net.netfilter.nf_conntrack_count = ${count.trim()}`);
  if (max !== undefined) lines.push(`net.netfilter.nf_conntrack_max = ${max.trim()}`);
  return { text: `${lines.join('\n')}\n`, outcome: { status: 'ok' } };
};

/** cpu.stat files under the root's cgroup tree (v2 unified, or v1 cpu controller), depth-bounded. */
async function cpuStatFiles(ctx: SourceContext): Promise<string[]> {
  const found: string[] = [];
  const roots = ['/sys/fs/cgroup', '/sys/fs/cgroup/cpu,cpuacct'];
  const visit = async (nodeDir: string, depth: number): Promise<void> => {
    if (depth > 8 || found.length > 5000) return;
    const resolved = await resolveUnderRoot(ctx.root, nodeDir);
    if (!('path' in resolved) || !resolved.stats.isDirectory()) return;
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(resolved.path, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.isFile() && entry.name === 'cpu.stat') found.push(`${nodeDir}/cpu.stat`);
      else if (entry.isDirectory()) await visit(`${nodeDir}/${entry.name}`, depth + 1);
    }
  };
  for (const root of roots) await visit(root, 0);
  return found;
}

/** `ps ax` rows by pid, matched exactly (the stock script's `grep "^pid"` misses padded pids). */
async function processRows(ctx: SourceContext): Promise<Map<number, string>> {
  const { text } = await commandText(['ps', 'ax', '--format', 'pid,tty,stat,time,args'], ctx);
  const rows = new Map<number, string>();
  for (const line of text.split('\n').slice(1)) {
    const pid = Number.parseInt(line.trim(), 10);
    if (Number.isFinite(pid)) rows.set(pid, line);
  }
  return rows;
}

const cpuThrottling: Producer = async (ctx) => {
  const files = await cpuStatFiles(ctx);
  if (files.length === 0) return { text: '', outcome: { status: 'skipped', reason: 'no cgroup cpu.stat files' } };
  const rows = ctx.root === '/' ? await processRows(ctx) : new Map<number, string>();
  const blocks: string[] = [];
  for (const file of files) {
    const stat = await readSmallNodeFile(ctx, file, 64 * 1024);
    if (!stat || !/^nr_throttled [1-9]/m.test(stat)) continue;
    const procs = (await readSmallNodeFile(ctx, file.replace(/cpu\.stat$/, 'cgroup.procs'), 1024 * 1024)) ?? '';
    const pids = procs
      .split('\n')
      .map((line) => Number.parseInt(line, 10))
      .filter(Number.isFinite);
    if (pids.length === 0) continue;
    const lines = [file, stat.trimEnd()];
    for (const pid of pids) {
      const row = rows.get(pid);
      if (row) lines.push(row);
    }
    blocks.push(`${lines.join('\n')}\n`);
  }
  return { text: blocks.length > 0 ? blocks.join('\n') : 'No CPU Throttling Found\n', outcome: { status: 'ok' } };
};

/** aws-node's process (aws-k8s-agent) → its cgroup → cpu.stat. */
/**
 * The pid of the first process under the root whose `comm` is `name` (found: undefined when none runs), or why /proc
 * could not be read.
 */
export async function findProcess(
  ctx: SourceContext,
  name: string,
): Promise<{ pid?: string } | { problem: 'no /proc under the node root' | 'cannot list /proc' }> {
  const proc = await resolveUnderRoot(ctx.root, '/proc');
  if (!('path' in proc)) return { problem: 'no /proc under the node root' };
  let pids: string[];
  try {
    pids = (await readdir(proc.path)).filter((entry) => /^\d+$/.test(entry));
  } catch {
    return { problem: 'cannot list /proc' };
  }
  for (const pid of pids) {
    if ((await readSmallNodeFile(ctx, `/proc/${pid}/comm`, 256))?.trim() === name) return { pid };
  }
  return {};
}

const awsNodeCpuStat: Producer = async (ctx) => {
  const found = await findProcess(ctx, 'aws-k8s-agent');
  if ('problem' in found) {
    const status = found.problem === 'cannot list /proc' ? 'error' : 'skipped';
    return { text: '', outcome: { status, reason: found.problem } };
  }
  if (!found.pid)
    return { text: '', outcome: { status: 'skipped', reason: 'aws-k8s-agent (aws-node) is not running' } };
  const cgroup = (await readSmallNodeFile(ctx, `/proc/${found.pid}/cgroup`, 64 * 1024)) ?? '';
  // cgroup v2: a single `0::/path` line.
  const path = /^0::(\/.*)$/m.exec(cgroup)?.[1];
  if (!path)
    return { text: '', outcome: { status: 'skipped', reason: 'aws-k8s-agent is not in a cgroup v2 hierarchy' } };
  const stat = await readSmallNodeFile(ctx, `/sys/fs/cgroup${path}/cpu.stat`, 64 * 1024);
  if (!stat) return { text: '', outcome: { status: 'error', reason: `no cpu.stat for ${path}` } };
  return { text: stat, outcome: { status: 'ok' } };
};

/** The aws-node container's spec (env, image, mounts) from containerd, as the stock collector's `ctr container info`. */
const awsNodeContainerInfo: Producer = async (ctx) => {
  const list = await commandText(['ctr', '--namespace', 'k8s.io', 'containers', 'list'], ctx);
  if (list.outcome.status !== 'ok') return { text: '', outcome: list.outcome };
  const id = list.text
    .split('\n')
    .find((line) => /amazon-k8s-cni:v/.test(line) && !/amazon-k8s-cni-init/.test(line))
    ?.split(/\s+/)[0];
  if (!id)
    return { text: '', outcome: { status: 'skipped', reason: 'no aws-node (amazon-k8s-cni) container on this node' } };
  const info = await commandText(['ctr', '--namespace', 'k8s.io', 'containers', 'info', id], ctx);
  return { text: info.text, outcome: info.outcome };
};

const ethtoolStats: Producer = async (ctx) => {
  const links = await commandText(['ip', '-o', 'link', 'show'], ctx);
  if (links.outcome.status !== 'ok') return { text: '', outcome: links.outcome };
  const names = [...links.text.matchAll(/^\d+: ([^:@\s]+)/gm)]
    .map((match) => match[1] as string)
    .filter((name) => name !== 'lo');
  const parts: string[] = [];
  for (const name of names.slice(0, 64)) {
    const stats = await commandText(['ethtool', '-S', name], ctx, 256 * 1024);
    if (stats.outcome.status === 'skipped') return { text: '', outcome: stats.outcome };
    parts.push(`Interface: ${name}\n${stats.text.trimEnd()}\n`);
  }
  return { text: parts.join('\n'), outcome: { status: 'ok' } };
};

const producers: Record<string, Producer> = {
  'iptables-backend': iptablesBackend,
  'conntrack-count': conntrackCount,
  'cpu-throttling': cpuThrottling,
  'aws-node-cpu-stat': awsNodeCpuStat,
  'aws-node-container-info': awsNodeContainerInfo,
  'ethtool-stats': ethtoolStats,
  'kubelet-pods': kubeletPods,
};

export function runDerived(name: string, ctx: SourceContext): SourceRun {
  const producer = producers[name];
  if (!producer) {
    return {
      stream: Readable.from([]),
      done: Promise.resolve({ status: 'error', reason: `no derived source named ${name}` }),
    };
  }
  // A producer may run several commands: the item's time limit bounds all of them together.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ text: string; outcome: SourceOutcome }>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          text: '',
          outcome: { status: 'timeout', reason: `no result within ${Math.round(ctx.timeoutMs / 1000)}s` },
        }),
      ctx.timeoutMs,
    );
  });
  const result = Promise.race([
    producer(ctx).catch((error: Error) => ({
      text: '',
      outcome: { status: 'error', reason: error.message } as SourceOutcome,
    })),
    timeout,
  ]).finally(() => clearTimeout(timer));
  const stream = Readable.from(
    (async function* () {
      const { text } = await result;
      if (text) yield Buffer.from(text);
    })(),
  );
  return { stream, done: result.then(({ outcome }) => outcome) };
}
