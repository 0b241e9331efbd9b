import { describe, expect, it } from 'vitest';
import { type CriLogEntry, criLogParser, MAX_JOINED_CHARS, MAX_JOINED_PARTS, zapObject } from './cri-log.ts';
import { headerSample, ofKind, parseLines, unparsedReason } from './test-kit.ts';

function entries(lines: string[]): CriLogEntry[] {
  return ofKind(parseLines(criLogParser, lines), 'entry');
}

function only(raw: string): CriLogEntry {
  const events = parseLines(criLogParser, [raw]);
  expect(events).toHaveLength(1);
  const [event] = events;
  if (event?.kind !== 'entry') throw new Error(`expected an entry, got ${JSON.stringify(event)}`);
  return event;
}

describe('criLogParser: the header sample', () => {
  it('parses every sample line, joining the partial pair', () => {
    const sample = headerSample(new URL('./cri-log.ts', import.meta.url));
    expect(sample).toHaveLength(5);
    const events = parseLines(criLogParser, sample);
    expect(events.map((event) => event.kind)).toEqual(['entry', 'entry', 'entry', 'entry']);
    const [entrypoint, joined, plain, docker] = events as CriLogEntry[];
    expect(entrypoint).toMatchObject({ line: 1, stream: 'stdout', json: { caller: 'entrypoint.sh' } });
    expect(joined).toMatchObject({
      line: 2,
      endLine: 3,
      stream: 'stderr',
      time: '2024-03-10T17:25:09.101000000Z',
      json: { logger: 'ebpf-client', msg: 'BPF map update failed', error: 'argument list too long' },
    });
    expect(plain).toMatchObject({ line: 4, message: 'Copying CNI plugin binaries ...' });
    expect(plain).not.toHaveProperty('json');
    expect(docker).toMatchObject({
      line: 5,
      stream: 'stdout',
      time: '2022-02-04T22:24:55.014816383Z',
      json: { msg: 'Retrying waiting for IPAM-D' },
    });
  });
});

describe('criLogParser: CRI lines', () => {
  it('reads time, stream and message, keeping the message exactly as written', () => {
    const raw = '2024-03-10T17:25:08.487123456Z stdout F   indented text with trailing space ';
    expect(only(raw)).toEqual({
      kind: 'entry',
      line: 1,
      raw,
      time: '2024-03-10T17:25:08.487123456Z',
      stream: 'stdout',
      message: '  indented text with trailing space ',
    });
  });

  it('accepts CRI-O offsets, extra tags and an empty message', () => {
    expect(only('2024-03-10T17:25:08.487123456+00:00 stderr F:x hello')).toMatchObject({
      stream: 'stderr',
      message: 'hello',
    });
    expect(only('2024-03-10T17:25:08Z stdout F')).toMatchObject({ message: '' });
    expect(only('2024-03-10T17:25:08Z stdout F ')).toMatchObject({ message: '' });
  });

  it('decodes zap JSON and leaves other braces alone', () => {
    const zap =
      '2025-01-20T10:00:00.000000001Z stdout F {"level":"info","ts":"2025-01-20T10:00:00.000Z","logger":"setup","caller":"main.go:120","msg":"starting manager"}';
    expect(only(zap).json).toEqual({
      level: 'info',
      ts: '2025-01-20T10:00:00.000Z',
      logger: 'setup',
      caller: 'main.go:120',
      msg: 'starting manager',
    });
    expect(only('2025-01-20T10:00:00Z stdout F {"hello":"world"}').json).toBeUndefined();
    expect(only('2025-01-20T10:00:00Z stdout F {not json}').json).toBeUndefined();
    expect(only('2025-01-20T10:00:00Z stdout F [{"msg":"array"}]').json).toBeUndefined();
    expect(zapObject('  {"level":"warn"}  ')).toEqual({ level: 'warn' });
  });

  it('joins P lines per stream even when the other stream interleaves', () => {
    const events = entries([
      '2024-03-10T17:25:09.1Z stdout P out-1 ',
      '2024-03-10T17:25:09.2Z stderr F whole error line',
      '2024-03-10T17:25:09.3Z stdout P out-2 ',
      '2024-03-10T17:25:09.4Z stdout F out-3',
    ]);
    expect(events.map((event) => [event.line, event.stream, event.message, event.endLine])).toEqual([
      [2, 'stderr', 'whole error line', undefined],
      [1, 'stdout', 'out-1 out-2 out-3', 4],
    ]);
    expect(events[1]?.raw).toBe('2024-03-10T17:25:09.1Z stdout P out-1 ');
  });

  it('bounds a joined record and drops the rest up to the F line', () => {
    const parts = Array.from(
      { length: MAX_JOINED_PARTS + 5 },
      (_, index) => `2024-03-10T17:25:09Z stdout P ${String(index).padStart(3, '0')}`,
    );
    const events = entries([...parts, '2024-03-10T17:25:09Z stdout F end', '2024-03-10T17:25:10Z stdout F next']);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ line: 1, endLine: MAX_JOINED_PARTS + 6, truncated: true });
    expect(events[0]?.message).toHaveLength(MAX_JOINED_PARTS * 3);
    expect(events[0]?.message.endsWith('end')).toBe(false);
    expect(events[1]).toMatchObject({ line: MAX_JOINED_PARTS + 7, message: 'next' });

    const huge = 'x'.repeat(MAX_JOINED_CHARS - 10);
    const capped = entries([`2024-03-10T17:25:09Z stdout P ${huge}`, '2024-03-10T17:25:09Z stdout F more than ten']);
    expect(capped[0]).toMatchObject({ truncated: true });
    expect(capped[0]?.message).toBe(huge);
  });

  it('emits an unfinished record as incomplete at a gap in line numbers and at the end', () => {
    const parser = criLogParser.create();
    const events: unknown[] = [];
    const emit = (event: unknown) => events.push(event);
    parser.push('2024-03-10T17:25:09Z stdout P start of a record', 10, emit);
    // Line 11 was not delivered (prefilter): line 12 cannot continue the record.
    parser.push('2024-03-10T17:25:10Z stdout P another record', 12, emit);
    parser.end?.(emit);
    expect(events).toEqual([
      expect.objectContaining({ line: 10, message: 'start of a record', incomplete: true }),
      expect.objectContaining({ line: 12, message: 'another record', incomplete: true }),
    ]);
  });
});

describe('criLogParser: docker json-file lines', () => {
  it('strips the newline of a full line and joins partial ones', () => {
    const events = entries([
      '{"log":"first half, ","stream":"stderr","time":"2022-02-04T22:24:55.000000001Z"}',
      '{"log":"second half\\n","stream":"stderr","time":"2022-02-04T22:24:55.000000002Z"}',
      '{"log":"alone\\n","stream":"stdout","time":"2022-02-04T22:24:56Z"}',
    ]);
    expect(events.map((event) => [event.line, event.message, event.endLine])).toEqual([
      [1, 'first half, second half', 2],
      [3, 'alone', undefined],
    ]);
  });
});

describe('criLogParser: malformed input', () => {
  it('names what is wrong with each bad line', () => {
    expect(unparsedReason(criLogParser, '')).toBe('empty line');
    expect(unparsedReason(criLogParser, 'Copying CNI plugin binaries ...')).toMatch(/neither a CRI log line/);
    expect(unparsedReason(criLogParser, 'Nov 20 08:41:07 stdout F text')).toMatch(/neither a CRI log line/);
    expect(unparsedReason(criLogParser, '2024-03-10T17:25:08Z stdin F text')).toBe(
      'CRI line with an unknown stream "stdin"',
    );
    expect(unparsedReason(criLogParser, '2024-03-10T17:25:08Z stdout X text')).toBe('CRI line with an unknown tag "X"');
    expect(unparsedReason(criLogParser, '2024-03-10T17:25:08Z stdout')).toBe('CRI line without a tag');
    expect(unparsedReason(criLogParser, '{"log":"cut by the reader')).toBe('JSON line cut short (no closing brace)');
    expect(unparsedReason(criLogParser, '{"log": nope}')).toBe('invalid JSON');
    expect(unparsedReason(criLogParser, '{"stream":"stdout","time":"x"}')).toBe(
      'docker json-file line without a string "log"',
    );
    expect(unparsedReason(criLogParser, '{"log":"x\\n","stream":"console"}')).toMatch(/stdout\/stderr/);
  });

  it('keeps good lines around bad ones', () => {
    const events = parseLines(criLogParser, [
      '2024-03-10T17:25:08Z stdout F before',
      'garbage',
      '2024-03-10T17:25:09Z stdout F after',
    ]);
    expect(events.map((event) => event.kind)).toEqual(['entry', 'unparsed', 'entry']);
  });
});
