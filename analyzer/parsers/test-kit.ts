/**
 * Helpers shared by the parser tests: run a parser over a whole input the way the engine does, pick events by kind,
 * and read the sample that a parser module documents in its header comment (so the documented example is the one
 * tested and cannot go stale). Imports vitest, so only tests may use it.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { ParseContext, ParserDef, UnparsedEvent } from './types.ts';

/** Creates the parser, pushes each line with its 1-based number, calls `end` and returns every event in order. */
export function parseLines<E>(def: ParserDef<E>, input: string | string[], context?: ParseContext): E[] {
  const parser = def.create(context);
  const events: E[] = [];
  const emit = (event: E) => events.push(event);
  const lines = typeof input === 'string' ? input.split('\n') : input;
  lines.forEach((raw, index) => {
    parser.push(raw, index + 1, emit);
  });
  parser.end?.(emit);
  return events;
}

/** The events of one kind, typed as that member of the union. */
export function ofKind<E extends { kind: string }, K extends E['kind']>(
  events: E[],
  kind: K,
): Extract<E, { kind: K }>[] {
  return events.filter((event): event is Extract<E, { kind: K }> => event.kind === kind);
}

/** Parses one line that must yield exactly one event, and returns its `unparsed` reason (undefined if it parsed). */
export function unparsedReason<E extends { kind: string }>(def: ParserDef<E>, raw: string): string | undefined {
  const events = parseLines(def, [raw]);
  expect(events).toHaveLength(1);
  const [event] = events;
  return event !== undefined && isUnparsed(event) ? event.reason : undefined;
}

function isUnparsed<E extends { kind: string }>(event: E): event is E & UnparsedEvent {
  return event.kind === 'unparsed';
}

const SAMPLE_INDENT = ' *   ';
const BLANK_COMMENT_LINE = ' *';

/**
 * The sample lines of a module's header comment (the doc comment the file opens with): every line after the one
 * that begins ` * <marker>`, up to the end of the comment, with the ` *   ` indentation removed. A bare ` *` inside the
 * sample is a blank sample line (top's output has one). Any other line there is a documentation mistake, so it
 * throws rather than handing the test a mangled sample.
 */
export function headerSample(moduleUrl: URL, marker = 'Sample'): string[] {
  const source = readFileSync(moduleUrl, 'utf8');
  const commentEnd = source.indexOf('\n */');
  if (commentEnd === -1) throw new Error(`${moduleUrl.pathname} has no header comment`);
  const headerLines = source.slice(0, commentEnd).split('\n');
  const markerIndex = headerLines.findIndex((line) => line.startsWith(` * ${marker}`));
  if (markerIndex === -1) throw new Error(`${moduleUrl.pathname}: no line starting "${marker}" in the header comment`);
  return headerLines.slice(markerIndex + 1).map((line) => {
    if (line.startsWith(SAMPLE_INDENT)) return line.slice(SAMPLE_INDENT.length);
    if (line === BLANK_COMMENT_LINE) return '';
    throw new Error(`${moduleUrl.pathname}: header sample line is not indented as a sample: ${JSON.stringify(line)}`);
  });
}
