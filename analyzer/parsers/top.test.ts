import { describe, expect, it } from 'vitest';
import { headerSample, ofKind, parseLines } from './test-kit.ts';
import { topParser } from './top.ts';

// procps-ng 4 on AL2023: the header sample plus more rows.
const AL2023 = `top - 10:02:11 up 12 days,  3:04,  0 users,  load average: 7.90, 6.12, 4.01
Tasks: 312 total,   9 running, 303 sleeping,   0 stopped,   0 zombie
%Cpu(s): 72.4 us, 20.1 sy,  0.0 ni,  5.2 id,  0.3 wa,  0.0 hi,  1.6 si,  0.4 st
MiB Mem :  15739.4 total,    491.4 free,  12598.9 used,   2649.9 buff/cache
MiB Swap:      0.0 total,      0.0 free,      0.0 used.   2791.4 avail Mem

    PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND
   4242 root      20   0 1502348 123456  45678 R  98.0   0.8 123:45.67 aws-k8s-agent
 812345 1000      20   0   12.3g   1.2g 512m   S  45.5   7.6   2345:12 java
     17 root      rt   0       0      0      0 S   0.0   0.0   0:01.02 migration/1
   3001 root      20   0  712104  41236  28812 S   0.0   0.3   1:02.33 tmux: server`;

// procps-ng 3.3 on AL2 (KiB units, 5-wide PID) with per-CPU lines.
const AL2 = `top - 23:59:01 up 5 min,  1 user,  load average: 0.52, 0.58, 0.59
Tasks: 120 total,   1 running, 119 sleeping,   0 stopped,   0 zombie
%Cpu0  :  2.0 us,  1.0 sy,  0.0 ni, 96.0 id,  1.0 wa,  0.0 hi,  0.0 si,  0.0 st
%Cpu1  :  0.0 us,  0.0 sy,  0.0 ni,100.0 id,  0.0 wa,  0.0 hi,  0.0 si,  0.0 st
KiB Mem :  7865148 total,  5123456 free,  1234567 used,  1507125 buff/cache
KiB Swap:        0 total,        0 free,        0 used.  6312345 avail Mem

  PID USER      PR  NI    VIRT    RES    SHR S  %CPU %MEM     TIME+ COMMAND
    1 root      20   0  191112   4052   2628 S   0.0  0.1   0:03.12 systemd`;

// procps 3.2 (RHEL 6 era): Cpu(s) with %us, Mem:/Swap: with k suffixes and cached on the Swap line.
const OLD = `top - 10:02:11 up 1:02,  2 users,  load average: 1.00, 0.50, 0.25
Tasks:  98 total,   1 running,  97 sleeping,   0 stopped,   0 zombie
Cpu(s):  0.3%us,  0.3%sy,  0.0%ni, 99.3%id,  0.0%wa,  0.0%hi,  0.0%si,  0.1%st
Mem:   3924040k total,  3713452k used,   210588k free,   123456k buffers
Swap:  2097148k total,        0k used,  2097148k free,  2713528k cached`;

describe('topParser', () => {
  it('parses the header sample (procps-ng 4)', () => {
    const sample = parseLines(topParser, headerSample(new URL('./top.ts', import.meta.url)));
    expect(sample.map((event) => event.kind)).toEqual(['uptime', 'tasks', 'cpu', 'memory', 'swap', 'process']);
    const events = parseLines(topParser, AL2023);
    expect(events.slice(0, 6)).toEqual(sample);
    expect(ofKind(events, 'unparsed')).toEqual([]);
    expect(events.slice(0, 5)).toEqual([
      {
        kind: 'uptime',
        line: 1,
        raw: 'top - 10:02:11 up 12 days,  3:04,  0 users,  load average: 7.90, 6.12, 4.01',
        time: '10:02:11',
        upText: '12 days,  3:04',
        upSeconds: 12 * 86_400 + 3 * 3600 + 4 * 60,
        users: 0,
        load1: 7.9,
        load5: 6.12,
        load15: 4.01,
      },
      expect.objectContaining({
        kind: 'tasks',
        of: 'tasks',
        total: 312,
        running: 9,
        sleeping: 303,
        stopped: 0,
        zombie: 0,
      }),
      expect.objectContaining({
        kind: 'cpu',
        cpu: 'cpu',
        us: 72.4,
        sy: 20.1,
        ni: 0,
        id: 5.2,
        wa: 0.3,
        hi: 0,
        si: 1.6,
        st: 0.4,
      }),
      expect.objectContaining({
        kind: 'memory',
        line: 4,
        unit: 'MiB',
        total: 15739.4,
        free: 491.4,
        used: 12598.9,
        buffCache: 2649.9,
      }),
      expect.objectContaining({ kind: 'swap', line: 5, unit: 'MiB', total: 0, free: 0, used: 0, availMem: 2791.4 }),
    ]);
    expect(events[2]).not.toHaveProperty('index');
    expect(ofKind(events, 'process')[0]).toEqual({
      kind: 'process',
      line: 8,
      raw: '   4242 root      20   0 1502348 123456  45678 R  98.0   0.8 123:45.67 aws-k8s-agent',
      pid: 4242,
      user: 'root',
      pr: 20,
      ni: 0,
      virt: '1502348',
      res: '123456',
      shr: '45678',
      virtBytes: 1502348 * 1024,
      resBytes: 123456 * 1024,
      shrBytes: 45678 * 1024,
      state: 'R',
      cpuPercent: 98,
      memPercent: 0.8,
      time: '123:45.67',
      command: 'aws-k8s-agent',
    });
  });

  it('keeps scaled sizes as text with bytes, rt priorities and commands with spaces', () => {
    const [, java, migration, tmux] = ofKind(parseLines(topParser, AL2023), 'process');
    expect(java).toMatchObject({ pid: 812345, user: '1000', virt: '12.3g', res: '1.2g', shr: '512m', time: '2345:12' });
    expect(java?.resBytes).toBe(Math.round(1.2 * 1024 ** 3));
    expect(java?.shrBytes).toBe(512 * 1024 ** 2);
    expect(migration).toMatchObject({ pr: 'rt', command: 'migration/1' });
    expect(tmux).toMatchObject({ command: 'tmux: server', line: 11 });
  });

  it('reads procps-ng 3.3: KiB units, per-CPU lines, "up 5 min" and one user', () => {
    const events = parseLines(topParser, AL2);
    expect(ofKind(events, 'unparsed')).toEqual([]);
    expect(ofKind(events, 'uptime')[0]).toMatchObject({ upText: '5 min', upSeconds: 300, users: 1, load15: 0.59 });
    expect(ofKind(events, 'cpu')).toEqual([
      expect.objectContaining({ cpu: 'cpu0', index: 0, us: 2, wa: 1, line: 3 }),
      expect.objectContaining({ cpu: 'cpu1', index: 1, id: 100, line: 4 }),
    ]);
    expect(ofKind(events, 'memory')[0]).toMatchObject({ unit: 'KiB', total: 7865148, buffCache: 1507125 });
    expect(ofKind(events, 'process')).toHaveLength(1);
  });

  it('reads the procps 3.2 layout and adds the Swap line cached to buffCache', () => {
    const events = parseLines(topParser, OLD);
    expect(events.map((event) => event.kind)).toEqual(['uptime', 'tasks', 'cpu', 'memory', 'swap']);
    expect(events[0]).toMatchObject({ upText: '1:02', upSeconds: 3720, users: 2 });
    expect(events[2]).toMatchObject({ cpu: 'cpu', us: 0.3, id: 99.3, st: 0.1 });
    expect(events[3]).toMatchObject({
      line: 4,
      unit: 'KiB',
      total: 3924040,
      used: 3713452,
      free: 210588,
      buffCache: 123456 + 2713528,
    });
    expect(events[4]).toMatchObject({ line: 5, total: 2097148, free: 2097148, used: 0 });
    expect(events[4]).not.toHaveProperty('availMem');
  });

  it('reads comma decimals, no user count and two CPUs on one line', () => {
    const events = parseLines(
      topParser,
      [
        'top - 08:00:00 up 3 days, 22 min,  load average: 7,90, 6,12, 4,01',
        '%Cpu0  : 10,0 us,  2,0 sy,  0,0 ni, 88,0 id,  0,0 wa,  0,0 hi,  0,0 si,  0,0 st %Cpu1  : 20,5 us,  2,0 sy,  0,0 ni, 77,5 id,  0,0 wa,  0,0 hi,  0,0 si,  0,0 st',
        'MiB Mem :  15739,4 total,    491,4 free,  12598,9 used,   2649,9 buff/cache',
      ].join('\n'),
    );
    expect(ofKind(events, 'unparsed')).toEqual([]);
    const [uptime] = ofKind(events, 'uptime');
    expect(uptime).toMatchObject({
      upText: '3 days, 22 min',
      upSeconds: 3 * 86_400 + 22 * 60,
      load1: 7.9,
      load15: 4.01,
    });
    expect(uptime).not.toHaveProperty('users');
    expect(ofKind(events, 'cpu').map((cpu) => [cpu.cpu, cpu.us, cpu.line])).toEqual([
      ['cpu0', 10, 2],
      ['cpu1', 20.5, 2],
    ]);
    expect(ofKind(events, 'memory')[0]).toMatchObject({ total: 15739.4, buffCache: 2649.9 });
  });

  it('locates reordered process columns from the header', () => {
    const events = parseLines(
      topParser,
      [
        '  PID  %CPU USER      PR  NI    VIRT    RES    SHR S %MEM     TIME+ COMMAND',
        '  99  12.5 nobody    20   0    100m   20m     1m D  0.1   0:00.10 sleep 1000',
      ].join('\n'),
    );
    expect(events).toEqual([
      expect.objectContaining({
        kind: 'process',
        pid: 99,
        cpuPercent: 12.5,
        user: 'nobody',
        state: 'D',
        command: 'sleep 1000',
      }),
    ]);
  });

  it('ends the process table when a second frame (-n 2) starts', () => {
    const events = parseLines(topParser, `${AL2}\n${AL2}`);
    expect(events.filter((event) => event.kind === 'unparsed')).toEqual([]);
    expect(ofKind(events, 'uptime').map((event) => event.line)).toEqual([1, 10]);
    expect(ofKind(events, 'process').map((event) => event.line)).toEqual([9, 18]);
  });

  it('marks malformed and truncated lines unparsed', () => {
    const events = parseLines(
      topParser,
      [
        'top: failed tty get',
        'top - 10:02:11 up 12 days,  load average: 7.90',
        'KiB Mem : 26386156+total,  1234567 free, 25151589+used,   123456 buff/cache',
        '%Cpu(s):  12.5/3.1    16[||||||||||||                       ]',
        '  PID USER      PR  NI    VIRT    RES    SHR S  %CPU %MEM     TIME+ COMMAND',
        '    1 root      20   0  191112   4052   2628 S',
        '   x1 root      20   0  191112   4052   2628 S   0.0  0.1   0:03.12 systemd',
        '    2 root      20   0    huge   4052   2628 S   0.0  0.1   0:03.12 systemd',
      ].join('\n'),
    );
    expect(events.map((event) => (event.kind === 'unparsed' ? event.line : event.kind))).toEqual([1, 2, 3, 4, 6, 7, 8]);
    const reasons = ofKind(events, 'unparsed').map((event) => event.reason);
    expect(reasons[2]).toContain('cut a number');
    expect(reasons[3]).toContain('graph mode');
    expect(reasons[4]).toBe('expected 12 columns, found 8');
    expect(reasons[6]).toBe('VIRT, RES or SHR is not a size');
  });

  it('rejects a process header without the needed columns', () => {
    const events = parseLines(topParser, '  PID USER COMMAND\n    1 root systemd');
    expect(events.map((event) => event.kind)).toEqual(['unparsed', 'unparsed']);
    expect(events[0]).toMatchObject({ reason: expect.stringContaining('lacks PR, NI') });
  });
});
