import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import rule from './conntrack-table-full.ts';

const sysctl = (count: number, max = 262144) =>
  [
    'net.ipv4.ip_forward = 1',
    `net.netfilter.nf_conntrack_count = ${count}`,
    'net.netfilter.nf_conntrack_expect_max = 4096',
    `net.netfilter.nf_conntrack_max = ${max}`,
    `net.nf_conntrack_max = ${max}`,
    '',
  ].join('\n');

const bootDmesg = [
  '[    0.000000] Linux version 5.10.228-219.884.amzn2.x86_64 (mockbuild@ip-10-0-56-107) #1 SMP Tue Nov 5 22:50:39 UTC 2024',
  '[    4.187341] nf_conntrack version 0.5.0 (65536 buckets, 262144 max)',
];

// Message forms: hotsos issue #101 (`kernel: [1694413.644132] nf_conntrack: nf_conntrack: table full, dropping packet`,
// kernels 4.x and later print the module name twice); 2.6.32-era kernels print it once, with a trailing period.
const fullDmesg = [
  ...bootDmesg,
  '[1694413.644132] nf_conntrack: nf_conntrack: table full, dropping packet',
  '[1694418.648020] net_ratelimit: 2318 callbacks suppressed',
  '[1694418.648023] nf_conntrack: nf_conntrack: table full, dropping packet',
  '[1694423.702211] nf_conntrack: nf_conntrack: table full, dropping packet',
  '',
].join('\n');

// The stock collector's networking/conntrack.txt: `conntrack -S`, then `conntrack -L` (eks-log-collector.sh).
const stockConntrack = (drop: number, earlyDrop: number, flows = 3) =>
  [
    '*** Output of conntrack -S *** ',
    `cpu=0   \tfound=12 invalid=164 insert=0 insert_failed=0 drop=${drop} early_drop=${earlyDrop} error=0 search_restart=441 clash_resolve=2 chaintoolong=0 `,
    'cpu=1   \tfound=9 invalid=88 insert=0 insert_failed=3 drop=0 early_drop=0 error=0 search_restart=390 clash_resolve=1 chaintoolong=0 ',
    '*** Output of conntrack -L ***',
    ...Array.from(
      { length: flows },
      (_, i) =>
        `tcp      6 86397 ESTABLISHED src=10.0.1.${i + 10} dst=172.20.0.1 sport=4432${i} dport=443 src=10.0.0.44 dst=10.0.1.${i + 10} sport=443 dport=4432${i} [ASSURED] mark=0 use=1`,
    ),
    '',
  ].join('\n');

ruleTester(rule, {
  fail: [
    {
      name: 'dmesg shows table-full drops and the table is full now (stock layout)',
      files: { 'kernel/dmesg.current': fullDmesg, 'sysctls/sysctl_all.txt': sysctl(262144) },
      messageId: 'tableFull',
      severity: 'critical',
      evidence: ['kernel/dmesg.current:3', 'kernel/dmesg.current:6', 'sysctls/sysctl_all.txt:2'],
      check: (result) => {
        expect(result.summary).toContain('3 "table full, dropping packet" message(s) in kernel/dmesg.current');
        expect(result.summary).toContain('net_ratelimit suppressed 2318 more');
        expect(result.summary).toContain('262144 of 262144 entries (100%)');
      },
    },
    {
      name: 'older single-prefix message in dmesg --ctime while the table has room now: warning',
      files: {
        'kernel/dmesg.human.current': [
          '[Thu Nov 20 06:02:11 2026] Linux version 4.14.355-275.570.amzn2.x86_64',
          '[Thu Nov 20 08:41:07 2026] nf_conntrack: table full, dropping packet.',
          '',
        ].join('\n'),
        'sysctls/sysctl_all.txt': sysctl(1523),
      },
      messageId: 'tableFull',
      severity: 'warning',
      evidence: ['kernel/dmesg.human.current:2'],
      check: (result) => {
        expect(result.evidence[0]?.time).toBe('Thu Nov 20 08:41:07 2026');
        expect(result.caveats.join(' ')).toMatch(/had room when the bundle was collected/);
      },
    },
    {
      name: 'only the system log has it (kernel: line with the imklog uptime stamp)',
      files: {
        'var_log/messages': [
          'Nov 20 08:41:05 ip-10-0-1-23 kubelet: I1120 08:41:05.000000    3412 kubelet.go:2412] "SyncLoop (PLEG)"',
          'Nov 20 08:41:07 ip-10-0-1-23 kernel: [1694413.644132] nf_conntrack: nf_conntrack: table full, dropping packet',
          'Nov 20 08:41:07 ip-10-0-1-23 dhclient[2101]: nf_conntrack: table full, dropping packet (quoted by a user process)',
          '',
        ].join('\n'),
      },
      messageId: 'tableFull',
      severity: 'critical',
      evidence: ['var_log/messages:2'],
      check: (result) => {
        expect(result.summary).toContain('1 "table full, dropping packet" message(s) in var_log/messages');
        expect(result.evidence.map((e) => e.line)).not.toContain(3);
      },
    },
    {
      name: 'conntrack -S counts drops the kernel log no longer shows (stock conntrack.txt)',
      files: {
        'kernel/dmesg.current': `${bootDmesg.join('\n')}\n`,
        'networking/conntrack.txt': stockConntrack(17, 230),
        'sysctls/sysctl_all.txt': sysctl(4100),
      },
      messageId: 'statsDrops',
      severity: 'warning',
      evidence: ['networking/conntrack.txt:2'],
      check: (result) => {
        expect(result.summary).toContain('17 packet(s) dropped and 230 entries evicted early');
        expect(result.caveats.join(' ')).toMatch(/insert_failed=3/);
      },
    },
    {
      name: 'the table is over 90% full (node-problem-detector threshold)',
      files: { 'sysctls/sysctl_all.txt': sysctl(249000), 'kernel/dmesg.current': `${bootDmesg.join('\n')}\n` },
      messageId: 'nearFull',
      severity: 'warning',
      evidence: ['sysctls/sysctl_all.txt:2', 'sysctls/sysctl_all.txt:4'],
      check: (result) =>
        expect(result.summary).toBe('The connection tracking table is 94.9% full (249000 of 262144 entries).'),
    },
    {
      name: "our agent's conntrack file carries the fill level when sysctls are missing",
      files: {
        'networking/conntrack.txt': [
          'net.netfilter.nf_conntrack_count = 131000',
          'net.netfilter.nf_conntrack_max = 131072',
          'cpu=0   \tfound=0 invalid=3 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=4 ',
          '',
        ].join('\n'),
      },
      messageId: 'nearFull',
      evidence: ['networking/conntrack.txt:1'],
    },
  ],
  pass: [
    {
      name: 'stock bundle: no kernel message, zero drops, table mostly empty',
      files: {
        'kernel/dmesg.current': `${bootDmesg.join('\n')}\n`,
        'networking/conntrack.txt': stockConntrack(0, 0),
        'sysctls/sysctl_all.txt': sysctl(1523),
      },
      messageId: 'ok',
      evidence: ['sysctls/sysctl_all.txt:2', 'sysctls/sysctl_all.txt:4'],
      check: (result) => {
        expect(result.summary).toContain('1523 of 262144 entries (0.5%)');
        expect(result.facts.map((f) => f.label)).toContain('Kernel log read');
      },
    },
    {
      name: 'only dmesg: passes on the absence of the message, says the fill level is unknown',
      files: { 'kernel/dmesg.current': `${bootDmesg.join('\n')}\n` },
      messageId: 'ok',
      check: (result) => {
        expect(result.caveats.join(' ')).toMatch(/fill level .* is not in the bundle/);
        expect(result.facts.find((f) => f.label === 'Kernel log read')?.value).toMatch(/2 lines, from 0.000000 s/);
      },
    },
    {
      name: 'count from the conntrack -L listing when sysctls hold only the maximum',
      files: {
        'networking/conntrack.txt': stockConntrack(0, 0, 5),
        'sysctls/sysctl_all.txt': 'net.netfilter.nf_conntrack_max = 262144\n',
      },
      messageId: 'ok',
      check: (result) => {
        expect(result.summary).toContain('5 of 262144 entries');
        expect(result.caveats.join(' ')).toMatch(/lines `conntrack -L` listed/);
      },
    },
  ],
  notEvaluated: [
    {
      name: 'no kernel log, no sysctls, no conntrack output',
      files: { 'kubelet/kubelet.log': '-- No entries --\n' },
      reason: 'kernel/dmesg.current',
    },
    {
      name: 'sysctls without nf_conntrack keys (module not loaded) and nothing else',
      files: { 'sysctls/sysctl_all.txt': 'net.ipv4.ip_forward = 1\n' },
      reason: 'nf_conntrack may not be loaded',
    },
    {
      name: 'dmesg failed to collect and nothing else is there',
      files: { 'kubelet/kubelet.log': '-- No entries --\n' },
      manifest: { dmesg: { status: 'error', reason: 'dmesg: read kernel buffer failed: Operation not permitted' } },
      reason: 'Operation not permitted',
    },
  ],
});
