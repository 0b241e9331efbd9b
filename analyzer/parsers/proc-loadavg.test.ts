import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ProcLoadavgEvent, procLoadavgParser } from './proc-loadavg.ts';

function parse(text: string): ProcLoadavgEvent[] {
  const parser = procLoadavgParser.create();
  const events: ProcLoadavgEvent[] = [];
  const emit = (event: ProcLoadavgEvent) => events.push(event);
  text.split('\n').forEach((raw, index) => {
    parser.push(raw, index + 1, emit);
  });
  parser.end?.(emit);
  return events;
}

/** The sample in the module's header comment: the documented example is the one tested. */
function headerSample(): string {
  const source = readFileSync(new URL('./proc-loadavg.ts', import.meta.url), 'utf8');
  const start = source.indexOf(' * Sample (parsed by the test):');
  const block = source.slice(source.indexOf('\n', start) + 1, source.indexOf('\n */', start));
  return block
    .split('\n')
    .map((line) => line.slice(5))
    .join('\n');
}

describe('procLoadavgParser', () => {
  it('parses the header sample', () => {
    expect(parse(headerSample())).toEqual([
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
    const events = parse('17.94 12.03 8.61 19/2087 4193999\n');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'loadavg', load1: 17.94, running: 19, total: 2087, lastPid: 4193999 });
  });

  it('marks malformed lines unparsed instead of throwing', () => {
    const events = parse('0.52 0.58\ncat: /proc/loadavg: No such file or directory\n0,52 0,58 0,59 2/345 1');
    expect(events.map((event) => event.kind)).toEqual(['unparsed', 'unparsed', 'unparsed']);
    expect(events[1]).toMatchObject({ line: 2, reason: expect.stringContaining('<running>/<total>') });
  });
});
