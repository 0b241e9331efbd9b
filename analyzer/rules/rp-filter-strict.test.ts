import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import rule from './rp-filter-strict.ts';

const conf = (values: Record<string, number>) =>
  `${Object.entries(values)
    .flatMap(([name, value]) => [
      `net.ipv4.conf.${name}.proxy_arp = 0`,
      `net.ipv4.conf.${name}.route_localnet = 0`,
      `net.ipv4.conf.${name}.rp_filter = ${value}`,
    ])
    .join('\n')}\nnet.ipv4.ip_forward = 1\n`;

// `ip route show table all` on a VPC CNI node: per-ENI tables first, then the main table, then `local`.
const routes = (primary: string, secondary: string) =>
  [
    `default via 10.0.32.1 dev ${secondary} table 3 `,
    `10.0.32.1 dev ${secondary} table 3 scope link `,
    `default via 10.0.32.1 dev ${primary} proto dhcp src 10.0.44.12 metric 512 `,
    `default via 10.0.32.1 dev ${secondary} proto dhcp src 10.0.45.7 metric 513 `,
    `10.0.32.0/19 dev ${primary} proto kernel scope link src 10.0.44.12 metric 512 `,
    `local 10.0.44.12 dev ${primary} table local proto kernel scope host src 10.0.44.12 `,
    '',
  ].join('\n');

ruleTester(rule, {
  fail: [
    {
      name: 'AL2 stock bundle: strict on eth0 and all',
      files: {
        'sysctls/sysctl_all.txt': conf({ all: 1, default: 1, eni3a1b2c3d4e5: 0, eth0: 1, eth1: 1, lo: 0 }),
        'networking/iproute.txt': routes('eth0', 'eth1'),
      },
      messageId: 'strict',
      evidence: ['sysctls/sysctl_all.txt:3', 'sysctls/sysctl_all.txt:12', 'networking/iproute.txt:3'],
      check: (result) => {
        expect(result.summary).toBe(
          'Reverse-path filtering on the primary interface eth0 is strict: effective 1 (strict) = max(all 1, eth0 1), the interface of the default route.',
        );
        expect(result.evidence.filter((e) => e.highlight).map((e) => e.line)).toEqual([12, 3]);
      },
    },
    {
      name: 'AL2023 (ens5, lowest-metric default route): a hardening file reset ens5 to strict',
      files: {
        'sysctls/sysctl_all.txt': conf({ all: 0, default: 1, ens5: 1, ens6: 1, lo: 0 }),
        'networking/iproute.txt': routes('ens5', 'ens6'),
      },
      messageId: 'strict',
      evidence: ['sysctls/sysctl_all.txt:9'],
      check: (result) => expect(result.facts.find((f) => f.label === 'Effective on ens5')?.value).toBe('1 (strict)'),
    },
    {
      name: 'legacy aws-cni-support.sh sysctls.out (rp_filter per interface), no routes',
      files: {
        'sysctls/rp_filter.txt': [
          '/proc/sys/net/ipv4/conf/all/rp_filter = 1',
          '/proc/sys/net/ipv4/conf/default/rp_filter = 1',
          '/proc/sys/net/ipv4/conf/eth0/rp_filter = 1',
          '/proc/sys/net/ipv4/conf/lo/rp_filter = 0',
          '',
        ].join('\n'),
      },
      messageId: 'strict',
      evidence: ['sysctls/rp_filter.txt:3', 'sysctls/rp_filter.txt:1'],
      check: (result) =>
        expect(result.summary).toContain('no default route in the bundle, so eth0 is taken as primary'),
    },
  ],
  pass: [
    {
      name: 'what aws-node sets: loose on the primary ENI, strict elsewhere',
      files: {
        'sysctls/sysctl_all.txt': conf({ all: 1, default: 1, eth0: 2, eth1: 1, lo: 0 }),
        'networking/iproute.txt': routes('eth0', 'eth1'),
      },
      messageId: 'loose',
      evidence: ['sysctls/sysctl_all.txt:9', 'sysctls/sysctl_all.txt:3', 'networking/iproute.txt:3'],
      check: (result) =>
        expect(result.summary).toBe(
          'Reverse-path filtering on the primary interface eth0 is 2 (loose) = max(all 1, eth0 2), the interface of the default route.',
        ),
    },
    {
      name: 'all = 2 loosens a strict interface value',
      files: { 'sysctls/sysctl_all.txt': conf({ all: 2, ens5: 1 }) },
      messageId: 'loose',
      check: (result) => expect(result.facts.find((f) => f.label === 'Effective on ens5')?.value).toBe('2 (loose)'),
    },
    {
      name: 'filtering off entirely is not strict',
      files: { 'sysctls/sysctl_all.txt': conf({ all: 0, eth0: 0 }) },
      messageId: 'loose',
      check: (result) => expect(result.summary).toContain('0 (off)'),
    },
  ],
  notEvaluated: [
    {
      name: 'no sysctls at all',
      files: { 'networking/iproute.txt': routes('eth0', 'eth1') },
      reason: 'sysctls/sysctl_all.txt',
    },
    {
      name: 'the default route interface has no rp_filter line (sysctl output cut)',
      files: {
        'sysctls/sysctl_all.txt': conf({ all: 1, default: 1 }),
        'networking/iproute.txt': routes('enp39s0', 'enp40s0'),
      },
      reason: 'no rp_filter value for the primary interface (enp39s0, from the default route)',
    },
    {
      name: 'sysctl collection failed',
      files: {},
      manifest: { 'sysctl-all': { status: 'error', reason: 'sysctl: command not found', exitCode: 127 } },
      reason: 'sysctl: command not found',
    },
  ],
});
