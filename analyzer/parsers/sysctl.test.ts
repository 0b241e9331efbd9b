import { describe, expect, it } from 'vitest';
import { sysctlKeyOfProcPath, sysctlNumber, sysctlParser } from './sysctl.ts';
import { headerSample, ofKind, parseLines, unparsedReason } from './test-kit.ts';

describe('sysctlParser', () => {
  it('parses the header sample', () => {
    const events = parseLines(sysctlParser, headerSample(new URL('./sysctl.ts', import.meta.url)));
    expect(events).toEqual([
      {
        kind: 'value',
        line: 1,
        raw: 'net.ipv4.conf.all.rp_filter = 1',
        key: 'net.ipv4.conf.all.rp_filter',
        value: '1',
      },
      {
        kind: 'value',
        line: 2,
        raw: 'net.ipv4.conf.eth0.rp_filter = 2',
        key: 'net.ipv4.conf.eth0.rp_filter',
        value: '2',
      },
      { kind: 'value', line: 3, raw: 'net.ipv4.ip_forward = 1', key: 'net.ipv4.ip_forward', value: '1' },
      {
        kind: 'value',
        line: 4,
        raw: 'net.ipv4.ip_local_reserved_ports =',
        key: 'net.ipv4.ip_local_reserved_ports',
        value: '',
      },
      {
        kind: 'error',
        line: 5,
        raw: "sysctl: permission denied on key 'fs.protected_fifos'",
        text: "permission denied on key 'fs.protected_fifos'",
        key: 'fs.protected_fifos',
      },
      {
        kind: 'value',
        line: 6,
        raw: '/proc/sys/net/ipv4/conf/eth0/rp_filter = 2',
        key: 'net.ipv4.conf.eth0.rp_filter',
        value: '2',
        path: '/proc/sys/net/ipv4/conf/eth0/rp_filter',
      },
    ]);
  });

  it('keeps multi-field, empty (with the trailing space sysctl prints) and repeated values as written', () => {
    const events = ofKind(
      parseLines(sysctlParser, [
        'net.ipv4.ip_local_port_range = 32768\t60999',
        'net.ipv4.tcp_rmem = 4096\t131072\t6291456',
        'net.ipv4.ip_local_reserved_ports = ',
        'kernel.core_pattern = |/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h',
        'dev.cdrom.info = CD-ROM information, Id: cdrom.c 3.20 2003/12/17',
        'dev.cdrom.info = ',
        'dev.cdrom.info = drive name:',
        'kernel.domainname = (none)',
      ]),
      'value',
    );
    expect(events.map((event) => [event.key, event.value])).toEqual([
      ['net.ipv4.ip_local_port_range', '32768\t60999'],
      ['net.ipv4.tcp_rmem', '4096\t131072\t6291456'],
      ['net.ipv4.ip_local_reserved_ports', ''],
      ['kernel.core_pattern', '|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h'],
      ['dev.cdrom.info', 'CD-ROM information, Id: cdrom.c 3.20 2003/12/17'],
      ['dev.cdrom.info', ''],
      ['dev.cdrom.info', 'drive name:'],
      ['kernel.domainname', '(none)'],
    ]);
  });

  it('reads VLAN and veth interface keys, and maps dotted interface paths of the legacy form the way sysctl does', () => {
    const events = ofKind(
      parseLines(sysctlParser, [
        'net.ipv4.conf.eth0/100.rp_filter = 1',
        'net.ipv4.conf.eni3a1b2c3d4e5.rp_filter = 0',
        '/proc/sys/net/ipv4/conf/eth0.100/rp_filter = 1',
        '/proc/sys/net/ipv4/conf/all/rp_filter = 1',
        '/proc/sys/net/ipv4/conf/default/rp_filter = 1',
      ]),
      'value',
    );
    expect(events.map((event) => event.key)).toEqual([
      'net.ipv4.conf.eth0/100.rp_filter',
      'net.ipv4.conf.eni3a1b2c3d4e5.rp_filter',
      'net.ipv4.conf.eth0/100.rp_filter',
      'net.ipv4.conf.all.rp_filter',
      'net.ipv4.conf.default.rp_filter',
    ]);
    expect(sysctlKeyOfProcPath('/proc/sys/net/netfilter/nf_conntrack_max')).toBe('net.netfilter.nf_conntrack_max');
  });

  it('turns procps complaints into error events naming the key', () => {
    const events = ofKind(
      parseLines(sysctlParser, [
        'sysctl: reading key "net.ipv6.conf.all.stable_secret"',
        'sysctl: reading key "net.ipv6.conf.eth0.stable_secret": Input/output error',
        'sysctl: permission denied on key "kernel.cad_pid"',
        'sysctl: cannot stat /proc/sys/net/netfilter/nf_conntrack_count: No such file or directory',
        'sysctl: "net.nf_conntrack_max" is an unknown key',
        'sysctl: setting key "vm.swappiness": Read-only file system',
      ]),
      'error',
    );
    expect(events.map((event) => event.key)).toEqual([
      'net.ipv6.conf.all.stable_secret',
      'net.ipv6.conf.eth0.stable_secret',
      'kernel.cad_pid',
      'net.netfilter.nf_conntrack_count',
      'net.nf_conntrack_max',
      'vm.swappiness',
    ]);
  });

  it('marks malformed lines unparsed instead of throwing, and skips blank ones', () => {
    expect(parseLines(sysctlParser, ['', '   '])).toEqual([]);
    expect(unparsedReason(sysctlParser, 'net.ipv4.ip_forward=1')).toMatch(/key = value/);
    expect(unparsedReason(sysctlParser, 'bash: sysctl: command not found')).toMatch(/key = value/);
    expect(unparsedReason(sysctlParser, 'Total Number = 12')).toMatch(/key = value/);
    expect(unparsedReason(sysctlParser, 'ip_forward = 1')).toMatch(/not a sysctl key/);
    expect(unparsedReason(sysctlParser, '/etc/sysctl.d/99-eks.conf = 1')).toMatch(/outside \/proc\/sys/);
  });

  it('reads single numeric values only', () => {
    expect(sysctlNumber('1')).toBe(1);
    expect(sysctlNumber('-1')).toBe(-1);
    expect(sysctlNumber('32768\t60999')).toBeUndefined();
    expect(sysctlNumber('')).toBeUndefined();
    expect(sysctlNumber('(none)')).toBeUndefined();
  });
});
