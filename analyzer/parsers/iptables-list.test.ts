import { describe, expect, it } from 'vitest';
import { LONG_LINE_MARK } from '../bundle/lines.ts';
import { iptablesListParser } from './iptables-list.ts';
import { headerSample, ofKind, parseLines } from './test-kit.ts';

const COLUMNS = ' pkts bytes target     prot opt in     out     source               destination         ';

const HEADER_SAMPLE = headerSample(new URL('./iptables-list.ts', import.meta.url));

// The stock script's networking/iptables-nat.txt from an AL2 node (iptables 1.8.4 legacy, VPC CNI with two VPC
// CIDRs, so AWS-SNAT-CHAIN-0 hands over to AWS-SNAT-CHAIN-1), trimmed; the column headers keep their trailing blanks.
const STOCK_NAT = `Chain PREROUTING (policy ACCEPT 22 packets, 1320 bytes)
${COLUMNS}
15167  926K KUBE-SERVICES  all  --  *      *       0.0.0.0/0            0.0.0.0/0            /* kubernetes service portals */

Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
${COLUMNS}

Chain OUTPUT (policy ACCEPT 1544 packets, 96221 bytes)
${COLUMNS}
 101K 6097K KUBE-SERVICES  all  --  *      *       0.0.0.0/0            0.0.0.0/0            /* kubernetes service portals */

Chain POSTROUTING (policy ACCEPT 1544 packets, 96221 bytes)
${COLUMNS}
15171  926K KUBE-POSTROUTING  all  --  *      *       0.0.0.0/0            0.0.0.0/0            /* kubernetes postrouting rules */
  951 60456 AWS-SNAT-CHAIN-0  all  --  *      *       0.0.0.0/0            0.0.0.0/0            /* AWS SNAT CHAIN */

Chain AWS-SNAT-CHAIN-0 (1 references)
${COLUMNS}
  951 60456 AWS-SNAT-CHAIN-1  all  --  *      *       0.0.0.0/0           !172.30.0.0/16        /* AWS SNAT CHAIN */

Chain AWS-SNAT-CHAIN-1 (1 references)
${COLUMNS}
  469 28172 SNAT       all  --  *      !vlan+  0.0.0.0/0            0.0.0.0/0            /* AWS, SNAT */ ADDRTYPE match dst-type !LOCAL to:172.30.47.189 random-fully

Chain KUBE-KUBELET-CANARY (0 references)
${COLUMNS}

Chain KUBE-MARK-MASQ (7 references)
${COLUMNS}
    0     0 MARK       all  --  *      *       0.0.0.0/0            0.0.0.0/0            MARK or 0x4000
=======
Total Number of Rules: 7`;

// ip6tables -v -n -L as iptables' own test suite expects it (tests/shell/testcases/ip6tables/0002-verbose-output_0):
// rules without a target, and "ipv6-icmp" running into the opt column.
const IP6TABLES_CURRENT = `Chain FORWARD (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination
    0     0 ACCEPT     all  --  eth2   eth3    feed:babe::1         feed:babe::2
    0     0            ipv6-icmp--  *      *       ::/0                 ::/0                 ipv6-icmptype 1 code 0
    0     0            all  --  *      *       ::/0                 ::/0                 dst length:42  rt type:23
    0     0 LOG        all  --  *      *       ::/0                 ::/0                 frag id:1337 LOG flags 0 level 4`;

// Older ip6tables (AL2's 1.8.4 legacy) print three blanks where the opt column is.
const IP6TABLES_LEGACY = `Chain FORWARD (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination
    0     0 ACCEPT     all      eth2   eth3    feed:babe::1         feed:babe::2
 2410  181K            ipv6-icmp    *      *       ::/0                 ::/0                 ipv6-icmptype 1 code 0`;

describe('iptablesListParser', () => {
  it('parses the header sample', () => {
    expect(parseLines(iptablesListParser, HEADER_SAMPLE)).toEqual([
      {
        kind: 'chain',
        line: 1,
        raw: 'Chain FORWARD (policy DROP 12 packets, 720 bytes)',
        chain: 'FORWARD',
        policy: 'DROP',
        packets: 12,
        bytes: 720,
      },
      {
        kind: 'column-header',
        line: 2,
        raw: ' pkts bytes target     prot opt in     out     source               destination',
      },
      {
        kind: 'rule',
        line: 3,
        raw: '1538K  775M ACCEPT     all  --  *      *       0.0.0.0/0            0.0.0.0/0            ctstate RELATED,ESTABLISHED',
        chain: 'FORWARD',
        packets: 1_538_000,
        bytes: 775_000_000,
        target: 'ACCEPT',
        prot: 'all',
        opt: '--',
        in: '*',
        out: '*',
        source: '0.0.0.0/0',
        destination: '0.0.0.0/0',
        extra: 'ctstate RELATED,ESTABLISHED',
      },
      {
        kind: 'rule',
        line: 4,
        raw: '    0     0            all  --  *      *       0.0.0.0/0            0.0.0.0/0',
        chain: 'FORWARD',
        packets: 0,
        bytes: 0,
        target: null,
        prot: 'all',
        opt: '--',
        in: '*',
        out: '*',
        source: '0.0.0.0/0',
        destination: '0.0.0.0/0',
        extra: '',
      },
      { kind: 'total-rules', line: 6, raw: 'Total Number of Rules: 2', count: 2 },
    ]);
  });

  it("reads the stock script's nat listing: policies, references, suffixed counters, inverted columns, trailer", () => {
    const events = parseLines(iptablesListParser, STOCK_NAT);
    expect(ofKind(events, 'unparsed')).toEqual([]);
    expect(
      ofKind(events, 'chain').map((event) => [event.chain, event.policy, event.references ?? event.packets]),
    ).toEqual([
      ['PREROUTING', 'ACCEPT', 22],
      ['INPUT', 'ACCEPT', 0],
      ['OUTPUT', 'ACCEPT', 1544],
      ['POSTROUTING', 'ACCEPT', 1544],
      ['AWS-SNAT-CHAIN-0', null, 1],
      ['AWS-SNAT-CHAIN-1', null, 1],
      ['KUBE-KUBELET-CANARY', null, 0],
      ['KUBE-MARK-MASQ', null, 7],
    ]);
    expect(ofKind(events, 'column-header')).toHaveLength(8);

    const rules = ofKind(events, 'rule');
    expect(rules).toHaveLength(7);
    expect(ofKind(events, 'total-rules')).toEqual([expect.objectContaining({ count: rules.length, line: 32 })]);
    expect(rules.find((rule) => rule.chain === 'OUTPUT')).toMatchObject({ packets: 101_000, bytes: 6_097_000 });
    expect(rules.find((rule) => rule.chain === 'AWS-SNAT-CHAIN-0')).toMatchObject({
      target: 'AWS-SNAT-CHAIN-1',
      source: '0.0.0.0/0',
      destination: '!172.30.0.0/16',
      extra: '/* AWS SNAT CHAIN */',
    });
    expect(rules.find((rule) => rule.chain === 'AWS-SNAT-CHAIN-1')).toEqual({
      kind: 'rule',
      line: 23,
      raw: '  469 28172 SNAT       all  --  *      !vlan+  0.0.0.0/0            0.0.0.0/0            /* AWS, SNAT */ ADDRTYPE match dst-type !LOCAL to:172.30.47.189 random-fully',
      chain: 'AWS-SNAT-CHAIN-1',
      packets: 469,
      bytes: 28172,
      target: 'SNAT',
      prot: 'all',
      opt: '--',
      in: '*',
      out: '!vlan+',
      source: '0.0.0.0/0',
      destination: '0.0.0.0/0',
      extra: '/* AWS, SNAT */ ADDRTYPE match dst-type !LOCAL to:172.30.47.189 random-fully',
    });
    expect(rules.find((rule) => rule.target === 'KUBE-POSTROUTING')).toMatchObject({ packets: 15171, bytes: 926_000 });
  });

  it('reads ip6tables rows with an empty target and a protocol glued to the opt column', () => {
    const rules = ofKind(parseLines(iptablesListParser, IP6TABLES_CURRENT), 'rule');
    expect(rules.map((rule) => [rule.target, rule.prot, rule.opt, rule.in, rule.out, rule.extra])).toEqual([
      ['ACCEPT', 'all', '--', 'eth2', 'eth3', ''],
      [null, 'ipv6-icmp', '--', '*', '*', 'ipv6-icmptype 1 code 0'],
      [null, 'all', '--', '*', '*', 'dst length:42  rt type:23'],
      ['LOG', 'all', '--', '*', '*', 'frag id:1337 LOG flags 0 level 4'],
    ]);
    expect(rules[0]).toMatchObject({ source: 'feed:babe::1', destination: 'feed:babe::2' });
  });

  it('reads old ip6tables rows that have no opt column', () => {
    const rules = ofKind(parseLines(iptablesListParser, IP6TABLES_LEGACY), 'rule');
    expect(
      rules.map((rule) => [rule.target, rule.prot, rule.opt, rule.in, rule.out, rule.source, rule.destination]),
    ).toEqual([
      ['ACCEPT', 'all', null, 'eth2', 'eth3', 'feed:babe::1', 'feed:babe::2'],
      [null, 'ipv6-icmp', null, '*', '*', '::/0', '::/0'],
    ]);
    expect(rules[1]).toMatchObject({ packets: 2410, bytes: 181_000, extra: 'ipv6-icmptype 1 code 0' });
  });

  it('reads --line-numbers listings, inverted protocols and the other chain header forms', () => {
    const events = parseLines(
      iptablesListParser,
      [
        'Chain POSTROUTING (policy ACCEPT 226 packets, 14449 bytes)',
        'num   pkts bytes target     prot opt in     out     source               destination',
        '1    66643 4206K KUBE-POSTROUTING  all  --  *      *       0.0.0.0/0            0.0.0.0/0            /* kubernetes postrouting rules */',
        '2        0     0 DROP       !tcp  -f  eth0   *       10.0.0.0/8           0.0.0.0/0',
        '',
        'Chain KUBE-FORWARD (ERROR obtaining refs)',
        'Chain INPUT (policy ACCEPT 3386K packets, 2827M bytes)',
      ].join('\n'),
    );
    expect(
      ofKind(events, 'rule').map((rule) => [
        rule.ruleNumber,
        rule.packets,
        rule.bytes,
        rule.target,
        rule.prot,
        rule.opt,
      ]),
    ).toEqual([
      [1, 66643, 4_206_000, 'KUBE-POSTROUTING', 'all', '--'],
      [2, 0, 0, 'DROP', '!tcp', '-f'],
    ]);
    expect(ofKind(events, 'chain').slice(1)).toEqual([
      { kind: 'chain', line: 6, raw: 'Chain KUBE-FORWARD (ERROR obtaining refs)', chain: 'KUBE-FORWARD', policy: null },
      expect.objectContaining({ chain: 'INPUT', policy: 'ACCEPT', packets: 3_386_000, bytes: 2_827_000_000 }),
    ]);
  });

  it('reads exact counters (-x) and an empty target after them', () => {
    const rules = ofKind(
      parseLines(
        iptablesListParser,
        [
          'Chain FORWARD (policy DROP 12 packets, 720 bytes)',
          '    pkts      bytes target     prot opt in     out     source               destination',
          ' 1538112  775112334 KUBE-FORWARD  all  --  *      *       0.0.0.0/0            0.0.0.0/0',
          '       7        420            all  --  *      *       0.0.0.0/0            0.0.0.0/0',
        ].join('\n'),
      ),
      'rule',
    );
    expect(rules.map((rule) => [rule.packets, rule.bytes, rule.target])).toEqual([
      [1_538_112, 775_112_334, 'KUBE-FORWARD'],
      [7, 420, null],
    ]);
  });

  it('reports the legacy-tables notice as a warning', () => {
    const events = parseLines(iptablesListParser, [
      '# Warning: iptables-legacy tables present, use iptables-legacy to see them',
      ...HEADER_SAMPLE,
    ]);
    expect(events[0]).toEqual({
      kind: 'warning',
      line: 1,
      raw: '# Warning: iptables-legacy tables present, use iptables-legacy to see them',
      text: 'Warning: iptables-legacy tables present, use iptables-legacy to see them',
    });
  });

  it('keeps the columns of a row the reader cut, marked', () => {
    const raw = `  469 28172 SNAT       all  --  *      !vlan+  0.0.0.0/0            0.0.0.0/0            /* AWS, SN${LONG_LINE_MARK}`;
    const [rule] = ofKind(
      parseLines(iptablesListParser, `Chain AWS-SNAT-CHAIN-1 (1 references)\n${COLUMNS}\n${raw}`),
      'rule',
    );
    expect(rule).toMatchObject({ target: 'SNAT', out: '!vlan+', extra: '/* AWS, SN', cut: true });
  });

  it('marks rows before a chain, truncated rows, bad counters, non -v listings, junk and binary bytes unparsed', () => {
    const events = parseLines(
      iptablesListParser,
      [
        '    0     0 ACCEPT     all  --  *      *       0.0.0.0/0            0.0.0.0/0',
        "iptables v1.8.4 (legacy): can't initialize iptables table `nat': Permission denied (you must be root)",
        'Chain FORWARD (policy DROP 12 packets, 720 bytes)',
        '    0     0 ACCEPT     all  --  *',
        '   12X    34 ACCEPT     all  --  *      *       0.0.0.0/0            0.0.0.0/0',
        '\u0000\u0001\ufffd\ufffd',
        'Chain FORWARD (policy DROP 12 packets',
        'Chain FORWARD (policy DROP 12Q packets, 720 bytes)',
        '# some comment',
        'Total Number of Rules: many',
        'Chain INPUT (policy ACCEPT)',
        'target     prot opt source               destination',
        'ACCEPT     all  --  0.0.0.0/0            0.0.0.0/0',
      ].join('\n'),
    );
    expect(events.map((event) => [event.line, event.kind])).toEqual([
      [1, 'unparsed'],
      [2, 'unparsed'],
      [3, 'chain'],
      [4, 'unparsed'],
      [5, 'unparsed'],
      [6, 'unparsed'],
      [7, 'unparsed'],
      [8, 'unparsed'],
      [9, 'unparsed'],
      [10, 'unparsed'],
      [11, 'chain'],
      [12, 'column-header'],
      [13, 'unparsed'],
    ]);
    expect(events[0]).toMatchObject({ reason: 'rule row before any "Chain" header' });
    expect(events[3]).toMatchObject({ reason: 'expected in, out, source and destination columns' });
    expect(events[4]).toMatchObject({ reason: expect.stringContaining('packet and byte counters') });
    expect(events[10]).toEqual({
      kind: 'chain',
      line: 11,
      raw: 'Chain INPUT (policy ACCEPT)',
      chain: 'INPUT',
      policy: 'ACCEPT',
    });
    expect(events[12]).toMatchObject({ reason: 'listing without -v counters is not supported' });
  });
});
