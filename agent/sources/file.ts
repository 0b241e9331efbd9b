/**
 * Files of the node, read under the node root (`--root`: a dead node's disk or a test world). Paths are resolved the
 * way a chroot would: an absolute symlink target starts again at the root and `..` stops at the root, so nothing
 * outside the root is ever read; a requested path that climbs out of the root with `..` is refused outright.
 *
 * Reads are streamed and lazy (the file is opened when its stream is first read). A log read with `tail` and larger
 * than its budget is read only from the first line start within its last `maxBytes`; a file read from the head stops
 * at `maxBytes`. Either way `unreadBytes` tells the spool how much was left, so the manifest total stays true.
 * Anything that is not a regular file (a FIFO, a device, a socket, a directory) is refused before it is opened, so a
 * FIFO can never block the agent.
 */
import { constants, type Stats } from 'node:fs';
import { type FileHandle, glob, lstat, open, readlink, realpath, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import type { PartialSourceRun } from './spool.ts';
import type { SourceContext, SourceOutcome } from './types.ts';

const CHUNK_BYTES = 64 * 1024;
const LINE_SEARCH_BYTES = 64 * 1024;
const MAX_SYMLINK_HOPS = 40;
const NEWLINE = 0x0a;

export type Resolved = { path: string; stats: Stats } | { outcome: SourceOutcome };

/**
 * Where `nodePath` lives on this machine when the node's `/` is `root`, with the stats of what it names (symlinks
 * followed, chroot style). Never throws: a missing file or a refused path comes back as the outcome to record.
 */
export async function resolveUnderRoot(root: string, nodePath: string): Promise<Resolved> {
  const parts = nodePath.split('/').filter((part) => part !== '' && part !== '.');
  let depth = 0;
  for (const part of parts) {
    depth = part === '..' ? depth - 1 : depth + 1;
    if (depth < 0) return { outcome: { status: 'error', reason: `refused: ${nodePath} climbs out of the node root` } };
  }
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch (error) {
    return { outcome: outcomeOf(error) };
  }
  if (realRoot === '/') {
    try {
      // The real path, so the file can be opened without following a symlink that is swapped in meanwhile.
      const path = await realpath(posix.resolve('/', ...parts));
      return { path, stats: await stat(path) };
    } catch (error) {
      return { outcome: outcomeOf(error) };
    }
  }
  return walkUnderRoot(realRoot, parts);
}

async function walkUnderRoot(realRoot: string, parts: string[]): Promise<Resolved> {
  const resolved: string[] = [];
  const pending = [...parts];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = join(realRoot, ...resolved, part);
    let stats: Stats;
    try {
      stats = await lstat(candidate);
    } catch (error) {
      return { outcome: outcomeOf(error) };
    }
    if (!stats.isSymbolicLink()) {
      if (pending.length > 0 && !stats.isDirectory()) return { outcome: { status: 'skipped', reason: 'not present' } };
      resolved.push(part);
      if (pending.length === 0) return { path: candidate, stats };
      continue;
    }
    if (++hops > MAX_SYMLINK_HOPS) return { outcome: { status: 'error', reason: 'too many levels of symbolic links' } };
    let target: string;
    try {
      target = await readlink(candidate);
    } catch (error) {
      return { outcome: outcomeOf(error) };
    }
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...target.split('/'));
  }
  const path = join(realRoot, ...resolved);
  try {
    return { path, stats: await lstat(path) };
  } catch (error) {
    return { outcome: outcomeOf(error) };
  }
}

export function readNodeFile(nodePath: string, ctx: SourceContext): PartialSourceRun {
  const file = new NodeFileStream(nodePath, ctx);
  return { stream: file, done: file.done, unreadBytes: file.unreadBytes };
}

class NodeFileStream extends Readable {
  readonly done: Promise<SourceOutcome>;
  readonly unreadBytes: Promise<number | null>;
  #settle!: (outcome: SourceOutcome) => void;
  #settleUnread!: (bytes: number | null) => void;
  #handle: FileHandle | undefined;
  #position = 0;
  /** Exclusive end of the range to read; undefined reads to end of file (procfs files report size 0). */
  #end: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  #outcome: SourceOutcome | undefined;
  #stopOnAbort = () => this.#stop({ status: 'timeout', reason: `stopped: ${abortText(this.ctx.signal.reason)}` });

  readonly nodePath: string;
  readonly ctx: SourceContext;

  constructor(nodePath: string, ctx: SourceContext) {
    super({ highWaterMark: CHUNK_BYTES });
    this.nodePath = nodePath;
    this.ctx = ctx;
    this.done = new Promise((resolve) => {
      this.#settle = resolve;
    });
    this.unreadBytes = new Promise((resolve) => {
      this.#settleUnread = resolve;
    });
  }

  override _read(): void {
    if (!this.#started) {
      this.#started = true;
      void this.#open().then(
        async (ready) => {
          if (ready) await this.#readChunk();
        },
        (error: unknown) => this.#fail(error),
      );
      return;
    }
    void this.#readChunk();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#finish(this.#outcome ?? { status: 'ok', reason: 'output no longer read; file read stopped' });
    callback(error);
  }

  async #open(): Promise<boolean> {
    if (this.ctx.signal.aborted)
      return this.#endWith({ status: 'skipped', reason: `not started: ${abortText(this.ctx.signal.reason)}` });
    this.ctx.signal.addEventListener('abort', this.#stopOnAbort, { once: true });
    if (hasTimeLimit(this.ctx.timeoutMs)) {
      this.#timer = setTimeout(
        () => this.#stop({ status: 'timeout', reason: `timed out after ${formatDuration(this.ctx.timeoutMs)}` }),
        this.ctx.timeoutMs,
      );
    }
    const resolved = await resolveUnderRoot(this.ctx.root, this.nodePath);
    if (this.#outcome) return false;
    if ('outcome' in resolved) return this.#endWith(resolved.outcome);
    const refusal = refuseNonRegular(resolved.stats);
    if (refusal) return this.#endWith(refusal);
    // O_NONBLOCK: should the path be swapped for a FIFO after the check, opening it still cannot hang.
    const flags = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;
    try {
      const handle = await open(resolved.path, flags);
      if (this.#outcome) {
        // Stopped (reader gone, deadline) while the file was being opened.
        await handle.close();
        return false;
      }
      this.#handle = handle;
      const opened = await handle.stat();
      const late = refuseNonRegular(opened);
      if (late) return this.#endWith(late);
      await this.#chooseRange(opened.size);
    } catch (error) {
      return this.#endWith(outcomeOf(error));
    }
    return !this.destroyed;
  }

  /** Reading a file that is still growing stops at the size it had when opened, so a busy log cannot keep us here. */
  async #chooseRange(size: number): Promise<void> {
    const budget = Math.max(0, Math.floor(this.ctx.maxBytes));
    if (size === 0) {
      this.#settleUnread(0);
      return;
    }
    if (size <= budget) {
      this.#end = size;
      this.#settleUnread(0);
      return;
    }
    if (!this.ctx.tail) {
      this.#end = budget;
      this.#settleUnread(size - budget);
      return;
    }
    this.#end = size;
    this.#position = await this.#lineStartAfter(size - budget, size);
    this.#settleUnread(this.#position);
  }

  /** The first line start at or after `offset`, or `offset` itself when no line break is near. */
  async #lineStartAfter(offset: number, size: number): Promise<number> {
    const handle = this.#handle as FileHandle;
    const probe = Buffer.alloc(Math.min(LINE_SEARCH_BYTES + 1, size - offset + 1));
    const { bytesRead } = await handle.read(probe, 0, probe.length, offset - 1);
    if (probe[0] === NEWLINE) return offset;
    const newline = probe.subarray(1, bytesRead).indexOf(NEWLINE);
    return newline === -1 || offset + newline + 1 >= size ? offset : offset + newline + 1;
  }

  async #readChunk(): Promise<void> {
    const handle = this.#handle;
    if (!handle || this.destroyed || this.#outcome) return;
    const left = this.#end === undefined ? CHUNK_BYTES : Math.min(CHUNK_BYTES, this.#end - this.#position);
    if (left <= 0) return void this.#endWith({ status: 'ok' });
    try {
      const buffer = Buffer.allocUnsafe(left);
      const { bytesRead } = await handle.read(buffer, 0, left, this.#position);
      if (this.destroyed || this.#outcome) return;
      if (bytesRead === 0) return void this.#endWith({ status: 'ok' });
      this.#position += bytesRead;
      this.push(buffer.subarray(0, bytesRead));
    } catch (error) {
      this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    const outcome = outcomeOf(error);
    this.#endWith(outcome.status === 'error' ? { ...outcome, reason: `read failed: ${outcome.reason}` } : outcome);
  }

  /** Ends the stream (what was read so far stays) and records why. */
  #endWith(outcome: SourceOutcome): false {
    if (this.#outcome) return false;
    this.#outcome = outcome;
    this.push(null);
    this.#finish(outcome);
    return false;
  }

  #stop(outcome: SourceOutcome): void {
    this.#endWith(outcome);
  }

  #finish(outcome: SourceOutcome): void {
    this.#outcome ??= outcome;
    clearTimeout(this.#timer);
    this.ctx.signal.removeEventListener('abort', this.#stopOnAbort);
    this.#settleUnread(0);
    void this.#handle?.close().catch(() => undefined);
    this.#handle = undefined;
    this.#settle(this.#outcome);
  }
}

function refuseNonRegular(stats: Stats): SourceOutcome | undefined {
  if (stats.isFile()) return undefined;
  if (stats.isDirectory()) return { status: 'error', reason: 'is a directory' };
  const kind = stats.isFIFO()
    ? 'a FIFO'
    : stats.isSocket()
      ? 'a socket'
      : stats.isCharacterDevice()
        ? 'a character device'
        : stats.isBlockDevice()
          ? 'a block device'
          : 'not a regular file';
  return { status: 'error', reason: `not a regular file: ${kind}` };
}

function outcomeOf(error: unknown): SourceOutcome {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return { status: 'skipped', reason: 'not present' };
    case 'EACCES':
    case 'EPERM':
      return { status: 'error', reason: 'permission denied' };
    case 'EISDIR':
      return { status: 'error', reason: 'is a directory' };
    case 'ELOOP':
      return { status: 'error', reason: 'too many levels of symbolic links' };
    default:
      return { status: 'error', reason: code ?? (error instanceof Error ? error.message : String(error)) };
  }
}

/** Timers cannot wait longer than 2^31-1 ms (they fire at once instead), so longer limits mean none. */
function hasTimeLimit(ms: number): boolean {
  return ms > 0 && ms <= 2 ** 31 - 1;
}

function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function abortText(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return reason === undefined ? 'aborted' : String(reason);
}

export interface GlobFile {
  /** The node path (as on the node, not under `--root`). */
  path: string;
  run: PartialSourceRun;
}

const GLOB_MAGIC = /[*?[\]{}()!+@]/;

/**
 * The files matching `pattern` under the node root, sorted by path, each with its own run. `ctx.maxBytes` is the
 * budget for all of them together: when they do not fit, the newest files are kept first (as sos does), the file
 * that crosses the budget is cut to what is left, and older ones are recorded as skipped. Directories are left out.
 */
export async function readNodeGlob(pattern: string, ctx: SourceContext): Promise<GlobFile[]> {
  const parts = pattern.split('/').filter((part) => part !== '');
  const magicAt = parts.findIndex((part) => GLOB_MAGIC.test(part));
  if (magicAt === -1) return [{ path: pattern, run: readNodeFile(pattern, ctx) }];
  const baseNodePath = `/${parts.slice(0, magicAt).join('/')}`;
  const base = await resolveUnderRoot(ctx.root, baseNodePath);
  if ('outcome' in base || !base.stats.isDirectory()) return [];

  const candidates: { path: string; resolved: Resolved }[] = [];
  try {
    for await (const match of glob(parts.slice(magicAt).join('/'), { cwd: base.path })) {
      const path = posix.join(baseNodePath, match);
      candidates.push({ path, resolved: await resolveUnderRoot(ctx.root, path) });
    }
  } catch {
    // An unreadable directory under the base: what matched so far is still worth collecting.
  }

  const files = candidates.filter(({ resolved }) => !('stats' in resolved) || !resolved.stats.isDirectory());
  const budgets = shareBudget(files, ctx.maxBytes);
  return files
    .map(({ path }) => {
      const budget = budgets.get(path);
      const run =
        budget === 0 ? overBudgetRun(ctx.maxBytes) : readNodeFile(path, { ...ctx, maxBytes: budget ?? ctx.maxBytes });
      return { path, run };
    })
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Newest first, each file may use what the newer ones left of the budget; 0 means nothing is left for it. */
function shareBudget(files: { path: string; resolved: Resolved }[], maxBytes: number): Map<string, number> {
  const sized = files.flatMap(({ path, resolved }) =>
    'stats' in resolved ? [{ path, size: resolved.stats.size, mtimeMs: resolved.stats.mtimeMs }] : [],
  );
  sized.sort((a, b) => b.mtimeMs - a.mtimeMs || (a.path < b.path ? -1 : 1));
  const budgets = new Map<string, number>();
  let left = maxBytes;
  for (const file of sized) {
    budgets.set(file.path, Math.max(0, left));
    left -= file.size;
  }
  return budgets;
}

function overBudgetRun(maxBytes: number): PartialSourceRun {
  return {
    stream: Readable.from([]),
    done: Promise.resolve({ status: 'skipped', reason: `over budget: newer files used all ${maxBytes} bytes` }),
    unreadBytes: Promise.resolve(0),
  };
}
