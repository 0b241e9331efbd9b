/**
 * The iptables state of a simulated EKS worker, as `iptables-restore -c` input: kube-proxy's service chains,
 * kubelet's firewall, the VPC CNI's SNAT and CONNMARK rules, and the scenario's FORWARD policy with its counters.
 * Every match used here loads on the Debian 12 kernels the tests run on (nfacct, which kube-proxy 1.29+ adds to
 * the INVALID drop, does not, so it is left out).
 */
import { KUBE_PROXY_NAT_CHAINS, WELL_KNOWN_SVC } from '../../../samples/lib/eks-iptables.ts';
import { createRandom } from '../random.ts';
import type { NodeScenario } from '../scenarios.ts';
import type { NodeStory } from './story.ts';

const KUBE_DNS_UDP = `KUBE-SVC-${WELL_KNOWN_SVC['kube-system/kube-dns:dns/udp']}`;
const KUBE_DNS_TCP = `KUBE-SVC-${WELL_KNOWN_SVC['kube-system/kube-dns:dns-tcp/tcp']}`;
const KUBERNETES_HTTPS = `KUBE-SVC-${WELL_KNOWN_SVC['default/kubernetes:https/tcp']}`;

export function iptablesRules(scenario: NodeScenario, story: NodeStory): string {
  const random = createRandom(`iptables/${scenario.name}`);
  const { node, iptables } = scenario;
  const scale = node.uptimeMinutes / 60;
  const count = (packets: number, bytesPerPacket: number): [number, number] => {
    const p = Math.round(packets * scale * (0.9 + random.next() * 0.2));
    return [p, p * bytesPerPacket];
  };
  const c = ([packets, bytes]: [number, number]) => `[${packets}:${bytes}]`;
  const inputAll = count(364_000, 900);
  const outputAll = count(344_000, 185);
  const forwardAll = count(10_700, 310);
  const policy = iptables.forwardPolicyCounters;
  const dnsEndpoints = story.pods.filter((pod) => pod.namespace === 'kube-system' && pod.name.startsWith('coredns-'));
  const apiEndpoints = ['10.0.12.81', '10.0.97.140'];
  const sep = () => `KUBE-SEP-${random.podSuffix(16).toUpperCase()}`;

  const natChains = [
    'AWS-CONNMARK-CHAIN-0',
    'AWS-SNAT-CHAIN-0',
    ...KUBE_PROXY_NAT_CHAINS,
    KUBE_DNS_TCP,
    KUBERNETES_HTTPS,
    KUBE_DNS_UDP,
  ];
  const natRules: string[] = [
    `${c(count(2_400, 60))} -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
    `${c(count(1_300, 60))} -A PREROUTING -i eni+ -m comment --comment "AWS, outbound connections" -j AWS-CONNMARK-CHAIN-0`,
    `[0:0] -A PREROUTING -i vlan+ -m comment --comment "AWS, outbound connections" -j AWS-CONNMARK-CHAIN-0`,
    `${c(count(2_400, 60))} -A PREROUTING -m comment --comment "AWS, CONNMARK" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80`,
    `${c(count(6_800, 63))} -A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
    `${c(count(6_500, 63))} -A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING`,
    `${c(count(6_500, 63))} -A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0`,
    `${c(count(1_100, 60))} -A AWS-CONNMARK-CHAIN-0 -d ${node.vpcCidr} -m comment --comment "AWS CONNMARK CHAIN, VPC CIDR" -j RETURN`,
    `${c(count(190, 60))} -A AWS-CONNMARK-CHAIN-0 -m comment --comment "AWS, CONNMARK" -j CONNMARK --set-xmark 0x80/0x80`,
    `${c(count(5_800, 63))} -A AWS-SNAT-CHAIN-0 -d ${node.vpcCidr} -m comment --comment "AWS SNAT CHAIN" -j RETURN`,
    `${c(count(180, 60))} -A AWS-SNAT-CHAIN-0 ! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL -j SNAT --to-source ${node.privateIp} --random-fully`,
    `${c(count(4, 60))} -A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000`,
    `${c(count(6_500, 63))} -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN`,
    `${c(count(4, 60))} -A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0`,
    `${c(count(4, 60))} -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully`,
    `${c(count(530, 64))} -A KUBE-SERVICES -d 172.20.0.1/32 -p tcp -m comment --comment "default/kubernetes:https cluster IP" -m tcp --dport 443 -j ${KUBERNETES_HTTPS}`,
    `${c(count(1_600, 64))} -A KUBE-SERVICES -d ${node.clusterDnsIp}/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j ${KUBE_DNS_UDP}`,
    `${c(count(40, 64))} -A KUBE-SERVICES -d ${node.clusterDnsIp}/32 -p tcp -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp --dport 53 -j ${KUBE_DNS_TCP}`,
  ];
  const endpointRules = (svc: string, key: string, proto: 'tcp' | 'udp', endpoints: string[], port: number) => {
    endpoints.forEach((ip, index) => {
      const chain = sep();
      natChains.push(chain);
      const remaining = endpoints.length - index;
      const probability =
        remaining > 1 ? ` -m statistic --mode random --probability ${(1 / remaining).toFixed(11)}` : '';
      natRules.push(
        `${c(count(300, 64))} -A ${svc} -m comment --comment "${key} -> ${ip}:${port}"${probability} -j ${chain}`,
        `[0:0] -A ${chain} -s ${ip}/32 -m comment --comment "${key}" -j KUBE-MARK-MASQ`,
        `${c(count(300, 64))} -A ${chain} -p ${proto} -m comment --comment "${key}" -m ${proto} -j DNAT --to-destination ${ip}:${port}`,
      );
    });
  };
  endpointRules(KUBERNETES_HTTPS, 'default/kubernetes:https', 'tcp', apiEndpoints, 443);
  const dnsIps = dnsEndpoints.map((pod) => pod.ip);
  endpointRules(KUBE_DNS_UDP, 'kube-system/kube-dns:dns', 'udp', dnsIps, 53);
  endpointRules(KUBE_DNS_TCP, 'kube-system/kube-dns:dns-tcp', 'tcp', dnsIps, 53);
  natRules.push(
    `${c(count(1_000, 60))} -A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`,
  );

  const forwardNew = count(40, 64);
  const established = count(10_500, 311);
  const text = [
    '*mangle',
    `:PREROUTING ACCEPT ${c([inputAll[0] + forwardAll[0], inputAll[1] + forwardAll[1]])}`,
    `:INPUT ACCEPT ${c(inputAll)}`,
    `:FORWARD ACCEPT ${c(forwardAll)}`,
    `:OUTPUT ACCEPT ${c(outputAll)}`,
    `:POSTROUTING ACCEPT ${c([outputAll[0] + forwardAll[0], outputAll[1] + forwardAll[1]])}`,
    ':KUBE-IPTABLES-HINT - [0:0]',
    ':KUBE-KUBELET-CANARY - [0:0]',
    ':KUBE-PROXY-CANARY - [0:0]',
    `${c(count(353_000, 900))} -A PREROUTING -i ens5 -m comment --comment "AWS, primary ENI" -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark 0x80/0x80`,
    `${c(count(6_600, 200))} -A PREROUTING -i eni+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80`,
    '[0:0] -A PREROUTING -i vlan+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
    'COMMIT',
    '*nat',
    `:PREROUTING ACCEPT ${c(count(2_400, 60))}`,
    `:INPUT ACCEPT ${c(count(1_000, 60))}`,
    `:OUTPUT ACCEPT ${c(count(6_800, 63))}`,
    `:POSTROUTING ACCEPT ${c(count(6_500, 63))}`,
    ...natChains.map((chain) => `:${chain} - [0:0]`),
    ...natRules,
    'COMMIT',
    '*filter',
    `:INPUT ACCEPT ${c(inputAll)}`,
    `:FORWARD ${iptables.forwardPolicy} [${policy.packets}:${policy.bytes}]`,
    `:OUTPUT ACCEPT ${c(outputAll)}`,
    ':KUBE-EXTERNAL-SERVICES - [0:0]',
    ':KUBE-FIREWALL - [0:0]',
    ':KUBE-FORWARD - [0:0]',
    ':KUBE-KUBELET-CANARY - [0:0]',
    ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-PROXY-CANARY - [0:0]',
    ':KUBE-PROXY-FIREWALL - [0:0]',
    ':KUBE-SERVICES - [0:0]',
    `${c(count(460, 60))} -A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL`,
    `${c(inputAll)} -A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS`,
    `${c(count(460, 60))} -A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES`,
    `${c(inputAll)} -A INPUT -j KUBE-FIREWALL`,
    `${c([forwardNew[0] + policy.packets, forwardNew[1] + policy.bytes])} -A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL`,
    `${c(forwardAll)} -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD`,
    `${c([forwardNew[0] + policy.packets, forwardNew[1] + policy.bytes])} -A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
    `${c([forwardNew[0] + policy.packets, forwardNew[1] + policy.bytes])} -A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES`,
    `${c(count(1_090, 60))} -A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL`,
    `${c(count(1_090, 60))} -A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
    `${c(outputAll)} -A OUTPUT -j KUBE-FIREWALL`,
    '[0:0] -A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    `${c(count(1, 52))} -A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP`,
    `${c(count(5, 72))} -A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT`,
    `${c(established)} -A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    'COMMIT',
    '',
  ];
  return text.join('\n');
}

/** ip6tables on an IPv4 cluster: kubelet's and kube-proxy's chains exist, no rules that match anything. */
export function ip6tablesRules(): string {
  return [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':KUBE-FIREWALL - [0:0]',
    ':KUBE-FORWARD - [0:0]',
    ':KUBE-KUBELET-CANARY - [0:0]',
    ':KUBE-PROXY-CANARY - [0:0]',
    '[0:0] -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '[0:0] -A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
    'COMMIT',
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':KUBE-KUBELET-CANARY - [0:0]',
    ':KUBE-PROXY-CANARY - [0:0]',
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * Rules in the legacy backend beside the nf_tables ones: what a kube-proxy image that picked iptables-legacy leaves
 * on a host whose own iptables uses nf_tables. iptables-save then warns that legacy tables are present.
 */
export function legacyIptablesRules(): string {
  return [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':KUBE-FIREWALL - [0:0]',
    ':KUBE-KUBELET-CANARY - [0:0]',
    '-A INPUT -j KUBE-FIREWALL',
    '-A OUTPUT -j KUBE-FIREWALL',
    '-A KUBE-FIREWALL -m comment --comment "kubernetes firewall for dropping marked packets" -m mark --mark 0x8000/0x8000 -j DROP',
    'COMMIT',
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':KUBE-MARK-DROP - [0:0]',
    ':KUBE-MARK-MASQ - [0:0]',
    '-A KUBE-MARK-DROP -j MARK --set-xmark 0x8000/0x8000',
    '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
    'COMMIT',
    '',
  ].join('\n');
}
