/**
 * Redaction as a stream stage: source → redactor → spool → bundle, so no secret reaches disk. Bytes are read as
 * latin1 (one char per byte) and written back the same way, so anything that is not a secret, valid UTF-8 or not,
 * comes out byte for byte. Lines split across chunks are joined; multi-line blocks (private keys) carry over chunk
 * boundaries in the redactors' state. Memory stays bounded: a line longer than `maxLineBytes` (1 MiB) is redacted
 * in pieces cut at a separator where no key is left waiting for its value, and a stretch with no such separator is
 * dropped with a visible marker rather than buffered.
 */
import { Transform } from 'node:stream';
import { RedactionEngine } from './engine.ts';
import { resolveRedactors } from './redactors.ts';

const MiB = 1024 * 1024;
/** Input is handled in windows of this size so a producer's 100 MB chunk does not become one 100 MB string. */
const WINDOW = 256 * 1024;
/** How far back from the limit a long line may be cut. */
const CUT_SEARCH = 64 * 1024;
/** Separators a long line may be cut after, best first: list and field separators before blanks. */
const CUT_SEPARATORS = [',', ';', '\0', '&', ' ', '\t'];
const CUT_TRIES = 32;
/** Text that ends with a key still waiting for its value: a cut right after it would split the secret off. */
const DANGLING_KEY =
  /(?:pass\w*|pwd|secret\w*|token|key|credential\w*|bearer|basic|authorization|signature|cookie|-data|-p|-a)["'\\]*[ \t]*[:=]?[ \t"',]*$|[:=][ \t"']*$/i;

export interface RedactorOptions {
  /** Longest line kept whole (default 1 MiB). */
  maxLineBytes?: number;
}

export interface RedactorStream {
  transform: Transform;
  /** Secrets replaced so far (the manifest's `redactions`). */
  count(): number;
  /** Replacements by redactor name. */
  counts(): Record<string, number>;
  /** Bytes dropped from over-long lines that had no safe place to cut. */
  droppedBytes(): number;
}

/** A redacting Transform with the default redactors plus the named extras or profiles. */
export function createRedactor(names?: readonly string[], options: RedactorOptions = {}): RedactorStream {
  const engine = new RedactionEngine(resolveRedactors(names));
  const maxLine = Math.max(256, options.maxLineBytes ?? MiB);
  let carry = '';
  let dropped = 0;

  const emitLine = (line: string, out: string[], newline: boolean) => {
    const redacted = engine.line(line);
    // A dropped line (private key body) goes with its newline.
    if (redacted !== null) out.push(newline ? `${redacted}\n` : redacted);
  };

  /** Emits pieces off the front of an over-long line until what is left fits; returns what is left. */
  const emitPieces = (text: string, out: string[]): string => {
    let rest = text;
    while (rest.length > maxLine) {
      const cut = safeCut(rest, maxLine);
      if (cut > 0) {
        emitLine(rest.slice(0, cut), out, false);
        rest = rest.slice(cut);
      } else {
        dropped += maxLine;
        out.push(
          `[eks-node-diag: ${maxLine} bytes of an over-long line dropped: no safe place to cut it for redaction]`,
        );
        rest = rest.slice(maxLine);
      }
    }
    return rest;
  };

  /** Complete lines, each ending in a newline: passed through whole when no redactor's gate opens. */
  const emitBlock = (block: string, out: string[]) => {
    const lower = block.toLowerCase();
    const active = engine.active(lower);
    if (active.length === 0) {
      out.push(block);
      return;
    }
    let start = 0;
    while (start < block.length) {
      const end = block.indexOf('\n', start);
      const line = block.slice(start, end);
      if (line.length > maxLine) emitLine(emitPieces(line, out), out, true);
      else {
        const redacted = engine.line(line, lower.slice(start, end), active);
        if (redacted !== null) out.push(`${redacted}\n`);
      }
      start = end + 1;
    }
  };

  const feed = (text: string, out: string[]) => {
    const firstNewline = text.indexOf('\n');
    if (firstNewline === -1) {
      carry += text;
      if (carry.length > maxLine) carry = emitPieces(carry, out);
      return;
    }
    const first = carry + text.slice(0, firstNewline);
    carry = '';
    emitLine(first.length > maxLine ? emitPieces(first, out) : first, out, true);
    const lastNewline = text.lastIndexOf('\n');
    if (lastNewline > firstNewline) emitBlock(text.slice(firstNewline + 1, lastNewline + 1), out);
    carry = text.slice(lastNewline + 1);
    if (carry.length > maxLine) carry = emitPieces(carry, out);
  };

  const transform = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        const out: string[] = [];
        for (let offset = 0; offset < chunk.length; offset += WINDOW) {
          feed(chunk.toString('latin1', offset, Math.min(chunk.length, offset + WINDOW)), out);
        }
        if (out.length > 0) this.push(Buffer.from(out.join(''), 'latin1'));
        done();
      } catch (error) {
        done(error as Error);
      }
    },
    flush(done) {
      try {
        const out: string[] = [];
        if (carry.length > 0) emitLine(emitPieces(carry, out), out, false);
        carry = '';
        if (out.length > 0) this.push(Buffer.from(out.join(''), 'latin1'));
        done();
      } catch (error) {
        done(error as Error);
      }
    },
  });

  return {
    transform,
    count: () => engine.total,
    counts: () => engine.counts(),
    droppedBytes: () => dropped,
  };
}

/**
 * Where to cut an over-long line at or before `limit`: just after a separator, where the text before does not end
 * in a key waiting for its value. 0 when there is no such place within CUT_SEARCH of the limit.
 */
export function safeCut(text: string, limit: number): number {
  const floor = Math.max(1, limit - CUT_SEARCH);
  for (const separator of CUT_SEPARATORS) {
    let index = text.lastIndexOf(separator, limit - 1);
    for (let tries = 0; tries < CUT_TRIES && index >= floor - 1; tries++) {
      const cut = index + 1;
      if (!DANGLING_KEY.test(text.slice(Math.max(0, cut - 96), cut))) return cut;
      index = text.lastIndexOf(separator, index - 1);
    }
  }
  return 0;
}
