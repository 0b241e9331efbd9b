import { describe, expect, it } from 'vitest';
import { type PsEvent, type PsProcessEvent, psParser } from './ps.ts';
import { headerSample, parseLines } from './test-kit.ts';

function processes(events: PsEvent[]): PsProcessEvent[] {
  return events.filter((event): event is PsProcessEvent => event.kind === 'process');
}

const HEADER = 'USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND';

const HEADER_SAMPLE = headerSample(new URL('./ps.ts', import.meta.url));

// procps-ng 4 on AL2023 (7-wide PID), kernel threads under kthreadd, a " |  " continuation, and the header that
// --headers repeats at the next page.
const AL2023 = `${HEADER}
root           2  0.0  0.0      0     0 ?        S    Jan01   0:00 [kthreadd]
root           3  0.0  0.0      0     0 ?        I<   Jan01   0:00  \\_ [rcu_gp]
root        2871  1.2  0.5 1950840 86436 ?       Ssl  Jan01  40:13 /usr/bin/containerd
root        3101  0.0  0.1 1238332 14080 ?       Sl   Jan01   1:10 /usr/bin/containerd-shim-runc-v2 -namespace k8s.io -id 3f9a
65535       3150  0.0  0.0    972     4 ?        Ss   Jan01   0:00  \\_ /pause
root        3290  0.1  0.3 1276544 52120 ?       Ssl  Jan01   5:44  \\_ /app/aws-vpc-cni
root     1203344 97.9  0.9 1502348 150112 ?      Sl   Jan01 812:09  |   \\_ ./aws-k8s-agent --enable-ipv6=false
${HEADER}
systemd+    1710  0,0  0,0  16116  7800 ?        Ss   Jan01   0:01 /usr/lib/systemd/systemd-networkd`;

describe('psParser', () => {
  it('parses the header sample', () => {
    const events = parseLines(psParser, HEADER_SAMPLE);
    expect(events).toHaveLength(4);
    expect(events[0]).toEqual({
      kind: 'process',
      line: 2,
      raw: 'root           1  0.0  0.1 171592 13308 ?        Ss   Jan01   1:02 /usr/lib/systemd/systemd --switched-root',
      user: 'root',
      pid: 1,
      cpuPercent: 0,
      memPercent: 0.1,
      vszKiB: 171592,
      rssKiB: 13308,
      tty: '?',
      stat: 'Ss',
      start: 'Jan01',
      time: '1:02',
      command: '/usr/lib/systemd/systemd --switched-root',
      depth: 0,
    });
    expect(events[2]).toMatchObject({
      pid: 3402,
      cpuPercent: 98.2,
      time: '3412:05',
      command: '/app/aws-k8s-agent',
      depth: 1,
    });
    expect(events[3]).toMatchObject({
      pid: 3455,
      start: '10:00',
      command: '/app/grpc-health-probe -addr=:50051',
      depth: 2,
    });
    expect(events[3]?.raw).toContain('     \\_ /app/grpc-health-probe');
  });

  it('skips the repeated header and reads forest depth, numeric and cut user names, comma decimals', () => {
    const events = parseLines(psParser, AL2023);
    expect(events.filter((event) => event.kind === 'unparsed')).toEqual([]);
    const rows = processes(events);
    expect(rows.map((row) => [row.pid, row.depth, row.command])).toEqual([
      [2, 0, '[kthreadd]'],
      [3, 1, '[rcu_gp]'],
      [2871, 0, '/usr/bin/containerd'],
      [3101, 0, '/usr/bin/containerd-shim-runc-v2 -namespace k8s.io -id 3f9a'],
      [3150, 1, '/pause'],
      [3290, 1, '/app/aws-vpc-cni'],
      [1203344, 2, './aws-k8s-agent --enable-ipv6=false'],
      [1710, 0, '/usr/lib/systemd/systemd-networkd'],
    ]);
    expect(rows[4]).toMatchObject({ user: '65535', stat: 'Ss' });
    expect(rows[6]).toMatchObject({ cpuPercent: 97.9, rssKiB: 150112, line: 8 });
    expect(rows[7]).toMatchObject({ user: 'systemd+', cpuPercent: 0, line: 10 });
  });

  it('keeps a root command that itself contains "\\_"', () => {
    const [row] = processes(parseLines(psParser, 'root 9 0.0 0.0 10 10 ? S 10:00 0:00 /bin/sh -c echo \\_ done'));
    expect(row).toMatchObject({ command: '/bin/sh -c echo \\_ done', depth: 0 });
  });

  it('marks stderr lines, short rows, bad numbers and a foreign header unparsed', () => {
    const events = parseLines(
      psParser,
      [
        'Signal 21 (TTIN) caught by ps (procps-ng version 3.3.10).',
        'root           1  0.0  0.1 171592 13308 ?        Ss   Jan01   1:02',
        'root         abc  0.0  0.1 171592 13308 ?        Ss   Jan01   1:02 /sbin/init',
        'root           1  n/a  0.1 171592 13308 ?        Ss   Jan01   1:02 /sbin/init',
        'USER         PID COMMAND',
        'root           1  0.0  0.1 171592 13308 ?        Ss   Jan01   1:02   ',
      ].join('\n'),
    );
    expect(events.map((event) => (event.kind === 'unparsed' ? event.line : event.kind))).toEqual([1, 2, 3, 4, 5, 6]);
    const reasons = events.map((event) => (event.kind === 'unparsed' ? event.reason : ''));
    expect(reasons[1]).toContain('expected 11 columns');
    expect(reasons[2]).toBe('PID, VSZ or RSS is not a number');
    expect(reasons[3]).toBe('%CPU or %MEM is not a number');
    expect(reasons[4]).toContain('unexpected ps header');
    expect(reasons[5]).toContain('expected 11 columns');
  });
});
