import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type PsiFileEvent, psiParser } from './psi.ts';

function parse(text: string): PsiFileEvent[] {
  const parser = psiParser.create();
  const events: PsiFileEvent[] = [];
  const emit = (event: PsiFileEvent) => events.push(event);
  text.split('\n').forEach((raw, index) => {
    parser.push(raw, index + 1, emit);
  });
  parser.end?.(emit);
  return events;
}

/** The sample in the module's header comment: the documented example is the one tested. */
function headerSample(): string {
  const source = readFileSync(new URL('./psi.ts', import.meta.url), 'utf8');
  const start = source.indexOf(' * Sample (parsed by the test):');
  const block = source.slice(source.indexOf('\n', start) + 1, source.indexOf('\n */', start));
  return block
    .split('\n')
    .map((line) => line.slice(5))
    .join('\n');
}

describe('psiParser', () => {
  it('parses the header sample', () => {
    expect(parse(headerSample())).toEqual([
      {
        kind: 'psi',
        line: 1,
        raw: 'some avg10=12.34 avg60=8.05 avg300=2.71 total=123456',
        scope: 'some',
        avg10: 12.34,
        avg60: 8.05,
        avg300: 2.71,
        totalUs: 123456,
      },
      {
        kind: 'psi',
        line: 2,
        raw: 'full avg10=0.00 avg60=0.00 avg300=0.00 total=0',
        scope: 'full',
        avg10: 0,
        avg60: 0,
        avg300: 0,
        totalUs: 0,
      },
    ]);
  });

  it('reads a pre-5.13 cpu file with only a some line and a large total', () => {
    const events = parse('some avg10=97.52 avg60=91.20 avg300=64.18 total=98765432101\n');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ scope: 'some', avg10: 97.52, totalUs: 98765432101 });
  });

  it('explains a kernel with PSI disabled and marks other malformed lines', () => {
    const events = parse(
      [
        'cat: /proc/pressure/memory: Operation not supported',
        'some avg10=1.00 avg60=1.00 total=5',
        'partial avg10=0.00 avg60=0.00 avg300=0.00 total=0',
      ].join('\n'),
    );
    expect(events.map((event) => event.kind)).toEqual(['unparsed', 'unparsed', 'unparsed']);
    expect(events[0]).toMatchObject({ line: 1, reason: expect.stringContaining('PSI is disabled') });
    expect(events[1]).toMatchObject({ line: 2, reason: expect.stringContaining('avg300') });
  });
});
