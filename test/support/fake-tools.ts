/**
 * A fake node for driving the real built agent (`dist/eks-node-diag.cjs collect`) in a child process: a `--root` tree
 * of plain files in a temp dir, and a directory of fake tools (shell scripts named `iptables-save`, `ip`, `sysctl`, …)
 * that is the child's whole PATH. Faults are injected through real processes: a tool that sleeps, ignores SIGTERM or
 * forks; a FIFO where a file should be; a sparse multi-gigabyte log.
 *
 * Every fake tool appends its argv to a call log before it does anything else, and exports a marker in its
 * environment, so a test can tell exactly what the agent ran and find any process it left behind (`/proc/<pid>/environ`
 * carries the marker into every child the tool starts, `sleep` included).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import type { Report } from '../../analyzer/report/model.ts';
import type { BundleManifest, ManifestItem } from '../../contract/bundle.ts';

export const CLI = resolve('dist/eks-node-diag.cjs');

/** IMDS is never contacted from tests: port 1 on loopback refuses, so the agent records "not on EC2" at once. */
export const CLOSED_IMDS = 'http://127.0.0.1:1';

export interface ToolCall {
  tool: string;
  args: string[];
}

export interface FakeNode {
  /** The temp dir holding everything below. */
  dir: string;
  /** The node root given to `--root`. */
  root: string;
  /** The fake tools: the child's PATH. */
  bin: string;
  /** Exported by every fake tool: processes carrying it in their environment are the tools and their children. */
  marker: string;
  /** Writes a fake tool: it records its argv, then runs `body` (sh). The default body prints one line. */
  tool(name: string, body?: string): Promise<void>;
  /** Writes a file under the root (`/proc/loadavg` → `<root>/proc/loadavg`). */
  file(nodePath: string, content: string | Buffer): Promise<string>;
  /** Where a node path lives on this machine. */
  path(nodePath: string): string;
  /** Every tool call recorded so far, in order. */
  calls(): Promise<ToolCall[]>;
  /** Kills anything still carrying the marker (a test that failed) and removes the temp dir. */
  dispose(): Promise<void>;
}

const FIELD = '\x1f';

export async function createFakeNode(prefix = 'agent-faults-'): Promise<FakeNode> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const root = join(dir, 'root');
  const bin = join(dir, 'bin');
  const callLog = join(dir, 'calls.log');
  await mkdir(root, { recursive: true });
  await mkdir(bin, { recursive: true });
  await writeFile(callLog, '');
  const marker = `fake-node-${randomBytes(6).toString('hex')}`;
  const node: FakeNode = {
    dir,
    root,
    bin,
    marker,
    async tool(name, body = `printf '%s\\n' "fake ${name} output"`) {
      const script = [
        '#!/bin/sh',
        `FAKE_TOOL_MARKER=${marker}; export FAKE_TOOL_MARKER`,
        // The agent gives tools only its PATH (the fake bin); the bodies need the real utilities after it.
        'PATH="$PATH:/usr/sbin:/usr/bin:/sbin:/bin"; export PATH',
        // One write per call (O_APPEND), so tools the agent runs two at a time never interleave their lines.
        `FAKE_CALL=$(printf '%s' ${shellQuote(name)}; for arg in "$@"; do printf '${FIELD}%s' "$arg"; done)`,
        `printf '%s\\n' "$FAKE_CALL" >> ${shellQuote(callLog)}`,
        body,
        '',
      ].join('\n');
      const file = join(bin, name);
      await writeFile(file, script);
      await chmod(file, 0o755);
    },
    async file(nodePath, content) {
      const file = node.path(nodePath);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, content);
      return file;
    },
    path: (nodePath) => join(root, nodePath),
    async calls() {
      const text = await readFile(callLog, 'utf8');
      return text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => {
          const [tool = '', ...args] = line.split(FIELD);
          return { tool, args };
        });
    },
    async dispose() {
      for (const pid of await processesWithMarker(marker)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  return node;
}

export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** Live (not zombie) processes whose environment holds `marker`. */
export async function processesWithMarker(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = await readFile(`/proc/${entry}/environ`, 'latin1');
      if (!environ.includes(marker)) continue;
      const state = (await readFile(`/proc/${entry}/stat`, 'utf8')).split(') ')[1]?.[0];
      if (state !== 'Z') found.push(Number(entry));
    } catch {
      // Ended while we looked, or not ours to read.
    }
  }
  return found;
}

/** Processes carrying `marker` that are still alive after `withinMs` (SIGKILL is delivered asynchronously). */
export async function survivors(marker: string, withinMs = 1500): Promise<number[]> {
  const until = Date.now() + withinMs;
  for (;;) {
    const alive = await processesWithMarker(marker);
    if (alive.length === 0 || Date.now() > until) return alive;
    await new Promise((resolvePause) => setTimeout(resolvePause, 50));
  }
}

export interface CollectResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  ms: number;
}

export interface CollectRun {
  child: ChildProcess;
  /** Resolves when stderr (the progress lines) matches. */
  stderrMatches(pattern: RegExp, timeoutMs?: number): Promise<string>;
  result: Promise<CollectResult>;
}

/** Starts `eks-node-diag collect <args>` (the built CLI on this Node), with the fake tools as its only PATH. */
export function startCollect(
  node: Pick<FakeNode, 'bin'>,
  args: string[],
  options: { env?: Record<string, string>; stdout?: 'pipe' | 'ignore' } = {},
): CollectRun {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'collect', ...args], {
    env: { PATH: node.bin, AWS_EC2_METADATA_SERVICE_ENDPOINT: CLOSED_IMDS, ...options.env },
    stdio: ['ignore', options.stdout ?? 'pipe', 'pipe'],
  });
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  const waiters = new Set<() => void>();
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    for (const check of waiters) check();
  });
  const result = new Promise<CollectResult>((resolveResult, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolveResult({ code, signal, stdout: Buffer.concat(stdout), stderr, ms: performance.now() - started }),
    );
  });
  const stderrMatches = (pattern: RegExp, timeoutMs = 20_000) =>
    new Promise<string>((resolveMatch, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`stderr never matched ${pattern} within ${timeoutMs} ms:\n${stderr}`));
      }, timeoutMs);
      const check = () => {
        if (!pattern.test(stderr)) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolveMatch(stderr);
      };
      waiters.add(check);
      check();
      void result.then(() => {
        if (waiters.has(check)) {
          clearTimeout(timer);
          waiters.delete(check);
          reject(new Error(`the agent ended before stderr matched ${pattern}:\n${stderr}`));
        }
      });
    });
  return { child, stderrMatches, result };
}

export async function collect(
  node: Pick<FakeNode, 'bin'>,
  args: string[],
  options: { env?: Record<string, string> } = {},
): Promise<CollectResult> {
  return startCollect(node, args, options).result;
}

/** Every member of a complete tar.gz, by path. Throws on a damaged archive (use the analyzer for those). */
export async function readBundle(bytes: Buffer): Promise<Map<string, Buffer>> {
  const members = new Map<string, Buffer>();
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => members.set(entry.path, Buffer.concat(chunks)));
    },
  });
  await new Promise<void>((resolveRead, reject) => {
    parser.on('error', reject);
    parser.on('end', () => resolveRead());
    Readable.from([bytes]).pipe(createGunzip()).on('error', reject).pipe(parser);
  });
  return members;
}

export async function readManifest(bytes: Buffer): Promise<BundleManifest> {
  const manifest = (await readBundle(bytes)).get('manifest.json');
  if (!manifest) throw new Error('the bundle has no manifest.json');
  return JSON.parse(manifest.toString('utf8')) as BundleManifest;
}

export function manifestItem(manifest: BundleManifest, id: string): ManifestItem {
  const item = manifest.items.find((candidate) => candidate.id === id);
  if (!item) throw new Error(`no manifest record for ${id}`);
  return item;
}

/** The analyzer's JSON report of one bundle file, from the built CLI as users run it. */
export async function analyze(bundle: string): Promise<Report> {
  const child = spawn(process.execPath, [CLI, 'analyze', bundle, '--json', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const code = await new Promise<number | null>((resolveExit) => child.once('close', resolveExit));
  const text = Buffer.concat(stdout).toString('utf8');
  if (code !== 0 && code !== 3) throw new Error(`analyze ${bundle} exited ${code}:\n${stderr}`);
  return JSON.parse(text) as Report;
}
