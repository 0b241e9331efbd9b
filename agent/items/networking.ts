/**
 * Networking state: iptables and ip6tables (save and `-nvL` per table; never name resolution), nftables and the
 * iptables backend, routes and rules (v4 and v6), addresses, links, neighbours, conntrack, IPVS/ipset, sysctls.
 */
import { command, derived, file, KiB, MiB } from './define.ts';

const list = (binary: string, table: string) => [
  binary,
  '--wait',
  '1',
  '--numeric',
  '--verbose',
  '--list',
  '--table',
  table,
];

export const networkingItems = [
  command(
    'iptables-save',
    ['iptables-save', '--counters'],
    'Every rule with counters: FORWARD policy, AWS-SNAT, CONNMARK, KUBE-*.',
    {
      priority: 1,
      timeoutMs: 15_000,
    },
  ),
  command('ip6tables-save', ['ip6tables-save', '--counters'], 'IPv6 rules (IPv6 clusters).', {
    priority: 2,
    timeoutMs: 15_000,
  }),
  command(
    'iptables-legacy-save',
    ['iptables-legacy-save', '--counters'],
    'Rules in the legacy backend, when both backends hold rules.',
    {
      priority: 2,
      timeoutMs: 15_000,
    },
  ),
  command('iptables-list-filter', list('iptables', 'filter'), 'Filter table with packet counters per rule.', {
    priority: 2,
  }),
  command('iptables-list-nat', list('iptables', 'nat'), 'NAT table: SNAT and kube-proxy service rules.', {
    priority: 2,
  }),
  command('iptables-list-mangle', list('iptables', 'mangle'), 'Mangle table: CONNMARK rules.', { priority: 2 }),
  command('ip6tables-list-filter', list('ip6tables', 'filter'), 'IPv6 filter table.', { priority: 3 }),
  command('ip6tables-list-nat', list('ip6tables', 'nat'), 'IPv6 NAT table.', { priority: 3 }),
  derived(
    'iptables-backend',
    'iptables-backend',
    'Which iptables backend is in use (nf_tables or legacy) and whether both hold rules.',
    {
      maxBytes: 64 * KiB,
    },
  ),
  command(
    'nftables-ruleset',
    ['nft', 'list', 'ruleset'],
    'The nftables ruleset (iptables-nft rules appear here too).',
    { priority: 2 },
  ),
  command('ip-rule', ['ip', 'rule', 'show'], 'Policy routing for pods on secondary ENIs.', {
    priority: 1,
    maxBytes: 4 * MiB,
  }),
  command('ip6-rule', ['ip', '-6', 'rule', 'show'], 'IPv6 policy routing.', { priority: 2, maxBytes: 4 * MiB }),
  command(
    'ip-route',
    ['ip', 'route', 'show', 'table', 'all'],
    'Routes in every table (per-ENI tables, pod host routes).',
    {
      priority: 1,
    },
  ),
  command('ip6-route', ['ip', '-6', 'route', 'show', 'table', 'all'], 'IPv6 routes in every table.', { priority: 2 }),
  command('ip-addr', ['ip', '-d', 'addr', 'show'], 'Addresses on every interface (ENIs, veths).', { priority: 2 }),
  command('ip-link', ['ip', '-d', 'link', 'show'], 'Links with details (MTU, state, veth peers).', { priority: 2 }),
  command('ip-link-stats', ['ip', '-s', 'link', 'show'], 'Per-interface packet, error and drop counters.', {
    priority: 2,
  }),
  command('ip-neigh', ['ip', 'neigh', 'show'], 'Neighbour table (pod and gateway ARP entries).', { priority: 3 }),
  command('conntrack-stats', ['conntrack', '-S'], 'Per-CPU conntrack counters: drops, early drops, insert failures.', {
    priority: 2,
  }),
  derived('conntrack-count', 'conntrack-count', 'nf_conntrack_count against nf_conntrack_max.', {
    maxBytes: 4 * KiB,
    priority: 1,
  }),
  command('ipvsadm', ['ipvsadm', '--save', '--numeric'], 'IPVS services when kube-proxy runs in IPVS mode.', {
    priority: 3,
  }),
  command('ipset', ['ipset', 'list'], 'IP sets (kube-proxy IPVS mode).', { priority: 3 }),
  command('sysctl-all', ['sysctl', '--all'], 'ip_forward, rp_filter per interface, conntrack limits, pid_max.', {
    priority: 1,
  }),
  file('resolv-conf', '/etc/resolv.conf', 'DNS configuration of the node.', { maxBytes: 64 * KiB }),
  derived('ethtool-stats', 'ethtool-stats', 'ENA allowance counters (*_allowance_exceeded) per interface.', {
    priority: 3,
  }),
  command(
    'sockets',
    ['ss', '--tcp', '--udp', '--numeric', '--processes', '--all'],
    'Listening and open sockets (ipamd :61678/:61679, :50051).',
    {
      priority: 3,
    },
  ),
  command(
    'network-policy-ebpf-data',
    ['/opt/cni/bin/aws-eks-na-cli', 'ebpf', 'loaded-ebpfdata'],
    'Network policy eBPF programs and maps.',
    {
      priority: 3,
    },
  ),
];
