/**
 * The setup the upload tests share (test-only; nothing in the agent imports this): a local S3 protocol server, a
 * temporary directory holding the bundle to upload, and the check that each test used up the faults it injected.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { S3Server, type S3ServerOptions } from '../../test/support/s3-server.ts';

/** Retries in milliseconds, and the plain-HTTP loopback endpoint allowed. */
export const fast = { retry: { baseDelayMs: 5, maxDelayMs: 20 }, allowHttpLoopback: true };

export interface UploadTestBed {
  server: S3Server;
  dir: string;
  /** Path of the bundle file in `dir`. */
  bundle: string;
  bundleBytes: Buffer;
}

export interface UploadTestBedOptions {
  server: S3ServerOptions;
  /** Prefix of the temporary directory's name. */
  dirPrefix: string;
  bundleName: string;
  bundleBytes: Buffer;
}

/** Registers the hooks of the file's tests; `ready` receives the test bed once it is up. */
export function useUploadTestBed(options: UploadTestBedOptions, ready: (bed: UploadTestBed) => void): void {
  let bed: UploadTestBed | undefined;
  beforeAll(async () => {
    const server = await S3Server.start(options.server);
    const dir = await mkdtemp(join(tmpdir(), options.dirPrefix));
    const bundle = join(dir, options.bundleName);
    await writeFile(bundle, options.bundleBytes);
    bed = { server, dir, bundle, bundleBytes: options.bundleBytes };
    ready(bed);
  });
  afterAll(async () => {
    await bed?.server.close();
    if (bed) await rm(bed.dir, { recursive: true, force: true });
  });
  afterEach(() => {
    expect(bed?.server.pendingFaults).toBe(0);
  });
}
