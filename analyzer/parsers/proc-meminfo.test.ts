import { describe, expect, it } from 'vitest';
import { procMeminfoParser } from './proc-meminfo.ts';
import { headerSample, parseLines } from './test-kit.ts';

const HEADER_SAMPLE = headerSample(new URL('./proc-meminfo.ts', import.meta.url));

// An m5.xlarge on AL2023 (kernel 6.1), trimmed to the lines that exercise each shape.
const AL2023_NODE = `MemTotal:       16092276 kB
MemFree:          208144 kB
MemAvailable:     310876 kB
Buffers:            2212 kB
Cached:           524020 kB
SwapCached:            0 kB
Active(anon):   14887720 kB
Inactive(file):   180020 kB
SwapTotal:             0 kB
SwapFree:              0 kB
VmallocTotal:   34359738367 kB
HugePages_Total:       4
HugePages_Free:        4
HugePages_Rsvd:        0
HugePages_Surp:        0
Hugepagesize:       2048 kB
Hugetlb:            8192 kB
DirectMap1G:     9437184 kB`;

describe('procMeminfoParser', () => {
  it('parses the header sample into fields and a summary', () => {
    const events = parseLines(procMeminfoParser, HEADER_SAMPLE);
    expect(events[0]).toEqual({
      kind: 'field',
      line: 1,
      raw: 'MemTotal:       16106452 kB',
      key: 'MemTotal',
      value: 16106452,
      unit: 'kB',
      bytes: 16106452 * 1024,
    });
    expect(events.at(-1)).toEqual({
      kind: 'summary',
      line: 0,
      raw: '',
      memTotalBytes: 16106452 * 1024,
      memFreeBytes: 412340 * 1024,
      memAvailableBytes: 901232 * 1024,
      fields: { MemTotal: 16106452 * 1024, MemFree: 412340 * 1024, MemAvailable: 901232 * 1024, Hugepagesize: 2097152 },
      counts: { HugePages_Total: 0 },
    });
  });

  it('keeps HugePages_* as page counts with no bytes, and Hugetlb/Hugepagesize as sizes', () => {
    const events = parseLines(procMeminfoParser, AL2023_NODE);
    const hugePagesTotal = events.find((event) => event.kind === 'field' && event.key === 'HugePages_Total');
    expect(hugePagesTotal).toEqual({
      kind: 'field',
      line: 12,
      raw: 'HugePages_Total:       4',
      key: 'HugePages_Total',
      value: 4,
      unit: null,
    });
    const summary = events.at(-1);
    if (summary?.kind !== 'summary') throw new Error('expected a summary last');
    expect(summary.counts).toEqual({ HugePages_Total: 4, HugePages_Free: 4, HugePages_Rsvd: 0, HugePages_Surp: 0 });
    expect(summary.fields['Active(anon)']).toBe(14887720 * 1024);
    expect(summary.fields.Hugetlb).toBe(8192 * 1024);
    expect(summary.fields.HugePages_Total).toBeUndefined();
    expect(summary).toMatchObject({ swapTotalBytes: 0, swapFreeBytes: 0, memAvailableBytes: 310876 * 1024 });
  });

  it('marks malformed lines unparsed and still summarises the good ones', () => {
    const events = parseLines(
      procMeminfoParser,
      'MemTotal: 1024 kB\nMemFree 12 kB\nMemAvailable: lots kB\nCached: 12 MB\n\nSwapTotal: 0 kB',
    );
    expect(events.map((event) => event.kind)).toEqual([
      'field',
      'unparsed',
      'unparsed',
      'unparsed',
      'field',
      'summary',
    ]);
    expect(events[3]).toMatchObject({ line: 4, reason: expect.stringContaining('unknown unit "MB"') });
    expect(events.at(-1)).toMatchObject({ memTotalBytes: 1024 * 1024, swapTotalBytes: 0 });
  });

  it('emits no summary for a file without a readable line', () => {
    expect(parseLines(procMeminfoParser, 'cat: /proc/meminfo: Permission denied').map((event) => event.kind)).toEqual([
      'unparsed',
    ]);
    expect(parseLines(procMeminfoParser, '')).toEqual([]);
  });
});
