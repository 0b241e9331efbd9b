import { describe, expect, it } from 'vitest';
import { cgroupCpuStatParser, summarizeCpuStat } from './cgroup-cpu-stat.ts';
import { headerSample, parseLines } from './test-kit.ts';

const HEADER_SAMPLE = headerSample(new URL('./cgroup-cpu-stat.ts', import.meta.url));

// cgroup v2 on kernel 6.1 (AL2023) writes all nine keys.
const V2_FULL = `usage_usec 171263
user_usec 98012
system_usec 73251
core_sched.force_idle_usec 0
nr_periods 120
nr_throttled 30
throttled_usec 912004
nr_bursts 0
burst_usec 0`;

// cgroup v1 (AL2, kernel 5.10): throttled_time is in nanoseconds.
const V1 = `nr_periods 2000
nr_throttled 500
throttled_time 81234567890
nr_bursts 0
burst_time 0`;

describe('cgroupCpuStatParser', () => {
  it('parses the header sample into stats and a summary', () => {
    const events = parseLines(cgroupCpuStatParser, HEADER_SAMPLE);
    expect(events[0]).toEqual({
      kind: 'stat',
      line: 1,
      raw: 'usage_usec 8812394122',
      key: 'usage_usec',
      value: 8812394122,
    });
    expect(events.filter((event) => event.kind === 'stat')).toHaveLength(6);
    expect(events.at(-1)).toEqual({
      kind: 'summary',
      line: 0,
      raw: '',
      usageUsec: 8812394122,
      userUsec: 6120039844,
      systemUsec: 2692354278,
      nrPeriods: 412093,
      nrThrottled: 96234,
      throttledUsec: 5129934011,
      throttledRatio: 96234 / 412093,
    });
  });

  it('reads dotted v2 keys', () => {
    const events = parseLines(cgroupCpuStatParser, V2_FULL);
    expect(events.find((event) => event.kind === 'stat' && event.key === 'core_sched.force_idle_usec')).toMatchObject({
      line: 4,
      value: 0,
    });
    expect(events.at(-1)).toMatchObject({ kind: 'summary', throttledRatio: 0.25, throttledUsec: 912004 });
  });

  it('converts v1 throttled_time from nanoseconds to microseconds', () => {
    const summary = parseLines(cgroupCpuStatParser, V1).at(-1);
    expect(summary).toEqual({
      kind: 'summary',
      line: 0,
      raw: '',
      nrPeriods: 2000,
      nrThrottled: 500,
      throttledUsec: 81234568,
      throttledRatio: 0.25,
    });
  });

  it('leaves the ratio out when no period elapsed (no quota)', () => {
    expect(summarizeCpuStat({ nr_periods: 0, nr_throttled: 0, usage_usec: 5 })).toEqual({
      nrPeriods: 0,
      nrThrottled: 0,
      usageUsec: 5,
    });
  });

  it('marks malformed lines unparsed and emits no summary without stats', () => {
    const events = parseLines(
      cgroupCpuStatParser,
      'nr_periods\nnr_throttled -3\ncat: /sys/fs/cgroup/cpu.stat: No such file or directory\n',
    );
    expect(events.map((event) => event.kind)).toEqual(['unparsed', 'unparsed', 'unparsed']);
    expect(events[0]).toMatchObject({ line: 1, reason: 'expected "<key> <integer>"' });
  });
});
