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
  readonly #anchors: readonly Buffer[];
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
    this.#anchors = this.#filters ? chooseAnchors(this.#filters) : [];
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
const MIN_ANCHOR_BYTES = 4;

/**
 * Fewer search strings than filters: each Buffer#indexOf pass over a gigabyte costs about a quarter of a second,
 * so filters sharing a substring ('Probe failed', 'Probe errored', 'probe, will be restarted' share 'robe') are
 * searched once by that substring and confirmed per matching line. Greedy: the substring of at least
 * MIN_ANCHOR_BYTES that occurs in the most remaining filters (longest on ties), until all are covered.
 */
export function chooseAnchors(filters: readonly Buffer[]): Buffer[] {
  let remaining = [...filters];
  const anchors: Buffer[] = [];
  while (remaining.length > 0) {
    let best: Buffer = remaining[0] as Buffer;
    let bestCover = 1;
    for (const filter of remaining) {
      for (let start = 0; start + MIN_ANCHOR_BYTES <= filter.length; start++) {
        for (let end = start + MIN_ANCHOR_BYTES; end <= filter.length; end++) {
          const candidate = filter.subarray(start, end);
          const cover = remaining.filter((other) => other.indexOf(candidate) !== -1).length;
          if (cover > bestCover || (cover === bestCover && candidate.length > best.length)) {
            best = candidate;
            bestCover = cover;
          }
        }
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

/** A NUL byte in the first bytes of a text item means it is not text (a journal file, a core dump, junk). */
export function looksBinary(firstBytes: Buffer): boolean {
  const probe = firstBytes.subarray(0, 8192);
  return probe.indexOf(0) !== -1;
}
