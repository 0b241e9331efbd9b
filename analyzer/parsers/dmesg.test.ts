import { describe, expect, it } from 'vitest';
import { type DmesgEntry, dmesgParser, kernelMessageOf } from './dmesg.ts';
import { headerSample, ofKind, parseLines, unparsedReason } from './test-kit.ts';

function entry(raw: string): DmesgEntry {
  const [event] = parseLines(dmesgParser, [raw]);
  if (event?.kind !== 'entry') throw new Error(`expected an entry, got ${JSON.stringify(event)}`);
  return event;
}

describe('dmesgParser', () => {
  it('parses the header sample', () => {
    const sample = headerSample(new URL('./dmesg.ts', import.meta.url));
    const events = parseLines(dmesgParser, sample);
    expect(events).toHaveLength(4);
    const [boot, conntrack, oom, ratelimit] = events;
    expect(boot).toEqual({
      kind: 'entry',
      line: 1,
      raw: sample[0],
      seconds: 0,
      message: 'Linux version 6.1.112-124.190.amzn2023.x86_64 (mockbuild@ip-10-0-33-4) #1 SMP PREEMPT_DYNAMIC',
    });
    expect(conntrack).toMatchObject({
      seconds: 1694413.644132,
      message: 'nf_conntrack: nf_conntrack: table full, dropping packet',
    });
    expect(oom).toMatchObject({
      time: 'Thu Nov 20 08:41:07 2026',
      epochMs: Date.UTC(2026, 10, 20, 8, 41, 7),
      message: expect.stringMatching(/^Memory cgroup out of memory: Killed process 4817 \(java\)/),
    });
    expect(oom).not.toHaveProperty('seconds');
    expect(ratelimit).toMatchObject({
      level: 4,
      facility: 0,
      seconds: 812.004211,
      message: 'net_ratelimit: 2318 callbacks suppressed',
    });
  });

  it('reads the space-padded day of --ctime and the ISO time format', () => {
    expect(
      entry('[Wed Nov  5 07:02:13 2026] IPv6: ADDRCONF(NETDEV_CHANGE): eni3a1b2c3d4e5: link becomes ready'),
    ).toMatchObject({
      time: 'Wed Nov  5 07:02:13 2026',
      epochMs: Date.UTC(2026, 10, 5, 7, 2, 13),
      message: 'IPv6: ADDRCONF(NETDEV_CHANGE): eni3a1b2c3d4e5: link becomes ready',
    });
    expect(entry('2026-11-20T08:41:07,123456+00:00 nf_conntrack: table full, dropping packet')).toMatchObject({
      time: '2026-11-20T08:41:07,123456+00:00',
      epochMs: Date.UTC(2026, 10, 20, 8, 41, 7, 123),
      message: 'nf_conntrack: table full, dropping packet',
    });
    expect(entry('2026-11-20T10:41:07,000000+02:00 x').epochMs).toBe(Date.UTC(2026, 10, 20, 8, 41, 7));
  });

  it('reads priorities of dmesg -r (facility in the upper bits) and dmesg -x', () => {
    expect(entry('<14>[  100.000001] hello from user space')).toMatchObject({
      level: 6,
      facility: 1,
      seconds: 100.000001,
    });
    expect(entry('kern  :warn  : [  812.004211] net_ratelimit: 2318 callbacks suppressed')).toMatchObject({
      level: 4,
      facility: 0,
      seconds: 812.004211,
      message: 'net_ratelimit: 2318 callbacks suppressed',
    });
  });

  it('reads long uptimes and an empty message', () => {
    expect(
      entry('[5193605.506956] Memory cgroup out of memory: Kill process 62685 (bash) score 0 or sacrifice child')
        .seconds,
    ).toBe(5193605.506956);
    expect(entry('[    3.000000]')).toMatchObject({ seconds: 3, message: '' });
  });

  it('keeps lines without a timestamp as messages, and malformed stamps as text', () => {
    expect(entry('[drm] Initialized simpledrm 1.0.0 20200625 for simple-framebuffer.0 on minor 0')).toEqual({
      kind: 'entry',
      line: 1,
      raw: '[drm] Initialized simpledrm 1.0.0 20200625 for simple-framebuffer.0 on minor 0',
      message: '[drm] Initialized simpledrm 1.0.0 20200625 for simple-framebuffer.0 on minor 0',
    });
    expect(entry('[12345.678 nf_conntrack: table full')).not.toHaveProperty('seconds');
    expect(entry('[Thu Nov 20 08:41 2026] cut clock')).not.toHaveProperty('time');
    expect(entry('<x>[    1.000000] not a priority')).not.toHaveProperty('level');
    expect(entry('[Thu Nov 20 25:41:07 2026] hour out of range')).not.toHaveProperty('epochMs');
  });

  it("marks dmesg's own errors unparsed and skips blank lines", () => {
    expect(unparsedReason(dmesgParser, 'dmesg: read kernel buffer failed: Operation not permitted')).toMatch(
      /own error/,
    );
    expect(ofKind(parseLines(dmesgParser, ['', '  ', '[    0.000000] x']), 'entry')).toHaveLength(1);
  });
});

describe('kernelMessageOf', () => {
  it('strips the uptime stamp rsyslog keeps after kernel:', () => {
    expect(kernelMessageOf('[1694413.644132] nf_conntrack: nf_conntrack: table full, dropping packet')).toEqual({
      message: 'nf_conntrack: nf_conntrack: table full, dropping packet',
      seconds: 1694413.644132,
    });
    expect(kernelMessageOf('nf_conntrack: table full, dropping packet')).toEqual({
      message: 'nf_conntrack: table full, dropping packet',
    });
  });
});
