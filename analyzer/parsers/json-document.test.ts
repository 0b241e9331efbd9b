import { describe, expect, it } from 'vitest';
import { jsonDocumentParser, splitJsonValues } from './json-document.ts';
import { headerSample, parseLines } from './test-kit.ts';

describe('jsonDocumentParser', () => {
  it('parses the header sample as one document', () => {
    const events = parseLines(jsonDocumentParser, headerSample(new URL('./json-document.ts', import.meta.url)));
    expect(events).toEqual([
      { kind: 'document', line: 1, raw: '', value: { 0: { TotalIPs: 29, AssignedIPs: 1, ENIs: {} } } },
    ]);
  });

  it('reads documents the stock collector appended one after another', () => {
    const events = parseLines(jsonDocumentParser, '{"a":1}\n{"AvailableCommands":["/v1/enis"]}\n"default"\n');
    expect(events.map((event) => (event.kind === 'document' ? event.value : event.reason))).toEqual([
      { a: 1 },
      { AvailableCommands: ['/v1/enis'] },
      'default',
    ]);
  });

  it('reports broken JSON and keeps the documents before it', () => {
    const events = parseLines(jsonDocumentParser, '{"ok":true}\n{"cut": [1, 2');
    expect(events[0]).toMatchObject({ kind: 'document', value: { ok: true } });
    expect(events[1]).toMatchObject({ kind: 'unparsed' });
  });

  it('emits nothing for an empty body (endpoint did not answer)', () => {
    expect(parseLines(jsonDocumentParser, '\n\n')).toEqual([]);
  });

  it('handles braces and escaped quotes inside strings', () => {
    expect(splitJsonValues('{"s":"a}\\"{b"} [1,"]"]').values.map((v) => v.value)).toEqual([{ s: 'a}"{b' }, [1, ']']]);
  });

  it('reports junk', () => {
    const events = parseLines(jsonDocumentParser, 'curl: (7) Failed to connect to localhost port 61679');
    expect(events.at(-1)?.kind).toBe('unparsed');
  });
});
