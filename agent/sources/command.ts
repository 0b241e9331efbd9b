/**
 * A command's stdout as an item. The node may be in trouble, so a command gets its own process group and a time
 * limit; past it (or when the run is stopped) the whole group gets SIGTERM, then SIGKILL a second later, and once the
 * command has finished any process it left behind in its group is killed too. Nothing is left running on the node.
 *
 * If the agent itself is killed outright (SIGKILL, the OOM killer), none of its timers fire: so a command with a time
 * limit runs under coreutils `timeout`, which kills the command's group a little after the limit by itself. Without
 * it, a hung `iptables --wait` could hold the xtables lock, and block kube-proxy and aws-node, long after the agent died.
 *
 * The binary is looked up on the item's PATH before anything is spawned, so a missing tool is recorded exactly as
 * `not installed` rather than inferred from a spawn error. Output is streamed as produced (never buffered whole);
 * stderr is only kept, its last 4 KiB, to explain a failure.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { execa, type Result } from 'execa';
import type { SourceContext, SourceOutcome, SourceRun } from './types.ts';

/** SIGTERM first, so tools can exit cleanly; SIGKILL after this grace. */
export const TERM_GRACE_MS = 1000;
const STDERR_KEEP_BYTES = 4 * 1024;
const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface CommandOptions {
  /** Exit codes that still mean success (e.g. `ipset list` with no sets, `grep` with no match). */
  okExitCodes?: readonly number[];
}

/** Process groups still running, killed outright if the agent exits before they end (no timer survives an exit). */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

export function runCommand(argv: readonly string[], ctx: SourceContext, options: CommandOptions = {}): SourceRun {
  const stream = new PassThrough();
  const done = execute(argv, ctx, options, stream).catch(
    (error: unknown): SourceOutcome => ({ status: 'error', reason: `agent error: ${reasonText(error)}` }),
  );
  done.finally(() => {
    if (!stream.writableEnded) stream.end();
  });
  return { stream, done };
}

async function execute(
  argv: readonly string[],
  ctx: SourceContext,
  options: CommandOptions,
  stream: PassThrough,
): Promise<SourceOutcome> {
  const [name, ...args] = argv;
  if (name === undefined || name === '') return { status: 'error', reason: 'empty command' };
  if (ctx.signal.aborted) return { status: 'skipped', reason: `not started: ${reasonText(ctx.signal.reason)}` };
  const env = { ...ctx.env, PATH: ctx.env.PATH || FALLBACK_PATH, LANG: 'C', LC_ALL: 'C' };
  const file = await findExecutable(name, env.PATH);
  if (file === undefined) return { status: 'skipped', reason: 'not installed' };
  const [program, programArgs] = await withBackstop(file, args, ctx.timeoutMs);

  const subprocess = execa(program, programArgs, {
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    encoding: 'buffer',
    reject: false,
    extendEnv: false,
    env,
    cwd: '/',
    timeout: timerDelay(ctx.timeoutMs),
    cancelSignal: ctx.signal,
    killDescendants: true,
    forceKillAfterDelay: TERM_GRACE_MS,
  });
  const group = subprocess.pid;
  if (group !== undefined) trackGroup(group);

  const stderr = new TailBuffer(STDERR_KEEP_BYTES);
  subprocess.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  let readerStopped = false;
  stream.once('close', () => {
    if (stream.readableEnded) return;
    // Whoever reads the output has stopped: the command's work is no longer wanted.
    readerStopped = true;
    subprocess.stdout?.resume();
    subprocess.kill();
  });
  subprocess.stdout?.pipe(stream);

  const result = await subprocess;
  if (group !== undefined) killLeftovers(group);
  return classify(result, { ctx, options, stderr: stderr.text(), readerStopped });
}

interface Circumstances {
  ctx: SourceContext;
  options: CommandOptions;
  stderr: string;
  readerStopped: boolean;
}

function classify(result: Result, { ctx, options, stderr, readerStopped }: Circumstances): SourceOutcome {
  const exitCode = result.exitCode ?? null;
  if (result.timedOut) {
    return { status: 'timeout', reason: `timed out after ${formatDuration(ctx.timeoutMs)}`, exitCode };
  }
  if (result.isCanceled) return { status: 'timeout', reason: `stopped: ${reasonText(ctx.signal.reason)}`, exitCode };
  if (readerStopped) return { status: 'ok', reason: 'output no longer read; command stopped', exitCode };
  const spawnError = result.cause as NodeJS.ErrnoException | undefined;
  if (result.exitCode === undefined && result.signal === undefined && spawnError?.code) {
    if (spawnError.code === 'ENOENT') return { status: 'skipped', reason: 'not installed' };
    return { status: 'error', reason: `could not start: ${spawnError.code}`, exitCode: null };
  }
  if (result.signal !== undefined) {
    return { status: 'error', reason: withStderr(`killed by ${result.signal}`, stderr), exitCode: null };
  }
  if (exitCode === 0 || (exitCode !== null && options.okExitCodes?.includes(exitCode))) {
    return { status: 'ok', exitCode };
  }
  return { status: 'error', reason: withStderr(`exit code ${exitCode}`, stderr), exitCode };
}

/** Where the system keeps coreutils `timeout`: not the item's PATH, so no test PATH or odd PATH replaces it. */
let timeoutProgram: Promise<string | undefined> | undefined;

/** `timeout` kills the group this long after the agent's own limit and grace would have, had the agent lived. */
const BACKSTOP_MARGIN_MS = 1000;

async function withBackstop(
  file: string,
  args: readonly string[],
  limitMs: number,
): Promise<[string, readonly string[]]> {
  if (timerDelay(limitMs) === 0) return [file, args];
  timeoutProgram ??= findExecutable('timeout', FALLBACK_PATH);
  const timeout = await timeoutProgram;
  if (timeout === undefined) return [file, args];
  const seconds = (ms: number) => `${(ms / 1000).toFixed(3)}s`;
  const backstopMs = timerDelay(limitMs) + TERM_GRACE_MS + BACKSTOP_MARGIN_MS;
  return [timeout, ['--signal', 'KILL', seconds(backstopMs), file, ...args]];
}

/** The file a shell would run for `name` on `searchPath`, or undefined when there is none. */
export async function findExecutable(name: string, searchPath: string): Promise<string | undefined> {
  const candidates = name.includes('/')
    ? [resolve('/', name)]
    : searchPath
        .split(delimiter)
        .filter((dir) => isAbsolute(dir))
        .map((dir) => join(dir, name));
  for (const candidate of candidates) {
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function trackGroup(group: number): void {
  liveGroups.add(group);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
  });
}

/** A command can exit while a child it started (with stdout closed) keeps running: nothing may outlive the item. */
function killLeftovers(group: number): void {
  signalGroup(group, 'SIGKILL');
  liveGroups.delete(group);
}

function signalGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Keeps only the last `limit` bytes written to it. */
class TailBuffer {
  #chunks: Buffer[] = [];
  #bytes = 0;
  #cut = false;
  readonly limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    while (this.#chunks.length > 1 && this.#bytes - (this.#chunks[0] as Buffer).length >= this.limit) {
      this.#bytes -= (this.#chunks.shift() as Buffer).length;
      this.#cut = true;
    }
  }

  text(): string {
    let bytes = Buffer.concat(this.#chunks);
    if (bytes.length > this.limit) {
      bytes = bytes.subarray(bytes.length - this.limit);
      this.#cut = true;
    }
    let text = bytes.toString('utf8');
    // A cut tail starts mid-line (maybe mid-character): start at the next whole line when there is one.
    if (this.#cut && text.includes('\n')) text = text.slice(text.indexOf('\n') + 1);
    return text.trim();
  }
}

function withStderr(reason: string, stderr: string): string {
  return stderr === '' ? reason : `${reason}: ${stderr}`;
}

/** execa takes whole milliseconds up to 2^31-1 (a timer's limit); anything else means no time limit. */
function timerDelay(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? Math.min(Math.round(ms), 2 ** 31 - 1) : 0;
}

export function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return reason === undefined ? 'aborted' : String(reason);
}
