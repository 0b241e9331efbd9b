/**
 * Splits a file's byte stream into lines for a parser, without ever holding the whole file.
 *
 * Two modes:
 * - every line (structured files: iptables-save, /proc files, units): each line is decoded and handed over;
 * - filtered (logs that may be gigabytes): only lines containing one of the rules' substrings are decoded. The search
 *   runs on raw bytes with Buffer#indexOf over whole chunks, so a chunk with no match costs one scan per filter plus
 *   newline counting (line numbers must stay exact for evidence). This is insights-core's filter idea, done on bytes.
 *
 * Lines longer than `maxLineBytes` are cut there and counted; the rest of such a line is skipped, not buffered.
 */

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
/** Appended to a line that was cut, so evidence never passes a partial line off as whole. */
export const LONG_LINE_MARK = ' …[line cut by eks-node-diag]';

export interface LineSplitterOptions {
  /** Longest line handed over whole; longer lines are cut to this many bytes. */
  maxLineBytes: number;
  /** When set, only lines containing at least one of these byte strings are handed over. */
  filters?: readonly Buffer[];
  /** With filters: also hand over this many lines after each matching line (like `grep -A`). */
  linesAfter?: number;
  /** Anchors chosen for these filters by an earlier file of the same item (filled in by the first file). */
  anchorCache?: AnchorCache;
}

export type LineHandler = (text: string, lineNumber: number) => void;

export class LineSplitter {
  /** Lines seen so far (all lines, whether handed over or not). */
  lines = 0;
  /** Lines longer than the limit, which were cut. */
  longLines = 0;
  /** Lines handed over to the handler. */
  delivered = 0;
  /** The file's first and last lines (capped), kept even when filtered out: they tell the time window a log covers. */
  firstLine: string | undefined;
  lastLine: string | undefined;

  readonly #onLine: LineHandler;
  readonly #maxLineBytes: number;
  readonly #filters: readonly Buffer[] | undefined;
  /** What is searched for: fewer byte strings that together occur in every filter (see chooseAnchors). */
  #anchors: readonly Buffer[] | undefined;
  /** Shared by the files of one item, so the anchors are chosen once per item from the first file's data. */
  readonly #anchorCache: AnchorCache | undefined;
  /** Start of the current unfinished line, kept across chunks (at most maxLineBytes). */
  /** Lines still to hand over after the last match (`linesAfter` context). */
  #pendingAfter = 0;
  readonly #linesAfter: number;
  #carry: Buffer[] = [];
  #carryBytes = 0;
  /** The current line already exceeded the limit: its remaining bytes are dropped until the next newline. */
  #skippingLongLine = false;

  constructor(onLine: LineHandler, options: LineSplitterOptions) {
    this.#onLine = onLine;
    this.#maxLineBytes = options.maxLineBytes;
    this.#filters = options.filters && options.filters.length > 0 ? options.filters : undefined;
    this.#anchorCache = options.anchorCache;
    this.#anchors = this.#anchorCache?.anchors;
    this.#linesAfter = options.linesAfter ?? 0;
  }

  write(chunk: Buffer): void {
    const firstNewline = chunk.indexOf(NEWLINE);
    if (firstNewline === -1) {
      this.#appendPartial(chunk);
      return;
    }
    // Finish the line carried over from earlier chunks.
    let start = 0;
    if (this.#carryBytes > 0 || this.#skippingLongLine) {
      this.#appendPartial(chunk.subarray(0, firstNewline));
      this.#finishCarriedLine();
      start = firstNewline + 1;
    }
    const lastNewline = chunk.lastIndexOf(NEWLINE);
    if (start <= lastNewline) {
      const block = chunk.subarray(start, lastNewline + 1);
      this.#noteEnds(block);
      if (this.#filters) this.#scanFiltered(block);
      else this.#scanAll(block);
    }
    if (lastNewline + 1 < chunk.length) this.#appendPartial(chunk.subarray(lastNewline + 1));
  }

  /** Flushes a last line that has no newline. */
  end(): void {
    if (this.#carryBytes > 0 || this.#skippingLongLine) this.#finishCarriedLine();
  }

  #appendPartial(bytes: Buffer): void {
    if (this.#skippingLongLine) return;
    const room = this.#maxLineBytes - this.#carryBytes;
    if (bytes.length > room) {
      if (room > 0) this.#carry.push(Buffer.from(bytes.subarray(0, room)));
      this.#carryBytes += Math.max(room, 0);
      this.#skippingLongLine = true;
      return;
    }
    // Copy: the chunk's memory may be reused by the producer after write() returns.
    this.#carry.push(Buffer.from(bytes));
    this.#carryBytes += bytes.length;
  }

  #finishCarriedLine(): void {
    const line = this.#carry.length === 1 ? (this.#carry[0] as Buffer) : Buffer.concat(this.#carry, this.#carryBytes);
    const wasLong = this.#skippingLongLine;
    this.#carry = [];
    this.#carryBytes = 0;
    this.#skippingLongLine = false;
    this.#noteEnds(line, true);
    this.lines++;
    if (wasLong) this.longLines++;
    if (this.#filters) {
      if (containsAny(line, this.#filters)) this.#pendingAfter = this.#linesAfter;
      else if (this.#pendingAfter > 0) this.#pendingAfter--;
      else return;
    }
    this.#deliver(line, 0, line.length, this.lines, wasLong);
  }

  /** Remembers the first and last line seen; `block` ends with a newline unless it is a single carried line. */
  #noteEnds(block: Buffer, single = false): void {
    const end = single || block[block.length - 1] !== NEWLINE ? block.length : block.length - 1;
    if (this.firstLine === undefined && this.lines === 0) {
      const firstEnd = single ? end : block.indexOf(NEWLINE);
      this.firstLine = trimLine(block, 0, Math.min(firstEnd, ENDS_CAP));
    }
    const lastStart = single ? 0 : block.lastIndexOf(NEWLINE, end - 1) + 1;
    this.lastLine = trimLine(block, lastStart, Math.min(end, lastStart + ENDS_CAP));
  }

  /** Every line of a block that ends with a newline. */
  #scanAll(block: Buffer): void {
    let start = 0;
    const end = block.length;
    while (start < end) {
      const newline = block.indexOf(NEWLINE, start);
      this.lines++;
      const lineEnd = newline === -1 ? end : newline;
      const long = lineEnd - start > this.#maxLineBytes;
      if (long) this.longLines++;
      this.#deliver(block, start, long ? start + this.#maxLineBytes : lineEnd, this.lines, long);
      start = lineEnd + 1;
    }
  }

  /** Only lines containing a filter; the others are counted, not decoded. */
  #scanFiltered(block: Buffer): void {
    const filters = this.#filters as readonly Buffer[];
    // Collect the start offsets of lines that contain an anchor, in order, without duplicates.
    let hits: number[] | undefined;
    if (!this.#anchors) {
      this.#anchors = chooseAnchors(filters, block.subarray(0, ANCHOR_SAMPLE_BYTES));
      if (this.#anchorCache) this.#anchorCache.anchors = this.#anchors;
    }
    for (const anchor of this.#anchors) {
      let at = block.indexOf(anchor);
      while (at !== -1) {
        const lineStart = block.lastIndexOf(NEWLINE, at) + 1;
        hits ??= [];
        hits.push(lineStart);
        const lineEnd = block.indexOf(NEWLINE, at);
        at = lineEnd === -1 ? -1 : block.indexOf(anchor, lineEnd + 1);
      }
    }
    const firstLineNumber = this.lines + 1;
    if (!hits && this.#pendingAfter === 0) {
      this.lines += countNewlines(block, 0, block.length);
      return;
    }
    if (hits && this.#anchors.length > 1) hits.sort((a, b) => a - b);
    let counted = 0;
    let lineNumber = firstLineNumber;
    /** Offset of the first line not yet handed over (context lines after a match move it on). */
    let cursor = 0;
    const deliverAt = (lineStart: number): number => {
      lineNumber += countNewlines(block, counted, lineStart);
      counted = lineStart;
      const newline = block.indexOf(NEWLINE, lineStart);
      const lineEnd = newline === -1 ? block.length : newline;
      const long = lineEnd - lineStart > this.#maxLineBytes;
      if (long) this.longLines++;
      this.#deliver(block, lineStart, long ? lineStart + this.#maxLineBytes : lineEnd, lineNumber, long);
      return lineEnd + 1;
    };
    // Lines after a match (a multi-line log value continues there), also across block boundaries.
    const deliverContext = () => {
      while (this.#pendingAfter > 0 && cursor < block.length) {
        const newline = block.indexOf(NEWLINE, cursor);
        const matches = containsAny(block.subarray(cursor, newline === -1 ? block.length : newline), filters);
        this.#pendingAfter = matches ? this.#linesAfter : this.#pendingAfter - 1;
        cursor = deliverAt(cursor);
      }
    };
    deliverContext();
    let previous = -1;
    for (const lineStart of hits ?? []) {
      if (lineStart === previous || lineStart < cursor) continue;
      previous = lineStart;
      const newline = block.indexOf(NEWLINE, lineStart);
      // An anchor is only part of a filter: the line must hold a whole one.
      if (!containsAny(block.subarray(lineStart, newline === -1 ? block.length : newline), filters)) continue;
      cursor = deliverAt(lineStart);
      this.#pendingAfter = this.#linesAfter;
      deliverContext();
    }
    // Long lines that did not match are not counted as long: finding them would cost a scan per line.
    this.lines = lineNumber - 1 + countNewlines(block, counted, block.length);
  }

  #deliver(buffer: Buffer, start: number, end: number, lineNumber: number, long: boolean): void {
    let stop = end;
    if (stop > start && buffer[stop - 1] === CARRIAGE_RETURN) stop--;
    this.delivered++;
    const text = buffer.toString('utf8', start, stop);
    this.#onLine(long ? `${text}${LONG_LINE_MARK}` : text, lineNumber);
  }
}

const ENDS_CAP = 4096;

export interface AnchorCache {
  anchors?: readonly Buffer[];
}

const ANCHOR_SAMPLE_BYTES = 64 * 1024;
/**
 * Node's Buffer#indexOf finds needles of up to 6 bytes with memchr on their first byte (about 25 GB/s when that byte
 * is rare); longer needles go through Boyer-Moore-Horspool at about 2 GB/s (measured on these machines). So anchors
 * are 4 to 6 bytes, chosen to start with a byte that is rare in the data.
 */
const ANCHOR_LENGTHS = [4, 5, 6];
const FAST_NEEDLE_BYTES = 6;

/**
 * Chooses what to search for, with Buffer#indexOf, so that every filter is found at the least cost. A pass over the
 * data costs a fixed amount plus, per candidate position, a comparison wherever the anchor's first byte occurs (Node
 * finds candidates with memchr on the first byte), plus a line check per occurrence. So anchors should start with a
 * byte that is rare in this data, occur rarely, and be shared by several filters ('Probe failed', 'Probe errored'
 * and 'probe, will be restarted' share 'robe'). Greedy weighted set cover over substrings of the filters, with costs
 * estimated on a sample of the data; without a sample, fewest anchors.
 */
export function chooseAnchors(filters: readonly Buffer[], sample?: Buffer): Buffer[] {
  const counts = new Uint32Array(256);
  if (sample) for (const byte of sample) counts[byte] = (counts[byte] ?? 0) + 1;
  const frequency = (byte: number | undefined) =>
    sample && sample.length > 0 ? (counts[byte ?? 0] ?? 0) / sample.length : 0;
  const candidates = new Map<string, Buffer>();
  for (const filter of filters) {
    if (filter.length < (ANCHOR_LENGTHS[0] as number)) candidates.set(filter.toString('latin1'), filter);
    for (const length of ANCHOR_LENGTHS) {
      for (let start = 0; start + length <= filter.length; start++) {
        const candidate = filter.subarray(start, start + length);
        candidates.set(candidate.toString('latin1'), candidate);
      }
    }
  }
  // Cost of one anchor per megabyte, in rough microseconds: a pass, candidate positions, and line checks per hit.
  const scanCost = (anchor: Buffer): number => {
    if (!sample || sample.length === 0) return 1 + 1 / anchor.length;
    return anchor.length > FAST_NEEDLE_BYTES ? 560 : 40 + 36_000 * frequency(anchor[0]);
  };
  const hitCost = (anchor: Buffer): number => {
    if (!sample || sample.length === 0) return 0;
    let hits = 0;
    for (let at = sample.indexOf(anchor); at !== -1 && hits < 10_000; at = sample.indexOf(anchor, at + 1)) hits++;
    return (hits * 1024 * 1024) / sample.length;
  };
  const costs = new Map<string, number>();
  let remaining = [...filters];
  const anchors: Buffer[] = [];
  while (remaining.length > 0) {
    let best: Buffer = remaining[0] as Buffer;
    let bestScore = Number.POSITIVE_INFINITY;
    for (const [key, candidate] of candidates) {
      const covered = remaining.filter((filter) => filter.indexOf(candidate) !== -1).length;
      if (covered === 0) continue;
      // Counting a candidate's hits in the sample is the expensive part: skip it when the scan alone loses.
      if (scanCost(candidate) / covered > bestScore) continue;
      let price = costs.get(key);
      if (price === undefined) {
        price = scanCost(candidate) + hitCost(candidate);
        costs.set(key, price);
      }
      const score = price / covered;
      if (score < bestScore || (score === bestScore && candidate.length > best.length)) {
        best = candidate;
        bestScore = score;
      }
    }
    anchors.push(Buffer.from(best));
    remaining = remaining.filter((filter) => filter.indexOf(best) === -1);
  }
  return anchors;
}

function trimLine(buffer: Buffer, start: number, end: number): string {
  let stop = end;
  if (stop > start && buffer[stop - 1] === CARRIAGE_RETURN) stop--;
  return buffer.toString('utf8', start, stop);
}

function containsAny(line: Buffer, filters: readonly Buffer[]): boolean {
  for (const filter of filters) if (line.indexOf(filter) !== -1) return true;
  return false;
}

/** Newlines in buffer[from, to). */
export function countNewlines(buffer: Buffer, from: number, to: number): number {
  let count = 0;
  let at = buffer.indexOf(NEWLINE, from);
  while (at !== -1 && at < to) {
    count++;
    at = buffer.indexOf(NEWLINE, at + 1);
  }
  return count;
}

/** Index of the first byte that is not NUL (the buffer's length when all are). */
export function leadingNulEnd(buffer: Buffer): number {
  let at = 0;
  while (at < buffer.length && buffer[at] === 0) at++;
  return at;
}

/** A NUL byte in the first bytes of a text item means it is not text (a journal file, a core dump, junk). */
export function looksBinary(firstBytes: Buffer): boolean {
  const probe = firstBytes.subarray(0, 8192);
  return probe.indexOf(0) !== -1;
}
