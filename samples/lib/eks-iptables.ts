/**
 * The iptables state of an EKS worker: kube-proxy (iptables mode) service chains, kubelet's canaries and firewall,
 * the VPC CNI's SNAT and CONNMARK rules, and for 2019-era nodes Docker's chains and its `FORWARD DROP` policy.
 */
import {
  type Chain,
  comment,
  connmarkRestore,
  connmarkSetXmark,
  counted,
  ctstate,
  dnatTo,
  dport,
  dstTypeLocal,
  kubeChainHash,
  markMatch,
  masqueradeRandomFully,
  nfacct,
  protoMatch,
  type Rule,
  randomProbability,
  rejectWith,
  setXmark,
  snatTo,
  type Table,
} from './iptables.ts';
import type { Random } from './random.ts';

export interface ServicePort {
  namespace: string;
  name: string;
  portName: string;
  protocol: 'tcp' | 'udp';
  clusterIp: string;
  port: number;
  endpoints: { ip: string; port: number }[];
}

/** kube-proxy names service chains by hashing `ns/name:port` + protocol, so these four are the same in every cluster. */
export const WELL_KNOWN_SVC = {
  'kube-system/kube-dns:dns/udp': 'TCOU7JCQXEZGVUNU',
  'kube-system/kube-dns:dns-tcp/tcp': 'ERIFXISQEP7F7OF4',
  'kube-system/kube-dns:metrics/tcp': 'JD5MR3NA4I4DYORP',
  'default/kubernetes:https/tcp': 'NPX46M4PTMTKRN6Y',
} as const;
const wellKnownSvcByKey: Record<string, string> = WELL_KNOWN_SVC;

/** The nat chains kube-proxy (iptables mode) creates on every node before any service has endpoints. */
export const KUBE_PROXY_NAT_CHAINS = [
  'KUBE-KUBELET-CANARY',
  'KUBE-MARK-MASQ',
  'KUBE-NODEPORTS',
  'KUBE-POSTROUTING',
  'KUBE-PROXY-CANARY',
  'KUBE-SERVICES',
];

export interface EksRulesetOptions {
  random: Random;
  era: 'modern' | '2019';
  nodeIp: string;
  primaryInterface: string;
  vpcCidr: string;
  services: ServicePort[];
  forwardPolicy: 'ACCEPT' | 'DROP';
  /** Packets and bytes the FORWARD policy has handled (dropped, when the policy is DROP); derived when absent. */
  forwardPolicyCounters?: { packets: number; bytes: number };
  /** Rough packet volume since boot, to scale counters. */
  trafficScale: number;
  /** kube-proxy ≥1.29 counts INVALID drops with nfacct. */
  nfacctInvalid: boolean;
}

const builtin = (name: string, policy: 'ACCEPT' | 'DROP', packets: number, bytes: number): Chain => ({
  name,
  policy,
  packets,
  bytes,
});
const userChain = (name: string): Chain => ({ name, packets: 0, bytes: 0 });

export function eksRuleset(options: EksRulesetOptions): { filter: Table; nat: Table; mangle: Table } {
  const { random } = options;
  const scale = options.trafficScale;
  const c = (around: number, bytesPerPacket?: number) => counted(random, Math.round(around * scale), bytesPerPacket);
  const modern = options.era === 'modern';

  // ---------------------------------------------------------------- filter
  const filterRules: Rule[] = [];
  const add = (rules: Rule[], rule: Omit<Rule, 'packets' | 'bytes'>, traffic = c(0)): void => {
    rules.push({ ...rule, ...traffic });
  };
  // Counters follow the packet paths: every INPUT packet walks KUBE-NODEPORTS and KUBE-FIREWALL and then hits the
  // policy; FORWARD packets that are not RELATED/ESTABLISHED (or marked) fall through to the policy.
  const inputAll = c(3_276_810, 900);
  const outputAll = c(3_096_044, 185);
  const forwardAll = c(96_000, 310);
  const inputNew = c(4_100, 60);
  const outputNew = c(9_800, 60);
  const forwardPolicy = options.forwardPolicyCounters ?? {
    packets: Math.round(forwardAll.packets * 0.031),
    bytes: Math.round(forwardAll.packets * 0.031 * 64),
  };
  const forwardNew = { packets: forwardPolicy.packets + 40, bytes: forwardPolicy.bytes + 2_600 };
  const invalid = c(3, 52);
  const marked = c(40, 72);
  const established = {
    packets: Math.max(0, forwardAll.packets - forwardNew.packets - invalid.packets - marked.packets),
    bytes: Math.max(0, forwardAll.bytes - forwardNew.bytes - invalid.bytes - marked.bytes),
  };
  if (modern) {
    add(
      filterRules,
      {
        chain: 'INPUT',
        matches: [ctstate('NEW'), comment('kubernetes load balancer firewall')],
        target: 'KUBE-PROXY-FIREWALL',
      },
      inputNew,
    );
    add(
      filterRules,
      { chain: 'INPUT', matches: [comment('kubernetes health check service ports')], target: 'KUBE-NODEPORTS' },
      inputAll,
    );
    add(
      filterRules,
      {
        chain: 'INPUT',
        matches: [ctstate('NEW'), comment('kubernetes externally-visible service portals')],
        target: 'KUBE-EXTERNAL-SERVICES',
      },
      inputNew,
    );
    add(filterRules, { chain: 'INPUT', target: 'KUBE-FIREWALL' }, inputAll);
    add(
      filterRules,
      {
        chain: 'FORWARD',
        matches: [ctstate('NEW'), comment('kubernetes load balancer firewall')],
        target: 'KUBE-PROXY-FIREWALL',
      },
      forwardNew,
    );
    add(
      filterRules,
      { chain: 'FORWARD', matches: [comment('kubernetes forwarding rules')], target: 'KUBE-FORWARD' },
      forwardAll,
    );
    add(
      filterRules,
      { chain: 'FORWARD', matches: [ctstate('NEW'), comment('kubernetes service portals')], target: 'KUBE-SERVICES' },
      forwardNew,
    );
    add(
      filterRules,
      {
        chain: 'FORWARD',
        matches: [ctstate('NEW'), comment('kubernetes externally-visible service portals')],
        target: 'KUBE-EXTERNAL-SERVICES',
      },
      forwardNew,
    );
    add(
      filterRules,
      {
        chain: 'OUTPUT',
        matches: [ctstate('NEW'), comment('kubernetes load balancer firewall')],
        target: 'KUBE-PROXY-FIREWALL',
      },
      outputNew,
    );
    add(
      filterRules,
      { chain: 'OUTPUT', matches: [ctstate('NEW'), comment('kubernetes service portals')], target: 'KUBE-SERVICES' },
      outputNew,
    );
    add(filterRules, { chain: 'OUTPUT', target: 'KUBE-FIREWALL' }, outputAll);
    add(filterRules, {
      chain: 'KUBE-FIREWALL',
      source: '127.0.0.0/8',
      notSource: true,
      destination: '127.0.0.0/8',
      matches: [comment('block incoming localnet connections'), ctstate('RELATED,ESTABLISHED,DNAT', true)],
      target: 'DROP',
    });
    add(
      filterRules,
      {
        chain: 'KUBE-FORWARD',
        matches: options.nfacctInvalid
          ? [ctstate('INVALID'), nfacct('ct_state_invalid_dropped_pkts')]
          : [ctstate('INVALID')],
        target: 'DROP',
      },
      invalid,
    );
    add(
      filterRules,
      {
        chain: 'KUBE-FORWARD',
        matches: [comment('kubernetes forwarding rules'), markMatch('0x4000/0x4000')],
        target: 'ACCEPT',
      },
      marked,
    );
    add(
      filterRules,
      {
        chain: 'KUBE-FORWARD',
        matches: [comment('kubernetes forwarding conntrack rule'), ctstate('RELATED,ESTABLISHED')],
        target: 'ACCEPT',
      },
      established,
    );
  } else {
    add(
      filterRules,
      { chain: 'INPUT', matches: [ctstate('NEW'), comment('kubernetes service portals')], target: 'KUBE-SERVICES' },
      inputNew,
    );
    add(
      filterRules,
      {
        chain: 'INPUT',
        matches: [ctstate('NEW'), comment('kubernetes externally-visible service portals')],
        target: 'KUBE-EXTERNAL-SERVICES',
      },
      inputNew,
    );
    add(filterRules, { chain: 'INPUT', target: 'KUBE-FIREWALL' }, inputAll);
    add(
      filterRules,
      { chain: 'FORWARD', matches: [comment('kubernetes forwarding rules')], target: 'KUBE-FORWARD' },
      forwardAll,
    );
    add(
      filterRules,
      { chain: 'FORWARD', matches: [ctstate('NEW'), comment('kubernetes service portals')], target: 'KUBE-SERVICES' },
      forwardNew,
    );
    add(
      filterRules,
      { chain: 'FORWARD', target: 'DOCKER-USER' },
      { packets: forwardAll.packets - marked.packets, bytes: forwardAll.bytes - marked.bytes },
    );
    add(
      filterRules,
      { chain: 'FORWARD', target: 'DOCKER-ISOLATION-STAGE-1' },
      { packets: forwardAll.packets - marked.packets, bytes: forwardAll.bytes - marked.bytes },
    );
    add(
      filterRules,
      { chain: 'OUTPUT', matches: [ctstate('NEW'), comment('kubernetes service portals')], target: 'KUBE-SERVICES' },
      outputNew,
    );
    add(filterRules, { chain: 'OUTPUT', target: 'KUBE-FIREWALL' }, outputAll);
    add(
      filterRules,
      { chain: 'DOCKER-ISOLATION-STAGE-1', target: 'RETURN' },
      { packets: forwardAll.packets - marked.packets, bytes: forwardAll.bytes - marked.bytes },
    );
    add(filterRules, { chain: 'DOCKER-ISOLATION-STAGE-2', target: 'RETURN' });
    add(
      filterRules,
      { chain: 'DOCKER-USER', target: 'RETURN' },
      { packets: forwardAll.packets - marked.packets, bytes: forwardAll.bytes - marked.bytes },
    );
    add(filterRules, {
      chain: 'KUBE-FIREWALL',
      matches: [comment('kubernetes firewall for dropping marked packets'), markMatch('0x8000/0x8000')],
      target: 'DROP',
    });
    add(
      filterRules,
      {
        chain: 'KUBE-FORWARD',
        matches: [comment('kubernetes forwarding rules'), markMatch('0x4000/0x4000')],
        target: 'ACCEPT',
      },
      marked,
    );
  }
  for (const service of options.services.filter((s) => s.endpoints.length === 0)) {
    add(filterRules, {
      chain: 'KUBE-SERVICES',
      destination: `${service.clusterIp}/32`,
      protocol: service.protocol,
      matches: [
        comment(`${service.namespace}/${service.name}:${service.portName} has no endpoints`),
        dport(service.protocol, service.port),
      ],
      target: 'REJECT',
      targetOptions: rejectWith('icmp-port-unreachable'),
    });
  }
  const filterChains: Chain[] = [
    builtin('INPUT', 'ACCEPT', inputAll.packets, inputAll.bytes),
    builtin('FORWARD', options.forwardPolicy, forwardPolicy.packets, forwardPolicy.bytes),
    builtin('OUTPUT', 'ACCEPT', outputAll.packets, outputAll.bytes),
    ...(modern
      ? [
          'KUBE-EXTERNAL-SERVICES',
          'KUBE-FIREWALL',
          'KUBE-FORWARD',
          'KUBE-KUBELET-CANARY',
          'KUBE-NODEPORTS',
          'KUBE-PROXY-CANARY',
          'KUBE-PROXY-FIREWALL',
          'KUBE-SERVICES',
        ]
      : [
          'DOCKER',
          'DOCKER-ISOLATION-STAGE-1',
          'DOCKER-ISOLATION-STAGE-2',
          'DOCKER-USER',
          'KUBE-EXTERNAL-SERVICES',
          'KUBE-FIREWALL',
          'KUBE-FORWARD',
          'KUBE-SERVICES',
        ]
    ).map(userChain),
  ];

  // ---------------------------------------------------------------- nat
  const natRules: Rule[] = [];
  const natChains: Chain[] = [
    builtin('PREROUTING', 'ACCEPT', Math.round(21_400 * scale), Math.round(1_284_000 * scale)),
    builtin('INPUT', 'ACCEPT', Math.round(9_100 * scale), Math.round(546_000 * scale)),
    builtin('OUTPUT', 'ACCEPT', Math.round(61_300 * scale), Math.round(3_890_000 * scale)),
    builtin('POSTROUTING', 'ACCEPT', Math.round(58_900 * scale), Math.round(3_702_000 * scale)),
  ];
  add(
    natRules,
    { chain: 'PREROUTING', matches: [comment('kubernetes service portals')], target: 'KUBE-SERVICES' },
    c(21_400, 60),
  );
  if (modern) {
    add(
      natRules,
      {
        chain: 'PREROUTING',
        inInterface: 'eni+',
        matches: [comment('AWS, outbound connections')],
        target: 'AWS-CONNMARK-CHAIN-0',
      },
      c(11_900, 60),
    );
    add(natRules, {
      chain: 'PREROUTING',
      inInterface: 'vlan+',
      matches: [comment('AWS, outbound connections')],
      target: 'AWS-CONNMARK-CHAIN-0',
    });
    add(
      natRules,
      {
        chain: 'PREROUTING',
        matches: [comment('AWS, CONNMARK')],
        target: 'CONNMARK',
        targetOptions: connmarkRestore(0x80),
      },
      c(21_400, 60),
    );
  }
  add(
    natRules,
    { chain: 'OUTPUT', matches: [comment('kubernetes service portals')], target: 'KUBE-SERVICES' },
    c(61_300, 63),
  );
  add(
    natRules,
    { chain: 'POSTROUTING', matches: [comment('kubernetes postrouting rules')], target: 'KUBE-POSTROUTING' },
    c(58_900, 63),
  );
  if (modern) {
    add(
      natRules,
      { chain: 'POSTROUTING', matches: [comment('AWS SNAT CHAIN')], target: 'AWS-SNAT-CHAIN-0' },
      c(58_700, 63),
    );
    add(
      natRules,
      {
        chain: 'AWS-CONNMARK-CHAIN-0',
        destination: options.vpcCidr,
        matches: [comment('AWS CONNMARK CHAIN, VPC CIDR')],
        target: 'RETURN',
      },
      c(10_200, 60),
    );
    add(
      natRules,
      {
        chain: 'AWS-CONNMARK-CHAIN-0',
        matches: [comment('AWS, CONNMARK')],
        target: 'CONNMARK',
        targetOptions: connmarkSetXmark(0x80, 0x80),
      },
      c(1_700, 60),
    );
    add(
      natRules,
      {
        chain: 'AWS-SNAT-CHAIN-0',
        destination: options.vpcCidr,
        matches: [comment('AWS SNAT CHAIN')],
        target: 'RETURN',
      },
      c(52_100, 63),
    );
    add(
      natRules,
      {
        chain: 'AWS-SNAT-CHAIN-0',
        outInterface: 'vlan+',
        notOut: true,
        matches: [comment('AWS, SNAT'), dstTypeLocal(true)],
        target: 'SNAT',
        targetOptions: snatTo(options.nodeIp, true),
      },
      c(1_650, 60),
    );
    natChains.push(userChain('AWS-CONNMARK-CHAIN-0'), userChain('AWS-SNAT-CHAIN-0'));
  } else {
    add(
      natRules,
      { chain: 'POSTROUTING', matches: [comment('AWS SNAT CHAN')], target: 'AWS-SNAT-CHAIN-0' },
      c(58_700, 63),
    );
    add(
      natRules,
      {
        chain: 'AWS-SNAT-CHAIN-0',
        destination: options.vpcCidr,
        notDestination: true,
        matches: [comment('AWS SNAT CHAN')],
        target: 'AWS-SNAT-CHAIN-1',
      },
      c(6_200, 63),
    );
    add(
      natRules,
      {
        chain: 'AWS-SNAT-CHAIN-1',
        matches: [comment('AWS, SNAT'), dstTypeLocal(true)],
        target: 'SNAT',
        targetOptions: snatTo(options.nodeIp, false),
      },
      c(1_650, 60),
    );
    natChains.push(
      userChain('AWS-SNAT-CHAIN-0'),
      userChain('AWS-SNAT-CHAIN-1'),
      userChain('DOCKER'),
      userChain('KUBE-MARK-DROP'),
    );
    add(natRules, { chain: 'KUBE-MARK-DROP', target: 'MARK', targetOptions: setXmark(0x8000, 0x8000) });
  }
  add(natRules, { chain: 'KUBE-MARK-MASQ', target: 'MARK', targetOptions: setXmark(0x4000, 0x4000) }, c(30));
  if (modern) {
    add(
      natRules,
      { chain: 'KUBE-POSTROUTING', matches: [markMatch('0x4000/0x4000', true)], target: 'RETURN' },
      c(58_800, 63),
    );
    add(natRules, { chain: 'KUBE-POSTROUTING', target: 'MARK', targetOptions: setXmark(0x4000, 0) }, c(30));
    add(
      natRules,
      {
        chain: 'KUBE-POSTROUTING',
        matches: [comment('kubernetes service traffic requiring SNAT')],
        target: 'MASQUERADE',
        targetOptions: masqueradeRandomFully(),
      },
      c(30),
    );
  } else {
    add(
      natRules,
      {
        chain: 'KUBE-POSTROUTING',
        matches: [comment('kubernetes service traffic requiring SNAT'), markMatch('0x4000/0x4000')],
        target: 'MASQUERADE',
      },
      c(30),
    );
  }
  natChains.push(
    userChain('KUBE-MARK-MASQ'),
    userChain('KUBE-NODEPORTS'),
    userChain('KUBE-POSTROUTING'),
    userChain('KUBE-SERVICES'),
  );
  if (modern) natChains.push(userChain('KUBE-KUBELET-CANARY'), userChain('KUBE-PROXY-CANARY'));

  for (const service of options.services) {
    if (service.endpoints.length === 0) continue;
    const key = `${service.namespace}/${service.name}:${service.portName}`;
    const svcChain = `KUBE-SVC-${wellKnownSvcByKey[`${key}/${service.protocol}`] ?? kubeChainHash(random)}`;
    natChains.push(userChain(svcChain));
    add(
      natRules,
      {
        chain: 'KUBE-SERVICES',
        destination: `${service.clusterIp}/32`,
        protocol: service.protocol,
        matches: [comment(`${key} cluster IP`), dport(service.protocol, service.port)],
        target: svcChain,
      },
      c(service.protocol === 'udp' ? 4_800 : 600, 64),
    );
    service.endpoints.forEach((endpoint, index) => {
      const sepChain = `KUBE-SEP-${kubeChainHash(random)}`;
      natChains.push(userChain(sepChain));
      const remaining = service.endpoints.length - index;
      const matches = modern ? [comment(`${key} -> ${endpoint.ip}:${endpoint.port}`)] : [];
      if (remaining > 1) matches.push(randomProbability(1 / remaining));
      add(
        natRules,
        { chain: svcChain, matches, target: sepChain },
        c(service.protocol === 'udp' ? 4_800 / service.endpoints.length : 300, 64),
      );
      add(natRules, {
        chain: sepChain,
        source: `${endpoint.ip}/32`,
        matches: [comment(key)],
        target: 'KUBE-MARK-MASQ',
      });
      add(
        natRules,
        {
          chain: sepChain,
          protocol: service.protocol,
          matches: [comment(key), protoMatch(service.protocol)],
          target: 'DNAT',
          targetOptions: dnatTo(`${endpoint.ip}:${endpoint.port}`),
        },
        c(service.protocol === 'udp' ? 4_800 / service.endpoints.length : 300, 64),
      );
    });
  }
  add(
    natRules,
    {
      chain: 'KUBE-SERVICES',
      matches: [
        comment('kubernetes service nodeports; NOTE: this must be the last rule in this chain'),
        dstTypeLocal(),
      ],
      target: 'KUBE-NODEPORTS',
    },
    c(9_100, 60),
  );

  // ---------------------------------------------------------------- mangle
  const mangleRules: Rule[] = [];
  add(
    mangleRules,
    {
      chain: 'PREROUTING',
      inInterface: options.primaryInterface,
      matches: [comment('AWS, primary ENI'), dstTypeLocal(false, true)],
      target: 'CONNMARK',
      targetOptions: connmarkSetXmark(0x80, 0x80),
    },
    { packets: Math.round(inputAll.packets * 0.97), bytes: Math.round(inputAll.bytes * 0.97) },
  );
  add(
    mangleRules,
    {
      chain: 'PREROUTING',
      inInterface: 'eni+',
      matches: [comment('AWS, primary ENI')],
      target: 'CONNMARK',
      targetOptions: connmarkRestore(0x80),
    },
    {
      packets: Math.round(forwardAll.packets * 0.52 + outputNew.packets),
      bytes: Math.round(forwardAll.bytes * 0.4),
    },
  );
  if (modern) {
    add(mangleRules, {
      chain: 'PREROUTING',
      inInterface: 'vlan+',
      matches: [comment('AWS, primary ENI')],
      target: 'CONNMARK',
      targetOptions: connmarkRestore(0x80),
    });
  }
  const mangleChains: Chain[] = [
    builtin('PREROUTING', 'ACCEPT', inputAll.packets + forwardAll.packets, inputAll.bytes + forwardAll.bytes),
    builtin('INPUT', 'ACCEPT', inputAll.packets, inputAll.bytes),
    builtin('FORWARD', 'ACCEPT', forwardAll.packets, forwardAll.bytes),
    builtin('OUTPUT', 'ACCEPT', outputAll.packets, outputAll.bytes),
    builtin('POSTROUTING', 'ACCEPT', outputAll.packets + forwardAll.packets, outputAll.bytes + forwardAll.bytes),
    ...(modern ? ['KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY', 'KUBE-PROXY-CANARY'].map(userChain) : []),
  ];
  return {
    filter: { name: 'filter', chains: filterChains, rules: filterRules },
    nat: { name: 'nat', chains: natChains, rules: natRules },
    mangle: { name: 'mangle', chains: mangleChains, rules: mangleRules },
  };
}

/** IPv6 on an IPv4 cluster: kubelet's and kube-proxy's chains exist, no service rules. */
export function eksIpv6Ruleset(): { filter: Table; nat: Table; mangle: Table } {
  const chains = (names: string[], builtins: string[]): Chain[] => [
    ...builtins.map((name) => builtin(name, 'ACCEPT', 0, 0)),
    ...names.map(userChain),
  ];
  // Nothing has reached these rules: the cluster has no IPv6 traffic.
  const uncounted = (rules: Omit<Rule, 'packets' | 'bytes'>[]): Rule[] =>
    rules.map((rule) => ({ ...rule, packets: 0, bytes: 0 }));
  return {
    filter: {
      name: 'filter',
      chains: chains(
        [
          'KUBE-EXTERNAL-SERVICES',
          'KUBE-FIREWALL',
          'KUBE-FORWARD',
          'KUBE-KUBELET-CANARY',
          'KUBE-NODEPORTS',
          'KUBE-PROXY-CANARY',
          'KUBE-PROXY-FIREWALL',
          'KUBE-SERVICES',
        ],
        ['INPUT', 'FORWARD', 'OUTPUT'],
      ),
      rules: uncounted([
        {
          chain: 'INPUT',
          matches: [ctstate('NEW'), comment('kubernetes load balancer firewall')],
          target: 'KUBE-PROXY-FIREWALL',
        },
        { chain: 'INPUT', matches: [comment('kubernetes health check service ports')], target: 'KUBE-NODEPORTS' },
        {
          chain: 'INPUT',
          matches: [ctstate('NEW'), comment('kubernetes externally-visible service portals')],
          target: 'KUBE-EXTERNAL-SERVICES',
        },
        {
          chain: 'FORWARD',
          matches: [ctstate('NEW'), comment('kubernetes load balancer firewall')],
          target: 'KUBE-PROXY-FIREWALL',
        },
        { chain: 'FORWARD', matches: [comment('kubernetes forwarding rules')], target: 'KUBE-FORWARD' },
        { chain: 'FORWARD', matches: [ctstate('NEW'), comment('kubernetes service portals')], target: 'KUBE-SERVICES' },
        {
          chain: 'FORWARD',
          matches: [ctstate('NEW'), comment('kubernetes externally-visible service portals')],
          target: 'KUBE-EXTERNAL-SERVICES',
        },
        {
          chain: 'OUTPUT',
          matches: [ctstate('NEW'), comment('kubernetes load balancer firewall')],
          target: 'KUBE-PROXY-FIREWALL',
        },
        { chain: 'OUTPUT', matches: [ctstate('NEW'), comment('kubernetes service portals')], target: 'KUBE-SERVICES' },
        { chain: 'KUBE-FORWARD', matches: [ctstate('INVALID')], target: 'DROP' },
        {
          chain: 'KUBE-FORWARD',
          matches: [comment('kubernetes forwarding rules'), markMatch('0x4000/0x4000')],
          target: 'ACCEPT',
        },
        {
          chain: 'KUBE-FORWARD',
          matches: [comment('kubernetes forwarding conntrack rule'), ctstate('RELATED,ESTABLISHED')],
          target: 'ACCEPT',
        },
      ]),
    },
    nat: {
      name: 'nat',
      chains: chains(KUBE_PROXY_NAT_CHAINS, ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']),
      rules: uncounted([
        { chain: 'PREROUTING', matches: [comment('kubernetes service portals')], target: 'KUBE-SERVICES' },
        { chain: 'OUTPUT', matches: [comment('kubernetes service portals')], target: 'KUBE-SERVICES' },
        { chain: 'POSTROUTING', matches: [comment('kubernetes postrouting rules')], target: 'KUBE-POSTROUTING' },
        { chain: 'KUBE-MARK-MASQ', target: 'MARK', targetOptions: setXmark(0x4000, 0x4000) },
        { chain: 'KUBE-POSTROUTING', matches: [markMatch('0x4000/0x4000', true)], target: 'RETURN' },
        { chain: 'KUBE-POSTROUTING', target: 'MARK', targetOptions: setXmark(0x4000, 0) },
        {
          chain: 'KUBE-POSTROUTING',
          matches: [comment('kubernetes service traffic requiring SNAT')],
          target: 'MASQUERADE',
          targetOptions: masqueradeRandomFully(),
        },
        {
          chain: 'KUBE-SERVICES',
          matches: [
            comment('kubernetes service nodeports; NOTE: this must be the last rule in this chain'),
            dstTypeLocal(),
          ],
          target: 'KUBE-NODEPORTS',
        },
      ]),
    },
    mangle: {
      name: 'mangle',
      chains: chains(
        ['KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY', 'KUBE-PROXY-CANARY'],
        ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
      ),
      rules: [],
    },
  };
}
