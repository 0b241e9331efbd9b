/**
 * The single executables for tests: `ensureAgentBinaries()` runs `scripts/build-agent.mjs` once when the binaries in
 * dist/ are missing or older than anything they were built from, and otherwise reuses them. Test files running in
 * parallel (and other suites that need the real binaries, such as dispatch) share one build through a lock directory.
 */
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..');
const SEA_WORK = join(PROJECT_ROOT, '.cache', 'sea');
const LOCK = join(SEA_WORK, 'build.lock');
/** Longer than any build; a lock this old was left by a run that died. */
const STALE_LOCK_MS = 15 * 60_000;

export const AGENT_BINARIES = {
  x64: join(PROJECT_ROOT, 'dist', 'eks-node-diag-agent-linux-x64'),
  arm64: join(PROJECT_ROOT, 'dist', 'eks-node-diag-agent-linux-arm64'),
} as const;

/** What `scripts/build-agent.mjs` found about start-up: modules evaluated before argument parsing, and after. */
export interface StartupPath {
  eager: { modules: number; bytes: number; packages: Record<string, number> };
  lazy: { modules: number; bytes: number; packages: Record<string, number> };
  heavyAtStartup: string[];
}

export async function readStartupPath(): Promise<StartupPath> {
  return JSON.parse(await readFile(join(SEA_WORK, 'startup-path.json'), 'utf8')) as StartupPath;
}

/** Why the binaries need building, or undefined when they are newer than every input of the last build. */
export async function whyRebuild(): Promise<string | undefined> {
  const outputs = Object.values(AGENT_BINARIES).flatMap((binary) => [binary, `${binary}.sha256`]);
  const missing = outputs.find((output) => !existsSync(output));
  if (missing) return `${missing} is missing`;
  const builtAt = Math.min(...outputs.map((output) => statSync(output).mtimeMs));
  let metafile: { inputs: Record<string, unknown> };
  try {
    metafile = JSON.parse(await readFile(join(SEA_WORK, 'metafile.json'), 'utf8'));
  } catch {
    return 'no record of what the last build read (.cache/sea/metafile.json)';
  }
  // Plugin inputs are keyed `<namespace>:<absolute path>` (the `?raw` templates).
  const sources = Object.keys(metafile.inputs).map((input) => input.replace(/^[a-z-]+:(?=\/)/, ''));
  sources.push('scripts/build-agent.mjs', 'scripts/esbuild-options.mjs', 'package-lock.json');
  for (const source of sources) {
    const path = resolve(PROJECT_ROOT, source);
    const changed = await stat(path).then(
      (info) => info.mtimeMs > builtAt,
      () => true,
    );
    if (changed) return `${source} changed since the last build`;
  }
  return undefined;
}

/** Whether the process that took the lock is gone (then the lock is left over from a run that died). */
async function lockAbandoned(): Promise<boolean> {
  const info = await stat(LOCK).catch(() => undefined);
  if (!info) return false;
  if (Date.now() - info.mtimeMs > STALE_LOCK_MS) return true;
  const owner = Number(await readFile(join(LOCK, 'pid'), 'utf8').catch(() => ''));
  if (!Number.isInteger(owner) || owner <= 0) return false; // being created this very moment
  try {
    process.kill(owner, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function acquireLock(): Promise<void> {
  await mkdir(SEA_WORK, { recursive: true });
  for (;;) {
    try {
      await mkdir(LOCK);
      await writeFile(join(LOCK, 'pid'), String(process.pid));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await lockAbandoned()) await rm(LOCK, { recursive: true, force: true });
    else await sleep(500);
  }
}

/** Builds the binaries when stale (see `whyRebuild`) and returns their paths. */
export async function ensureAgentBinaries(): Promise<typeof AGENT_BINARIES> {
  if ((await whyRebuild()) === undefined) return AGENT_BINARIES;
  await acquireLock();
  try {
    // Another test file may have built them while this one waited.
    const reason = await whyRebuild();
    if (reason !== undefined) {
      console.warn(`building the single executables (${reason}) ...`);
      const started = Date.now();
      try {
        await run(process.execPath, [join(PROJECT_ROOT, 'scripts', 'build-agent.mjs'), '--no-measure'], {
          cwd: PROJECT_ROOT,
          encoding: 'utf8',
          maxBuffer: 16 * 1024 * 1024,
        });
      } catch (error) {
        const failure = error as Error & { stdout?: string; stderr?: string };
        throw new Error(`scripts/build-agent.mjs failed:\n${failure.stdout ?? ''}${failure.stderr ?? failure.message}`);
      }
      console.warn(`built the single executables in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
  return AGENT_BINARIES;
}

export interface RunResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to the end and reports how it ended, whatever its exit code. */
export async function runProgram(
  program: string,
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  try {
    const { stdout, stderr } = await run(program, [...args], {
      cwd: options.cwd,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      timeout: options.timeoutMs ?? 120_000,
    });
    return { exitCode: 0, stdout, stderr };
  } catch (error) {
    const failure = error as Error & { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failure.code !== 'number') throw error;
    return { exitCode: failure.code, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
  }
}
