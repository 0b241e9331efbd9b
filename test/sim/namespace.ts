/**
 * Network namespaces for simulated nodes, and running programs inside them. Every namespace has only its own
 * loopback, so nothing started in it can reach (or be reached from) anything but itself.
 *
 * Programs run through `ip netns exec`, which enters the namespace and then execs the program, so the child's pid
 * is the program's. Each child leads its own process group, which a timeout kills whole.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';

export interface ExecOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, which is then closed. Without it stdin is empty. */
  input?: string | Buffer;
  /** Kill the whole process group after this long (default 120 s); the result says `timedOut`. */
  timeoutMs?: number;
}

export interface ExecResult {
  argv: string[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout as bytes, for binary output such as `collect --out -`. */
  stdoutBytes: Buffer;
  timedOut: boolean;
}

const DEFAULT_TIMEOUT_MS = 120_000;

/** `node` means this very Node binary, so a child never falls back to an older system Node on PATH. */
function resolveProgram(argv: readonly string[]): string[] {
  const [program, ...rest] = argv;
  if (!program) throw new Error('exec needs a program to run');
  return [program === 'node' ? process.execPath : program, ...rest];
}

/** Runs a command on the host, capturing output; rejects only when it cannot be started. */
export function run(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return collectOutput(spawnDetached(resolveProgram(argv), options), argv, options);
}

export function spawnDetached(argv: readonly string[], options: ExecOptions = {}): ChildProcess {
  const [program, ...args] = argv as [string, ...string[]];
  return spawn(program, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Signals a child's whole process group, ignoring a group that is already gone. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Feeds `input`, gathers stdout and stderr, and kills the child's group at the timeout. */
export function collectOutput(child: ChildProcess, argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${argv.join(' ')}: ${error.message}`));
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(stdout);
      resolve({
        argv: [...argv],
        exitCode,
        signal,
        stdout: stdoutBytes.toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        stdoutBytes,
        timedOut,
      });
    });
  });
}

/** Runs a command and insists on exit code 0, with its stderr in the error. */
export async function runChecked(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const result = await run(argv, options);
  if (result.exitCode !== 0) {
    const why = result.timedOut ? 'timed out' : `exited with ${result.exitCode ?? result.signal}`;
    throw new Error(`${argv.join(' ')} ${why}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
  return result;
}

export function namespaceArgv(namespace: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', namespace, ...resolveProgram(argv)];
}

export function spawnInNamespace(namespace: string, argv: readonly string[], options: ExecOptions = {}): ChildProcess {
  return spawnDetached(namespaceArgv(namespace, argv), options);
}

export function runInNamespace(
  namespace: string,
  argv: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  return collectOutput(spawnInNamespace(namespace, argv, options), argv, options);
}

export async function createNamespace(namespace: string): Promise<void> {
  await runChecked(['ip', 'netns', 'add', namespace]);
  await runChecked(['ip', '-n', namespace, 'link', 'set', 'lo', 'up']);
}

export function namespaceExists(namespace: string): boolean {
  const listed = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return listed.stdout.split('\n').some((line) => line.split(' ')[0] === namespace);
}

/**
 * Kills what still runs inside the namespace (only programs this harness started there), then deletes it.
 * Synchronous so that it also works from a process 'exit' handler.
 */
export function destroyNamespaceSync(namespace: string): void {
  if (!namespaceExists(namespace)) return;
  const pids = spawnSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8' });
  for (const pid of pids.stdout
    .split('\n')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  const deleted = spawnSync('ip', ['netns', 'del', namespace], { encoding: 'utf8' });
  if (deleted.status !== 0 && namespaceExists(namespace)) {
    throw new Error(`ip netns del ${namespace} failed: ${deleted.stderr.trim()}`);
  }
}
