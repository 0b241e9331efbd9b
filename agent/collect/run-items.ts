/**
 * Runs the inventory: items in priority order, at most two at a time, each within its own time and size budget and
 * the whole-run deadline, each piped source → redaction → spool → bundle, each ending in an honest manifest record.
 * Nothing an item does on a sick node (a hang, a missing tool, an unreadable file) stops the others.
 */
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { type ItemStatus, itemIdForPath, type ManifestItem } from '../../contract/bundle.ts';
import type { BundleWriter } from '../bundle/writer.ts';
import type { CollectItem, ItemSource } from '../items/types.ts';
import { redactText } from '../redact/engine.ts';
import { createRedactor } from '../redact/stream.ts';
import { type PartialSourceRun, spool } from '../sources/spool.ts';
import type { SourceContext, SourceOutcome, SourceRun } from '../sources/types.ts';

/** Starts an item's source(s); glob items give one run per file, each with the bundle path it goes to. */
export type SourceStarter = (
  item: CollectItem,
  ctx: SourceContext,
) => Promise<{ out: string; source: string; run: SourceRun }[]>;

export interface RunItemsOptions {
  items: readonly CollectItem[];
  /** Items not to run, with the reason recorded for them (`--skip`, `not in --only`, `--offline`). */
  excluded: Map<string, string>;
  writer: BundleWriter;
  start: SourceStarter;
  root: string;
  tempDir: string;
  /** Aborted by the whole-run deadline or a stop signal. */
  signal: AbortSignal;
  maxTotalBytes: number;
  redact: boolean;
  concurrency?: number;
  /** Replaces every item's own time limit (hidden `--item-timeout`). */
  itemTimeoutMs?: number;
  env: Record<string, string>;
  progress(line: string): void;
  /** Small outputs (<= 64 KiB) by item id, for node identity. */
  smallOutputs: Map<string, string>;
}

const SMALL_OUTPUT = 64 * 1024;

export function describeSource(source: ItemSource): string {
  switch (source.kind) {
    case 'command':
      return source.argv.join(' ');
    case 'file':
      return source.path;
    case 'glob':
      return source.pattern;
    case 'journal':
      return `journalctl${source.unit ? ` --unit ${source.unit}` : ''}`;
    case 'http':
      return source.url;
    case 'imds':
      return `imds:${source.path}`;
    case 'derived':
      return `derived:${source.name}`;
  }
}

function whyStopped(signal: AbortSignal): string {
  if (signal.reason === 'signal') return 'the agent was stopped';
  if (signal.reason === 'output') return 'the bundle could not be written';
  return 'the whole-run deadline (--deadline) was reached';
}

export async function runItems(options: RunItemsOptions): Promise<ManifestItem[]> {
  const records: ManifestItem[] = [];
  let totalBytes = 0;
  const queue = [...options.items].sort((a, b) => a.priority - b.priority || a.id.localeCompare(b.id));

  const runOne = async (item: CollectItem): Promise<void> => {
    const base = { id: item.id, path: item.out, source: describeSource(item.source) };
    const excluded = options.excluded.get(item.id);
    if (excluded) {
      records.push({ ...base, status: 'skipped', reason: excluded });
      return;
    }
    if (options.signal.aborted) {
      records.push({ ...base, status: 'skipped', reason: `${whyStopped(options.signal)} before it started` });
      return;
    }
    const remaining = options.maxTotalBytes - totalBytes;
    if (remaining <= 0) {
      records.push({ ...base, status: 'skipped', reason: 'the total budget (--max-bytes) was used up' });
      return;
    }
    const started = performance.now();
    const ctx: SourceContext = {
      root: options.root,
      signal: options.signal,
      timeoutMs: options.itemTimeoutMs ?? item.timeoutMs,
      maxBytes: Math.min(item.maxBytes, remaining),
      tail: item.tail === true,
      env: options.env,
    };
    let runs: Awaited<ReturnType<SourceStarter>>;
    try {
      runs = await options.start(item, ctx);
    } catch (error) {
      records.push({
        ...base,
        status: 'error',
        reason: `could not start: ${(error as Error).message}`,
        durationMs: ms(started),
      });
      return;
    }
    if (runs.length === 0) {
      records.push({ ...base, status: 'skipped', reason: `no files match ${base.source}`, durationMs: ms(started) });
      return;
    }
    // A folder item's files are collected one after another: each records its own time, not the folder's so far.
    let runStarted = started;
    for (const { out, source, run } of runs) {
      const record = await collectRun(item, out, source, run, ctx, options);
      record.durationMs = ms(runStarted);
      runStarted = performance.now();
      totalBytes += record.bytes ?? 0;
      records.push(record);
      options.progress(`${record.status.padEnd(9)} ${record.path}${record.reason ? ` (${record.reason})` : ''}`);
    }
  };

  const workers = Array.from({ length: Math.max(1, options.concurrency ?? 2) }, async () => {
    for (let item = queue.shift(); item; item = queue.shift()) await runOne(item);
  });
  await Promise.all(workers);
  return records.sort((a, b) => a.id.localeCompare(b.id) || a.path.localeCompare(b.path));
}

async function collectRun(
  item: CollectItem,
  out: string,
  source: string,
  run: SourceRun,
  ctx: SourceContext,
  options: RunItemsOptions,
): Promise<ManifestItem> {
  const redactor = options.redact ? createRedactor(item.redact ? [...item.redact] : undefined) : undefined;
  const stream: Readable = redactor ? run.stream.pipe(redactor.transform) : run.stream;
  run.stream.on('error', (error) => stream.destroy(error));
  const [spooling, outcome] = await Promise.all([
    spool(stream, {
      maxBytes: ctx.maxBytes,
      tail: ctx.tail,
      tempDir: options.tempDir,
      ...('unreadBytes' in run ? { unreadBytes: (run as PartialSourceRun).unreadBytes } : {}),
    }).catch((error: Error) => {
      // The spool's own write failed (ENOSPC in the temp dir): stop the source, which then settles `done`.
      run.stream.destroy();
      return error;
    }),
    run.done,
  ]);
  // A folder item's files are recorded under their own contract ids (ipamd.log is `ipamd-log`), else `<item>:<name>`.
  const id = out === item.out ? item.id : (itemIdForPath(out) ?? `${item.id}:${out.slice(item.out.length + 1)}`);
  const record: ManifestItem = { id, path: out, source, status: outcome.status };
  // A command's stderr tail can quote its environment or arguments: it is redacted like the output.
  if (outcome.reason) record.reason = options.redact ? redactText(outcome.reason).text : outcome.reason;
  if (outcome.exitCode !== undefined) record.exitCode = outcome.exitCode;
  if (redactor) record.redactions = redactor.count();
  if (spooling instanceof Error) {
    return { ...record, status: 'error', reason: `could not be spooled: ${spooling.message}`, bytes: 0 };
  }
  const spooled = spooling;
  try {
    if (outcome.status === 'skipped' || (spooled.bytes === 0 && outcome.status !== 'ok')) {
      record.bytes = 0;
      return record;
    }
    if (spooled.truncated && outcome.status === 'ok') {
      record.status = 'truncated';
      record.reason = `kept the ${ctx.tail ? 'last' : 'first'} ${spooled.bytes} of ${spooled.seenBytes} bytes (item budget)`;
    }
    const hash = createHash('sha256');
    await options.writer.append({
      path: out,
      size: spooled.bytes,
      mtime: new Date(),
      open: () => {
        const tap = new PassThrough();
        tap.on('data', (chunk: Buffer) => hash.update(chunk));
        return spooled.open().pipe(tap);
      },
    });
    record.bytes = spooled.bytes;
    record.sha256 = hash.digest('hex');
    if (spooled.bytes <= SMALL_OUTPUT && !options.smallOutputs.has(item.id)) {
      const chunks: Buffer[] = [];
      for await (const chunk of spooled.open() as AsyncIterable<Buffer>) chunks.push(chunk);
      options.smallOutputs.set(item.id, Buffer.concat(chunks).toString('utf8'));
    }
  } catch (error) {
    record.status = 'error';
    record.reason = `could not be written to the bundle: ${(error as Error).message}`;
  } finally {
    await spooled.dispose();
  }
  return record;
}

function ms(started: number): number {
  return Math.round(performance.now() - started);
}

export type { ItemStatus, SourceOutcome };
