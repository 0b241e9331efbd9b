import { describe, expect, it } from 'vitest';
import { psiParser } from './psi.ts';
import { headerSample, parseLines } from './test-kit.ts';

describe('psiParser', () => {
  it('parses the header sample', () => {
    expect(parseLines(psiParser, headerSample(new URL('./psi.ts', import.meta.url)))).toEqual([
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
    const events = parseLines(psiParser, 'some avg10=97.52 avg60=91.20 avg300=64.18 total=98765432101\n');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ scope: 'some', avg10: 97.52, totalUs: 98765432101 });
  });

  it('explains a kernel with PSI disabled and marks other malformed lines', () => {
    const events = parseLines(
      psiParser,
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
