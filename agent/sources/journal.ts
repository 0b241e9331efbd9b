/**
 * A systemd unit's journal, read with journalctl in the `short-iso-precise` format the analyzer's journal parser
 * reads. On the live node (`--root /`) journalctl finds the journals itself; under another root it is pointed at
 * that root's journal directories, resolved chroot style like every other node path. journalctl takes one
 * `--directory` (a second replaces the first), so when both the persistent (`/var/log/journal`) and the volatile
 * (`/run/log/journal`) journal exist under the root, `--root` is used, which reads both.
 */
import { stat } from 'node:fs/promises';
import { PassThrough, pipeline } from 'node:stream';
import { runCommand } from './command.ts';
import { resolveUnderRoot } from './file.ts';
import type { SourceContext, SourceOutcome, SourceRun } from './types.ts';

const JOURNAL_DIRS = ['/var/log/journal', '/run/log/journal'] as const;

/** `since`: a Date, a journalctl time (`-24h`, `2026-11-25 00:00:00`), or a duration as the CLI spells it (`24h`). */
export function readJournal(unit: string, since: Date | string | undefined, ctx: SourceContext): SourceRun {
  const stream = new PassThrough();
  const done = start(unit, since, ctx, stream).catch((error: unknown): SourceOutcome => {
    stream.end();
    return { status: 'error', reason: `agent error: ${String(error)}` };
  });
  return { stream, done };
}

async function start(unit: string, since: Date | string | undefined, ctx: SourceContext, stream: PassThrough) {
  const location = await journalLocation(ctx.root);
  if (location === undefined) {
    stream.end();
    return { status: 'skipped', reason: 'no journal' } satisfies SourceOutcome;
  }
  // An empty unit reads the whole journal (what /var/log/messages held on AL2).
  const argv = ['journalctl', '--no-pager', '--output', 'short-iso-precise', ...(unit ? ['--unit', unit] : [])];
  if (since !== undefined) argv.push('--since', journalSince(since));
  argv.push(...location);
  const run = runCommand(argv, ctx);
  // The pipeline ends our stream once the command's output is through; if the reader stops, it destroys the
  // command's stream, which stops the command.
  pipeline(run.stream, stream, () => undefined);
  return run.done;
}

/** journalctl arguments that select the root's journals, or undefined when the root has none. */
async function journalLocation(root: string): Promise<string[] | undefined> {
  const present: string[] = [];
  for (const dir of JOURNAL_DIRS) {
    const resolved = await resolveUnderRoot(root, dir);
    if ('path' in resolved && resolved.stats.isDirectory()) present.push(resolved.path);
  }
  if (present.length === 0) return undefined;
  if (await isFilesystemRoot(root)) return [];
  return present.length === 1 ? ['--directory', present[0] as string] : ['--root', root];
}

async function isFilesystemRoot(root: string): Promise<boolean> {
  const [given, real] = await Promise.all([stat(root), stat('/')]);
  return given.dev === real.dev && given.ino === real.ino;
}

/**
 * `24h` (the CLI's spelling) means 24 hours ago to journalctl only as `-24h`; a Date becomes `@<epoch seconds>`,
 * which journalctl reads without any time zone doubt; other forms pass through.
 */
export function journalSince(since: Date | string): string {
  if (since instanceof Date) return `@${Math.floor(since.getTime() / 1000)}`;
  return /^\d+\s*[a-z]+$/i.test(since.trim()) ? `-${since.trim()}` : since;
}
