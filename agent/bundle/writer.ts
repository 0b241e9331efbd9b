/**
 * Writes the bundle as a streaming tar.gz: each entry is appended the moment its item is ready, and the gzip stream
 * is sync-flushed after every entry, so whatever has been written is a readable prefix even if the agent is killed
 * outright (the analyzer reads such a bundle and reports it as cut short). `manifest.json` goes last.
 *
 * Headers come from node-tar's encoder; the writer only adds the data blocks and padding around them.
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

  constructor(output: Writable, level = 6) {
    this.#output = output;
    this.#gzip = createGzip({ level });
    this.#gzip.on('data', (chunk: Buffer) => {
      this.#compressedBytes += chunk.length;
    });
    this.#gzip.pipe(output);
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
    this.#gzip.end();
    await once(this.#output, 'finish').catch(() => {});
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
    await new Promise<void>((resolve) => this.#gzip.flush(constants.Z_SYNC_FLUSH, () => resolve()));
    this.#entries++;
    if (missing > 0) throw new Error(`${entry.path}: source ended ${missing} bytes short of ${entry.size}; padded`);
  }

  async #put(bytes: Buffer): Promise<void> {
    if (!this.#gzip.write(bytes)) await once(this.#gzip, 'drain');
  }
}
