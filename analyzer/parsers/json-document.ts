/**
 * A whole JSON document (introspection responses such as `ipamd/enis.json`, the ipamd checkpoint, `ctr container
 * info` output, pod lists). JSON cannot be judged line by line, so the lines are gathered up to a byte budget and
 * parsed once at the end; a document over the budget, or not valid JSON, becomes one `unparsed` event with the reason.
 *
 * The stock collector appends (`>>`) each curl response, so a file can hold several documents one after another,
 * or an empty body when the endpoint did not answer; every top-level value becomes its own `document` event.
 *
 * Sample (parsed by the test):
 *   {"0":{"TotalIPs":29,"AssignedIPs":1,
 *    "ENIs":{}}}
 */
import type { LineEvent, ParserDef } from './types.ts';

export interface JsonDocumentEvent extends LineEvent {
  kind: 'document';
  /** The parsed value, not validated: readers check the shape they expect. */
  value: unknown;
}

export interface JsonUnparsedEvent extends LineEvent {
  kind: 'unparsed';
  reason: string;
}

export type JsonEvent = JsonDocumentEvent | JsonUnparsedEvent;

/** Largest document parsed; a larger one is reported, not parsed (memory stays bounded). */
export const MAX_JSON_DOCUMENT_BYTES = 64 * 1024 * 1024;

/** Splits text holding one or more concatenated top-level JSON values; returns the values and any bad remainder. */
export function splitJsonValues(text: string): { values: { value: unknown; offset: number }[]; error?: string } {
  const values: { value: unknown; offset: number }[] = [];
  let at = 0;
  while (at < text.length) {
    while (at < text.length && /\s/.test(text[at] as string)) at++;
    if (at >= text.length) break;
    const end = valueEnd(text, at);
    if (end === -1) {
      return { values, error: `not valid JSON from character ${at}` };
    }
    try {
      values.push({ value: JSON.parse(text.slice(at, end)), offset: at });
    } catch (error) {
      return { values, error: (error as Error).message };
    }
    at = end;
  }
  return { values };
}

/** End of the JSON value starting at `start`: balanced brackets for objects/arrays, else up to whitespace. */
function valueEnd(text: string, start: number): number {
  const open = text[start];
  if (open !== '{' && open !== '[') {
    if (open === '"') {
      for (let i = start + 1; i < text.length; i++) {
        if (text[i] === '\\') i++;
        else if (text[i] === '"') return i + 1;
      }
      return -1;
    }
    let i = start;
    while (i < text.length && !/[\s{[]/.test(text[i] as string)) i++;
    return i;
  }
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

export const jsonDocumentParser: ParserDef<JsonEvent> = {
  name: 'json-document',
  create() {
    const parts: string[] = [];
    let bytes = 0;
    let tooLarge = false;
    let firstLine = 0;
    return {
      push(raw, line) {
        if (tooLarge) return;
        if (firstLine === 0) firstLine = line;
        bytes += raw.length + 1;
        if (bytes > MAX_JSON_DOCUMENT_BYTES) {
          tooLarge = true;
          parts.length = 0;
          return;
        }
        parts.push(raw);
      },
      end(emit) {
        if (tooLarge) {
          emit({
            kind: 'unparsed',
            line: firstLine,
            raw: '',
            reason: `document larger than ${MAX_JSON_DOCUMENT_BYTES} bytes; not parsed`,
          });
          return;
        }
        const text = parts.join('\n');
        if (text.trim() === '') return;
        const { values, error } = splitJsonValues(text);
        for (const { value } of values) {
          emit({ kind: 'document', line: firstLine, raw: '', value });
        }
        if (error) emit({ kind: 'unparsed', line: firstLine, raw: text.slice(0, 200), reason: error });
      },
    };
  },
};
