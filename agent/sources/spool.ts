/**
 * The spool sits between a source and the bundle: a tar entry needs its size before its bytes, and an item must be
 * cut to its budget without holding it in memory. Small outputs stay in memory; larger ones go to a 0600 temp file in
 * the 0700 temp dir the collector made. Over budget, head mode keeps the first `maxBytes` and keeps reading (and
 * discarding) so the source ends on its own terms and the total is exact; tail mode keeps the last `maxBytes` in two
 * temp files written in turn, so disk use stays under twice the budget however much the source produces.
 *
 * A cut output carries a marker line, at the end (head) or the start (tail), so a reader of the bundle sees it:
 * `[eks-node-diag: output cut at N bytes of M]`. Sources that skip part of their input themselves (a file read from
 * its tail) report how much through `unreadBytes`, so M stays the real size.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { SourceRun } from './types.ts';

/** Outputs up to this size never touch the disk. */
export const MEMORY_LIMIT = 1024 * 1024;
/** How far into a tail window the spool looks for the first line break, so the output starts on a whole line. */
const LINE_SEARCH_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/** A source that may leave part of its input unread: a file read from its tail, an HTTP body past its cap. */
export interface PartialSourceRun extends SourceRun {
  /**
   * Bytes the source never read: 0 when it read everything, `null` when it stopped early without knowing how many
   * were left. Settles no later than `done`.
   */
  unreadBytes: Promise<number | null>;
}

export interface SpoolOptions {
  maxBytes: number;
  /** Keep the last `maxBytes` rather than the first. */
  tail: boolean;
  /** A private (0700) directory for temp files; the spool removes its own files in `dispose()`. */
  tempDir: string;
  /** What the source left unread (see PartialSourceRun); counted in `seenBytes` and the marker's total. */
  unreadBytes?: PromiseLike<number | null> | number | null;
  /** Outputs up to this size stay in memory. Tests lower it to exercise the file paths with small data. */
  memoryLimit?: number;
}

export interface Spooled {
  /** Exactly the number of bytes `open()` yields, marker included: the tar entry's size. */
  bytes: number;
  /** Bytes the source produced (plus what it left unread, when it said so). */
  seenBytes: number;
  truncated: boolean;
  /** A fresh stream of the kept output each call, until `dispose()`. */
  open(): Readable;
  dispose(): Promise<void>;
}

/** A slice of the kept output: bytes in memory or a range of a temp file. */
type Piece = Buffer | { path: string; start: number; end: number };

export function truncationMarker(keptBytes: number, totalBytes: number | null, seenBytes: number): string {
  const total = totalBytes === null ? `more than ${seenBytes}` : String(totalBytes);
  return `[eks-node-diag: output cut at ${keptBytes} bytes of ${total}]\n`;
}

export async function spool(stream: Readable, options: SpoolOptions): Promise<Spooled> {
  const memoryLimit = options.memoryLimit ?? MEMORY_LIMIT;
  const maxBytes = Math.max(0, Math.floor(options.maxBytes));
  const keeper = options.tail
    ? new TailKeeper(maxBytes, options.tempDir, memoryLimit)
    : new HeadKeeper(maxBytes, options.tempDir, memoryLimit);
  let produced = 0;
  try {
    try {
      for await (const chunk of stream) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        produced += bytes.length;
        await keeper.write(bytes);
      }
    } catch {
      // A source that fails mid-stream ends its output there and its `done` says why; only our own writes fail us.
      if (keeper.writeError !== undefined) throw keeper.writeError;
    }
    const window = await keeper.finish();
    const unread = options.unreadBytes === undefined ? 0 : await options.unreadBytes;
    return await assemble(window, produced, unread, options.tail, keeper.tempFiles);
  } catch (error) {
    stream.destroy();
    await keeper.closeAll();
    await removeAll(keeper.tempFiles);
    throw error;
  }
}

interface KeptWindow {
  pieces: Piece[];
  /** The byte just before the kept window, when the window does not start at the source's first byte. */
  byteBefore?: number;
}

async function assemble(
  window: KeptWindow,
  produced: number,
  unread: number | null,
  tail: boolean,
  tempFiles: string[],
): Promise<Spooled> {
  let pieces = window.pieces;
  let kept = sizeOf(pieces);
  const cutBySpool = kept < produced;
  if (tail && cutBySpool && window.byteBefore !== undefined && window.byteBefore !== NEWLINE) {
    const skip = await bytesToLineStart(pieces, kept);
    pieces = dropFront(pieces, skip);
    kept -= skip;
  }
  const truncated = cutBySpool || unread !== 0;
  const seenBytes = produced + (unread ?? 0);
  let head: Buffer[] = [];
  let end: Buffer[] = [];
  if (truncated) {
    const marker = Buffer.from(truncationMarker(kept, unread === null ? null : seenBytes, seenBytes));
    if (tail) head = [marker];
    else end = (await endsWithNewline(pieces)) || kept === 0 ? [marker] : [Buffer.from('\n'), marker];
  }
  const bytes = kept + sizeOf(head) + sizeOf(end);
  let disposed = false;
  return {
    bytes,
    seenBytes,
    truncated,
    open() {
      if (disposed) throw new Error('spooled output already disposed');
      return Readable.from(emit([...head, ...pieces, ...end]), { objectMode: false });
    },
    async dispose() {
      disposed = true;
      await removeAll(tempFiles);
    },
  };
}

async function* emit(pieces: Piece[]): AsyncGenerator<Buffer> {
  for (const piece of pieces) {
    if (Buffer.isBuffer(piece)) {
      if (piece.length > 0) yield piece;
    } else if (piece.end > piece.start) {
      yield* createReadStream(piece.path, { start: piece.start, end: piece.end - 1 });
    }
  }
}

function sizeOf(pieces: Piece[]): number {
  return pieces.reduce((sum, piece) => sum + (Buffer.isBuffer(piece) ? piece.length : piece.end - piece.start), 0);
}

/** How many bytes to drop so the window starts after its first line break (0 when there is none nearby). */
async function bytesToLineStart(pieces: Piece[], kept: number): Promise<number> {
  const probe = await readFront(pieces, Math.min(LINE_SEARCH_BYTES, kept));
  const newline = probe.indexOf(NEWLINE);
  // A window that is one unfinished line is better kept whole than emptied.
  return newline === -1 || newline + 1 >= kept ? 0 : newline + 1;
}

function dropFront(pieces: Piece[], count: number): Piece[] {
  const result: Piece[] = [];
  let left = count;
  for (const piece of pieces) {
    const length = Buffer.isBuffer(piece) ? piece.length : piece.end - piece.start;
    if (left >= length) {
      left -= length;
      continue;
    }
    result.push(Buffer.isBuffer(piece) ? piece.subarray(left) : { ...piece, start: piece.start + left });
    left = 0;
  }
  return result;
}

async function readFront(pieces: Piece[], count: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let left = count;
  for (const piece of pieces) {
    if (left <= 0) break;
    if (Buffer.isBuffer(piece)) {
      parts.push(piece.subarray(0, left));
      left -= Math.min(left, piece.length);
      continue;
    }
    const length = Math.min(left, piece.end - piece.start);
    parts.push(await readRange(piece.path, piece.start, length));
    left -= length;
  }
  return Buffer.concat(parts);
}

async function endsWithNewline(pieces: Piece[]): Promise<boolean> {
  const last = pieces.findLast((piece) => (Buffer.isBuffer(piece) ? piece.length : piece.end - piece.start) > 0);
  if (last === undefined) return false;
  if (Buffer.isBuffer(last)) return last[last.length - 1] === NEWLINE;
  return (await readRange(last.path, last.end - 1, 1))[0] === NEWLINE;
}

async function readRange(path: string, start: number, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function removeAll(paths: string[]): Promise<void> {
  await Promise.all(paths.map((path) => rm(path, { force: true })));
}

/** A 0600 temp file written at explicit offsets, so it can be rewound and reused. */
class TempFile {
  length = 0;
  readonly path: string;
  readonly #handle: FileHandle;
  #closed = false;

  private constructor(path: string, handle: FileHandle) {
    this.path = path;
    this.#handle = handle;
  }

  static async create(tempDir: string, created: TempFile[]): Promise<TempFile> {
    const path = join(tempDir, `spool-${randomUUID()}`);
    const file = new TempFile(path, await open(path, 'wx+', 0o600));
    created.push(file);
    return file;
  }

  async append(bytes: Buffer): Promise<void> {
    let written = 0;
    while (written < bytes.length) {
      const { bytesWritten } = await this.#handle.write(bytes, written, bytes.length - written, this.length);
      written += bytesWritten;
      this.length += bytesWritten;
    }
  }

  async rewind(): Promise<void> {
    await this.#handle.truncate(0);
    this.length = 0;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }
}

abstract class Keeper {
  protected readonly files: TempFile[] = [];
  writeError: unknown;
  protected memory: Buffer[] = [];
  protected memoryBytes = 0;

  protected readonly maxBytes: number;
  protected readonly tempDir: string;
  protected readonly memoryLimit: number;

  constructor(maxBytes: number, tempDir: string, memoryLimit: number) {
    this.maxBytes = maxBytes;
    this.tempDir = tempDir;
    this.memoryLimit = memoryLimit;
  }

  async write(bytes: Buffer): Promise<void> {
    try {
      await this.keep(bytes);
    } catch (error) {
      this.writeError = error;
      throw error;
    }
  }

  get tempFiles(): string[] {
    return this.files.map((file) => file.path);
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.files.map((file) => file.close()));
  }

  protected abstract keep(bytes: Buffer): Promise<void>;
  abstract finish(): Promise<KeptWindow>;
}

class HeadKeeper extends Keeper {
  #file: TempFile | undefined;
  #kept = 0;

  protected async keep(bytes: Buffer): Promise<void> {
    const room = this.maxBytes - this.#kept;
    if (room <= 0) return;
    const part = bytes.length > room ? bytes.subarray(0, room) : bytes;
    this.#kept += part.length;
    if (this.#file) return this.#file.append(part);
    if (this.memoryBytes + part.length <= this.memoryLimit) {
      // Copy: sources may reuse their buffers, and a slice would pin a whole large chunk.
      this.memory.push(Buffer.from(part));
      this.memoryBytes += part.length;
      return;
    }
    this.#file = await TempFile.create(this.tempDir, this.files);
    await this.#file.append(Buffer.concat([...this.memory, part]));
    this.memory = [];
    this.memoryBytes = 0;
  }

  async finish(): Promise<KeptWindow> {
    if (!this.#file) return { pieces: [Buffer.concat(this.memory)] };
    await this.closeAll();
    return { pieces: [{ path: this.#file.path, start: 0, end: this.#file.length }] };
  }
}

/**
 * Keeps the last `maxBytes`. In memory: a list of chunks trimmed from the front. On disk: segments of `maxBytes`
 * written in turn to two files; when the current one is full the older one is emptied and becomes current, so
 * the previous full segment plus the current one always hold the last `maxBytes`.
 */
class TailKeeper extends Keeper {
  #current: TempFile | undefined;
  #previous: TempFile | undefined;
  /** Last byte dropped from the front, to tell whether the kept window starts on a line. */
  #byteBeforeMemory: number | undefined;

  protected async keep(bytes: Buffer): Promise<void> {
    if (this.#current) return this.#appendToSegments(bytes);
    if (this.maxBytes > this.memoryLimit && this.memoryBytes + bytes.length > this.memoryLimit) {
      this.#current = await TempFile.create(this.tempDir, this.files);
      const held = Buffer.concat(this.memory);
      this.memory = [];
      this.memoryBytes = 0;
      await this.#appendToSegments(held);
      return this.#appendToSegments(bytes);
    }
    this.memory.push(Buffer.from(bytes));
    this.memoryBytes += bytes.length;
    this.#trimMemory();
  }

  #trimMemory(): void {
    while (this.memory.length > 0 && this.memoryBytes - (this.memory[0] as Buffer).length >= this.maxBytes) {
      const dropped = this.memory.shift() as Buffer;
      this.memoryBytes -= dropped.length;
      this.#byteBeforeMemory = dropped[dropped.length - 1];
    }
    const excess = this.memoryBytes - this.maxBytes;
    if (excess > 0) {
      const first = this.memory[0] as Buffer;
      this.#byteBeforeMemory = first[excess - 1];
      // Copy so the dropped front of a large chunk is freed rather than pinned by a view.
      this.memory[0] = Buffer.from(first.subarray(excess));
      this.memoryBytes -= excess;
    }
  }

  async #appendToSegments(bytes: Buffer): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      let current = this.#current as TempFile;
      if (current.length >= this.maxBytes) {
        const emptied = this.#previous ?? (await TempFile.create(this.tempDir, this.files));
        await emptied.rewind();
        this.#previous = current;
        this.#current = emptied;
        current = emptied;
      }
      const take = Math.min(bytes.length - offset, this.maxBytes - current.length);
      await current.append(bytes.subarray(offset, offset + take));
      offset += take;
    }
  }

  async finish(): Promise<KeptWindow> {
    const current = this.#current;
    if (!current) return { pieces: this.memory, byteBefore: this.#byteBeforeMemory };
    await this.closeAll();
    const previous = this.#previous;
    const currentPiece = { path: current.path, start: 0, end: current.length };
    if (!previous) return { pieces: [currentPiece] };
    // The current segment is never empty here: segments are switched only when more bytes arrive.
    const full = current.length >= this.maxBytes;
    const byteBefore = (await readRange(previous.path, (full ? this.maxBytes : current.length) - 1, 1))[0];
    if (full) return { pieces: [currentPiece], byteBefore };
    return { pieces: [{ path: previous.path, start: current.length, end: this.maxBytes }, currentPiece], byteBefore };
  }
}
