/**
 * Runs a set of redactors over lines, with the cheap gates first: a whole block of lines that contains none of
 * the scan substrings (most log text) is passed through without looking at single lines, and a line reaches a
 * redactor's regexes only if it holds one of that redactor's substrings or the redactor is inside a block.
 */
import { type Redactor, resolveRedactors } from './redactors.ts';
import type { Redaction } from './syntax.ts';

export class RedactionEngine {
  readonly #redactors: readonly Redactor[];
  readonly #counts = new Map<string, number>();
  #total = 0;

  /** Every scan substring at once, longest first: one regex pass over a block is far cheaper than an includes each. */
  readonly #gate: RegExp;
  /** For each substring, the substrings it contains (itself too): finding `password` also finds `pass`. */
  readonly #implied = new Map<string, string[]>();

  constructor(redactors: readonly Redactor[]) {
    this.#redactors = redactors;
    const substrings = [...new Set(redactors.flatMap((redactor) => redactor.scan))].sort((a, b) => b.length - a.length);
    for (const substring of substrings) {
      this.#implied.set(
        substring,
        substrings.filter((other) => substring.includes(other)),
      );
    }
    const alternatives = substrings.map((substring) => substring.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.#gate = new RegExp(alternatives.length > 0 ? alternatives.join('|') : '(?!)', 'g');
  }

  /** Replacements so far. */
  get total(): number {
    return this.#total;
  }

  /** Replacements so far by redactor name (only those that replaced something). */
  counts(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  /**
   * The redactors that may act on some line of `lower` (a block of lines, lowercased): those whose substrings it
   * holds, those inside a block, those without a gate. An empty list means the block passes through as it is.
   */
  active(lower: string): readonly Redactor[] {
    const found = new Set<string>();
    const gate = this.#gate;
    gate.lastIndex = 0;
    for (let match = gate.exec(lower); match !== null; match = gate.exec(lower)) {
      for (const substring of this.#implied.get(match[0]) ?? []) found.add(substring);
      // Resume one character on: a substring may start inside this match and run past it.
      gate.lastIndex = match.index + 1;
    }
    return this.#redactors.filter(
      (redactor) =>
        redactor.scan.length === 0 || redactor.holding?.() || redactor.scan.some((substring) => found.has(substring)),
    );
  }

  /**
   * One line without its newline; returns the redacted line, or null when the line is dropped (the body of a
   * private key). `lower` is the line lowercased when the caller has it; `among` narrows the redactors tried.
   */
  line(line: string, lower = line.toLowerCase(), among: readonly Redactor[] = this.#redactors): string | null {
    // Values stop before a carriage return, and it goes back on the line unchanged.
    const carriage = line.endsWith('\r');
    let text: string | null = carriage ? line.slice(0, -1) : line;
    for (const redactor of among) {
      if (text === null) break;
      const gated = redactor.scan.length > 0 && !redactor.holding?.();
      if (gated && !redactor.scan.some((substring) => lower.includes(substring))) continue;
      const result: Redaction = redactor.apply(text);
      if (result.count > 0) {
        this.#total += result.count;
        this.#counts.set(redactor.name, (this.#counts.get(redactor.name) ?? 0) + result.count);
      }
      text = result.line;
    }
    if (text === null) return null;
    return carriage ? `${text}\r` : text;
  }
}

/** Redacts a whole text in memory (manifest reasons, stderr tails): the same redactors as a stream, same result. */
export function redactText(text: string, names: readonly string[] = []): { text: string; count: number } {
  const engine = new RedactionEngine(resolveRedactors(names));
  const lines = text.split('\n');
  let out = '';
  lines.forEach((line, index) => {
    const redacted = engine.line(line);
    // As in the stream, a dropped line goes with its own newline.
    if (redacted !== null) out += index < lines.length - 1 ? `${redacted}\n` : redacted;
  });
  return { text: out, count: engine.total };
}
