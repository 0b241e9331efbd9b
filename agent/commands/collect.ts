/**
 * `eks-node-diag collect`: gathers the inventory from this node (or a `--root` tree) into one streaming tar.gz with
 * a manifest, within a whole-run deadline, at the lowest CPU and IO priority, read-only towards the system.
 *
 * The manifest is written last, also when the deadline passes or the agent receives SIGTERM/SIGINT; if the agent is
 * killed outright, the entries already written still read as a bundle (see agent/bundle/writer.ts).
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, statfs } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { TOOL_NAME, TOOL_VERSION } from '../../analyzer/engine/version.ts';
import { BUNDLE_SCHEMA, type BundleManifest, MANIFEST_PATH } from '../../contract/bundle.ts';
import { BundleWriter } from '../bundle/writer.ts';
import { nodeIdentity } from '../collect/node-identity.ts';
import { type RawCollectOptions, validateCollectOptions } from '../collect/options.ts';
import { runItems } from '../collect/run-items.ts';
import { createSourceStarter, findIpamdEndpoints, type IpamdEndpoints } from '../collect/start-source.ts';
import { inventory } from '../items/index.ts';
import { ImdsClient, imdsEndpointFor } from '../sources/imds.ts';
import type { SourceContext } from '../sources/types.ts';
import { UploadError } from '../upload/retry.ts';
import { type UploadResult, uploadBundle } from '../upload/upload.ts';

export class DiskSpaceError extends Error {
  readonly code = 'ENDIAG_DISK_FULL';
}

/** The bundle's output failed for another reason than a full disk (EPIPE on `--out -`, EIO, EACCES). */
export class OutputError extends Error {
  readonly code = 'ENDIAG_OUTPUT';
}

export interface CollectIo {
  /** Progress lines (stderr). */
  progress(line: string): void;
  /** Where `--out -` writes the bundle. */
  stdout: Writable;
}

export interface CollectOutcome {
  manifest: BundleManifest;
  /** The bundle file, `-` for stdout, or where the upload put it (`s3://bucket/key`). */
  target: string;
  /** Set with --upload-url/--upload-form: the key, ETag and attempts of the upload. */
  upload?: UploadResult;
  compressedBytes: number;
  interrupted: boolean;
  /** Set when a SIGTERM/SIGINT stopped the run: the CLI exits with 128 + signal number. */
  signal?: NodeJS.Signals;
}

/** Kinds of item that read the live system rather than files under the root. */
const LIVE_KINDS = new Set(['command', 'http', 'imds', 'derived']);
/** Disk the agent leaves free for the node beyond the bundle itself. */
const DISK_RESERVE_BYTES = 256 * 1024 * 1024;
/** The bundle's expected size against its uncompressed budget; text compresses far better, so this is cautious. */
const COMPRESSION_ESTIMATE = 4;

function lowerPriority(progress: (line: string) => void): void {
  try {
    setPriority(19);
  } catch {
    progress('note: could not lower CPU priority (nice 19)');
  }
  // Idle IO class for this process; children inherit it. ionice may be missing: that is not a problem.
  const ionice = spawn('ionice', ['-c', '3', '-p', String(process.pid)], { stdio: 'ignore' });
  ionice.on('error', () => progress('note: ionice not available; IO priority unchanged'));
}

async function defaultBundlePath(root: string): Promise<string> {
  const instanceId = (await readFile(join(root, 'var/lib/cloud/data/instance-id'), 'utf8').catch(() => '')).trim();
  const stamp = new Date()
    .toISOString()
    .replace(/:\d\d\.\d+Z$/, '')
    .replace('T', '_')
    .replace(':', '');
  const id = /^i-[0-9a-f]+$/.test(instanceId) ? instanceId : 'unknown-instance';
  return `/var/log/eks_${id}_${stamp}-UTC_${TOOL_NAME}-${TOOL_VERSION}.tar.gz`;
}

async function checkFreeSpace(directory: string, maxBytes: number): Promise<void> {
  let fs: Awaited<ReturnType<typeof statfs>>;
  try {
    fs = await statfs(directory);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' || code === 'ENOTDIR' ? 'no such directory' : (error as Error).message;
    throw new OutputError(`cannot write the bundle in ${directory}: ${why}; nothing was written.`);
  }
  const free = fs.bavail * fs.bsize;
  const needed = DISK_RESERVE_BYTES + Math.ceil(maxBytes / COMPRESSION_ESTIMATE);
  if (free < needed) {
    throw new DiskSpaceError(
      `not enough free disk space in ${directory}: ${Math.floor(free / 2 ** 20)} MiB free, ${Math.ceil(needed / 2 ** 20)} MiB needed ` +
        `(the bundle within --max-bytes plus a ${DISK_RESERVE_BYTES / 2 ** 20} MiB reserve for the node); nothing was written. ` +
        'Free space, write elsewhere with --out, stream with --out - or --upload-url, or lower --max-bytes.',
    );
  }
}

async function outputFailure(error: NodeJS.ErrnoException, target: string, entries: number): Promise<Error> {
  const where = target === '-' ? 'stdout' : target;
  if (error.code === 'ENOSPC' || error.code === 'EDQUOT') {
    // A full disk hurts the node (kubelet evicts pods under DiskPressure) more than a lost bundle: give it back.
    if (target !== '-') await rm(target, { force: true });
    return new DiskSpaceError(
      `no space left on the device while writing ${where} (after ${entries} entries)` +
        `${target === '-' ? '' : '; the partial bundle was removed so the node gets its disk back'}. ` +
        'Write elsewhere with --out, or stream with --out - or --upload-url.',
    );
  }
  return new OutputError(`could not write the bundle to ${where}: ${error.message}`);
}

/** The IMDS client, or one that answers every read with the reason IMDS is not asked. */
async function imdsFor(root: string): Promise<Pick<ImdsClient, 'read'>> {
  const decision = await imdsEndpointFor(root);
  if ('endpoint' in decision) return new ImdsClient(decision.endpoint);
  return { read: async () => new Error(`not on EC2: ${decision.skip}`) };
}

export async function collect(raw: RawCollectOptions, io: CollectIo): Promise<CollectOutcome> {
  const options = validateCollectOptions(raw);
  const createdAt = new Date().toISOString();
  const toStdout = options.out === '-';
  const upload = options.upload;
  const named = toStdout ? '-' : resolve(options.out ?? (await defaultBundlePath(options.root)));
  const spoolParent = toStdout || upload ? '/var/tmp' : dirname(named);
  await checkFreeSpace(spoolParent, options.maxBytes);
  lowerPriority(io.progress);

  const tempDir = await mkdtemp(join(spoolParent, '.eks-node-diag-spool-'));
  // S3 needs an upload's length before its body (agent/upload/put.ts), so the bundle goes through a file in a
  // private (0700) directory, removed whatever happens; its name is the one a POST form's ${filename} takes.
  const uploadDir = upload ? await mkdtemp(join(spoolParent, '.eks-node-diag-upload-')) : undefined;
  const target = uploadDir ? join(uploadDir, basename(await defaultBundlePath(options.root))) : named;
  const uploadController = new AbortController();
  let uploading = false;
  const output: Writable = toStdout ? io.stdout : createWriteStream(target, { mode: 0o600 });
  const writer = new BundleWriter(output);
  const controller = new AbortController();
  const deadline = setTimeout(() => controller.abort('deadline'), options.deadlineMs);
  // Nothing more can reach the bundle: stop the items rather than collect what cannot be written.
  writer.onFailure(() => controller.abort('output'));
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    stoppedBy ??= signal;
    // A signal during collection still lets the (partial) bundle go up; one during the upload stops it.
    if (uploading) {
      io.progress(`received ${signal}: stopping the upload`);
      uploadController.abort(signal);
      return;
    }
    io.progress(`received ${signal}: stopping, writing the manifest`);
    controller.abort('signal');
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const excluded = new Map<string, string>();
  for (const item of inventory) {
    if (options.only && !options.only.has(item.id)) excluded.set(item.id, 'not selected (--only)');
    else if (options.skip.has(item.id)) excluded.set(item.id, 'skipped on request (--skip)');
    else if (options.offline && LIVE_KINDS.has(item.source.kind))
      excluded.set(item.id, 'live state not read (--offline)');
  }
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', LC_ALL: 'C' };
  let endpoints: Promise<IpamdEndpoints> | undefined;
  const endpointContext: SourceContext = {
    root: options.root,
    signal: controller.signal,
    timeoutMs: 5000,
    maxBytes: 0,
    tail: false,
    env,
  };
  const smallOutputs = new Map<string, string>();
  // Never the URL's query: a presigned signature is a credential.
  const destination = upload
    ? `${target}, then ${upload.method} to ${upload.url.origin}${upload.url.pathname}`
    : target;
  io.progress(
    `collecting ${inventory.length - excluded.size} items into ${destination} (deadline ${Math.round(options.deadlineMs / 1000)}s)`,
  );
  if (upload?.expiresAt && upload.expiresAt.getTime() < Date.now() + options.deadlineMs + 60_000)
    io.progress(
      `note: the upload ${upload.method === 'PUT' ? 'URL' : 'form'} expires at ${upload.expiresAt.toISOString()}, ` +
        'possibly before the collection (--deadline) and the upload are done',
    );

  try {
    const records = await runItems({
      items: inventory,
      excluded,
      writer,
      start: createSourceStarter({
        sinceMs: options.sinceMs,
        imds: await imdsFor(options.root),
        endpoints: () => {
          endpoints ??= findIpamdEndpoints(endpointContext);
          return endpoints;
        },
      }),
      root: options.root,
      tempDir,
      signal: controller.signal,
      maxTotalBytes: options.maxBytes,
      redact: options.redact,
      ...(options.itemTimeoutMs === undefined ? {} : { itemTimeoutMs: options.itemTimeoutMs }),
      env,
      progress: io.progress,
      smallOutputs,
    });
    const manifest: BundleManifest = {
      schema: BUNDLE_SCHEMA,
      tool: { name: TOOL_NAME, version: TOOL_VERSION },
      createdAt,
      finishedAt: new Date().toISOString(),
      ...(controller.signal.aborted ? { interrupted: true } : {}),
      node: nodeIdentity(smallOutputs, options.root === '/'),
      parameters: {
        since: raw.since ?? '10d',
        root: options.root,
        deadline: raw.deadline ?? '5m',
        maxBytes: raw.maxBytes ?? '2GiB',
        redact: options.redact,
        offline: options.offline,
        ...(options.only ? { only: [...options.only] } : {}),
        ...(options.skip.size > 0 ? { skip: [...options.skip] } : {}),
        ...(controller.signal.aborted ? { stoppedBy: String(controller.signal.reason) } : {}),
      },
      items: records,
    };
    try {
      await writer.appendBuffer(MANIFEST_PATH, `${JSON.stringify(manifest, null, 2)}\n`);
      await writer.finish();
    } catch (error) {
      if (!writer.failure) throw error;
      throw await outputFailure(writer.failure, target, writer.entries);
    }
    let uploaded: UploadResult | undefined;
    if (upload) {
      clearTimeout(deadline);
      uploading = true;
      try {
        uploaded = await uploadBundle(target, basename(target), upload, {
          allowHttpLoopback: options.allowHttpUpload,
          progress: io.progress,
          signal: uploadController.signal,
        });
      } catch (error) {
        if (!(error instanceof UploadError)) throw error;
        throw new UploadError(
          `${error.message.replace(/\.?$/, '.')} The bundle was not kept on the node: run collect again when the upload can succeed.`,
          error.attempts,
          error.status,
          error.s3Code,
        );
      }
      const etag = uploaded.etag ? `, ETag ${uploaded.etag}` : '';
      io.progress(
        `uploaded ${uploaded.bytes} bytes to ${uploaded.location}${etag} (${uploaded.attempts} attempt${uploaded.attempts === 1 ? '' : 's'})`,
      );
    }
    return {
      manifest,
      target: uploaded?.location ?? target,
      ...(uploaded ? { upload: uploaded } : {}),
      compressedBytes: writer.compressedBytes,
      interrupted: controller.signal.aborted,
      ...(stoppedBy ? { signal: stoppedBy } : {}),
    };
  } finally {
    clearTimeout(deadline);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await rm(tempDir, { recursive: true, force: true });
    if (uploadDir) await rm(uploadDir, { recursive: true, force: true });
  }
}
