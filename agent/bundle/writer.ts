/**
 * Writes the bundle as a streaming tar.gz: each entry is appended the moment its item is ready, and the gzip stream
 * is sync-flushed after every entry, so whatever has been written is a readable prefix even if the agent is killed
 * outright (the analyzer reads such a bundle and reports it as cut short). `manifest.json` goes last.
 *
 * Headers come from node-tar's encoder; the writer only adds the data blocks and padding around them.
 *
 * Should the output fail (ENOSPC on a full disk, EPIPE when the reader of `--out -` goes away), the writer stops:
 * every pending and later `append` and `finish` reject with that error, so the collector can end the run cleanly
 * rather than wait forever for a drain that will not come.
 */
import { once } from 'node:events';
import { Readable, type Writable } from 'node:stream';
import { constants, createGzip, type Gzip } from 'node:zlib';
import { Header } from 'tar';

const BLOCK = 512;

export interface BundleEntry {
  /** Canonical bundle path. */
  path: string;
  /** Exact byte count `open()` yields. */
  size: number;
  mtime: Date;
  open(): Readable;
}

export class BundleWriter {
  readonly #gzip: Gzip;
  readonly #output: Writable;
  #queue: Promise<void> = Promise.resolve();
  #finished = false;
  #compressedBytes = 0;
  #entries = 0;
  #failure: Error | undefined;
  readonly #stopped = new AbortController();

  constructor(output: Writable, level = 6) {
    this.#output = output;
    this.#gzip = createGzip({ level });
    this.#gzip.on('data', (chunk: Buffer) => {
      this.#compressedBytes += chunk.length;
    });
    this.#gzip.on('error', (error) => this.#fail(error));
    output.on('error', (error) => this.#fail(error));
    this.#gzip.pipe(output);
  }

  /** Why the output failed, once it has: nothing more can be written. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Called once when the output fails. */
  onFailure(listener: (error: Error) => void): void {
    this.#stopped.signal.addEventListener('abort', () => listener(this.#failure as Error), { once: true });
  }

  /** Bytes of gzip output produced so far. */
  get compressedBytes(): number {
    return this.#compressedBytes;
  }

  get entries(): number {
    return this.#entries;
  }

  /** Appends one entry; entries are written one after another in the order `append` is called. */
  append(entry: BundleEntry): Promise<void> {
    const run = this.#queue.then(() => this.#write(entry));
    // A failed entry must not stop the ones after it from being written.
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Appends a small in-memory entry (manifest, markers). */
  appendBuffer(path: string, content: Buffer | string, mtime = new Date()): Promise<void> {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    return this.append({
      path,
      size: bytes.length,
      mtime,
      open: () => Readable.from([bytes]),
    });
  }

  /** Writes the end-of-archive blocks and closes the gzip stream; the output is ended after it. */
  async finish(): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    await this.#queue;
    await this.#put(Buffer.alloc(BLOCK * 2));
    const signal = this.#stopped.signal;
    const output = this.#output;
    if (output === process.stdout || output === process.stderr) {
      // pipe() never ends stdout, so no 'finish' comes: wait until the gzip end is out and handed to the fd.
      const ended = once(this.#gzip, 'end', { signal });
      this.#gzip.end();
      await ended.catch(() => {});
      if (!this.#failure) await new Promise<void>((resolve) => output.write(Buffer.alloc(0), () => resolve()));
    } else {
      this.#gzip.end();
      if (!output.writableFinished) await once(output, 'finish', { signal }).catch(() => {});
    }
    if (this.#failure) throw this.#failure;
  }

  #fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#gzip.unpipe(this.#output);
    this.#gzip.destroy();
    this.#stopped.abort();
  }

  async #write(entry: BundleEntry): Promise<void> {
    if (this.#finished) throw new Error(`bundle already finished; cannot add ${entry.path}`);
    const header = Buffer.alloc(BLOCK);
    new Header({
      path: entry.path,
      type: 'File',
      size: entry.size,
      mode: 0o644,
      uid: 0,
      gid: 0,
      uname: 'root',
      gname: 'root',
      mtime: entry.mtime,
    }).encode(header, 0);
    await this.#put(header);
    let written = 0;
    const source = entry.open();
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        // Never write past the declared size: the tar would be unreadable after this entry.
        const room = entry.size - written;
        if (room <= 0) break;
        const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
        written += part.length;
        await this.#put(part);
      }
    } finally {
      source.destroy();
    }
    // A source that yields less than declared is padded with NULs so the archive stays well-formed.
    const missing = entry.size - written;
    const padding = (BLOCK - (entry.size % BLOCK)) % BLOCK;
    if (missing + padding > 0) await this.#put(Buffer.alloc(missing + padding));
    await new Promise<void>((resolve) => {
      // A destroyed gzip stream may never call back.
      const stop = this.#stopped.signal;
      const done = () => {
        stop.removeEventListener('abort', done);
        resolve();
      };
      stop.addEventListener('abort', done, { once: true });
      this.#gzip.flush(constants.Z_SYNC_FLUSH, done);
    });
    if (this.#failure) throw this.#failure;
    this.#entries++;
    if (missing > 0) throw new Error(`${entry.path}: source ended ${missing} bytes short of ${entry.size}; padded`);
  }

  async #put(bytes: Buffer): Promise<void> {
    if (this.#failure) throw this.#failure;
    if (this.#gzip.write(bytes)) return;
    try {
      await once(this.#gzip, 'drain', { signal: this.#stopped.signal });
    } catch (error) {
      throw this.#failure ?? error;
    }
  }
}
