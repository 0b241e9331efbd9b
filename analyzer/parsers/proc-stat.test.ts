import { describe, expect, it } from 'vitest';
import { procStatParser } from './proc-stat.ts';
import { headerSample, parseLines } from './test-kit.ts';

const HEADER_SAMPLE = headerSample(new URL('./proc-stat.ts', import.meta.url));

// A 2-vCPU node on kernel 5.10 with steal time, as `cat /proc/stat` writes it.
const NODE = `cpu  2255 34 2290 22625563 6290 127 456 1911 0 0
cpu0 1132 34 1441 11311718 3675 127 438 957 0 0
cpu1 1123 0 849 11313845 2614 0 18 954 0 0
intr 114930548 113199788 3 0 5 263 0 4 [... 1000 more columns ...]
ctxt 1990473
btime 1062191376
processes 2915
procs_running 1
procs_blocked 0
softirq 183433 0 21755 12 39 1137 231 21459 2263 0 96537`;

describe('procStatParser', () => {
  it('parses the header sample', () => {
    const events = parseLines(procStatParser, HEADER_SAMPLE);
    expect(events).toEqual([
      {
        kind: 'cpu',
        line: 1,
        raw: 'cpu  10132153 290696 3084719 46828483 16683 0 25195 0 0 0',
        cpu: 'cpu',
        user: 10132153,
        nice: 290696,
        system: 3084719,
        idle: 46828483,
        iowait: 16683,
        irq: 0,
        softirq: 25195,
        steal: 0,
        guest: 0,
        guestNice: 0,
      },
      expect.objectContaining({ kind: 'cpu', cpu: 'cpu0', index: 0, user: 1393280, idle: 13343292 }),
      { kind: 'counter', line: 4, raw: 'ctxt 1990473', key: 'ctxt', value: 1990473 },
      { kind: 'counter', line: 5, raw: 'procs_running 3', key: 'procs_running', value: 3 },
      { kind: 'summary', line: 0, raw: '', cpuCount: 1, procsRunning: 3 },
    ]);
  });

  it('reads a whole node file: steal, counters and a summary with btime', () => {
    const events = parseLines(procStatParser, NODE);
    expect(events.filter((event) => event.kind === 'unparsed')).toEqual([]);
    const cpu1 = events.find((event) => event.kind === 'cpu' && event.cpu === 'cpu1');
    expect(cpu1).toMatchObject({ index: 1, steal: 954, line: 3 });
    expect(events.filter((event) => event.kind === 'counter').map((event) => event.key)).toEqual([
      'ctxt',
      'btime',
      'processes',
      'procs_running',
      'procs_blocked',
    ]);
    expect(events.at(-1)).toEqual({
      kind: 'summary',
      line: 0,
      raw: '',
      cpuCount: 2,
      procsRunning: 1,
      procsBlocked: 0,
      btime: 1062191376,
    });
  });

  it('keeps missing columns of older kernels absent', () => {
    const [cpu] = parseLines(procStatParser, 'cpu  2255 34 2290 22625563 6290 127 456');
    expect(cpu).toMatchObject({ kind: 'cpu', iowait: 6290, irq: 127, softirq: 456 });
    expect(cpu).not.toHaveProperty('steal');
    expect(cpu).not.toHaveProperty('guestNice');
    const [oldest] = parseLines(procStatParser, 'cpu0 1 2 3 4');
    expect(oldest).toMatchObject({ kind: 'cpu', index: 0, idle: 4 });
    expect(oldest).not.toHaveProperty('iowait');
  });

  it('ignores 2.4-era lines and marks malformed ones unparsed', () => {
    const events = parseLines(
      procStatParser,
      [
        'page 5741 1808',
        'disk_io: (3,0):(2,2,16,0,0)',
        'cpu 1 2 3',
        'cpu7 1 2 x 4',
        'cpux 1 2 3 4',
        'ctxt',
        'procs_blocked -1',
        'timeout: failed to run command',
      ].join('\n'),
    );
    expect(events.map((event) => (event.kind === 'unparsed' ? event.line : event.kind))).toEqual([3, 4, 5, 6, 7, 8]);
    expect(events[0]).toMatchObject({ reason: 'expected 4 to 10 tick columns, found 3' });
    expect(events[1]).toMatchObject({ reason: 'tick column 3 is not a number' });
  });
});
