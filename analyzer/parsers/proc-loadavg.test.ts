import { describe, expect, it } from 'vitest';
import { procLoadavgParser } from './proc-loadavg.ts';
import { headerSample, parseLines } from './test-kit.ts';

describe('procLoadavgParser', () => {
  it('parses the header sample', () => {
    expect(parseLines(procLoadavgParser, headerSample(new URL('./proc-loadavg.ts', import.meta.url)))).toEqual([
      {
        kind: 'loadavg',
        line: 1,
        raw: '0.52 0.58 0.59 2/345 12345',
        load1: 0.52,
        load5: 0.58,
        load15: 0.59,
        running: 2,
        total: 345,
        lastPid: 12345,
      },
    ]);
  });

  it('reads a loaded node with large counts and skips the trailing blank line', () => {
    const events = parseLines(procLoadavgParser, '17.94 12.03 8.61 19/2087 4193999\n');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'loadavg', load1: 17.94, running: 19, total: 2087, lastPid: 4193999 });
  });

  it('marks malformed lines unparsed instead of throwing', () => {
    const events = parseLines(
      procLoadavgParser,
      '0.52 0.58\ncat: /proc/loadavg: No such file or directory\n0,52 0,58 0,59 2/345 1',
    );
    expect(events.map((event) => event.kind)).toEqual(['unparsed', 'unparsed', 'unparsed']);
    expect(events[1]).toMatchObject({ line: 2, reason: expect.stringContaining('<running>/<total>') });
  });
});
