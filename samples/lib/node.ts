/**
 * A simulated worker node: identity, hardware, software versions and the clock of the collection. Everything a
 * scenario renders reads from one profile so that hostnames, IPs and versions agree across files.
 */
import type { Micros } from './time.ts';

export type NodeOs = 'al2023' | 'al2' | 'al2-2019';

export interface NodeProfile {
  /** Seed for every random choice rendered for this node. */
  seed: string;
  os: NodeOs;
  clusterName: string;
  instanceId: string;
  instanceType: string;
  cpuCount: number;
  memTotalKb: number;
  region: string;
  availabilityZone: string;
  amiId: string;
  /** Primary private IPv4 and its EC2 hostname (`ip-10-0-77-201.us-west-2.compute.internal`). */
  privateIp: string;
  vpcCidr: string;
  subnetCidr: string;
  subnetId: string;
  serviceCidr: string;
  clusterDnsIp: string;
  apiServerEndpoint: string;
  kernel: string;
  kubeletVersion: string;
  containerdVersion: string;
  /** The aws-node image tag, e.g. `v1.19.2-eksbuild.1`. */
  vpcCniVersion: string;
  kubeProxyVersion: string;
  corednsVersion: string;
  /** Maximum ENIs and IPv4 addresses per ENI for the instance type. */
  maxEnis: number;
  ipsPerEni: number;
  bootAt: Micros;
  /** When the collector started; the end of every log. */
  collectedAt: Micros;
  /** PID of the running kubelet (appears in every klog header). */
  kubeletPid: number;
}

export function hostnameOf(node: Pick<NodeProfile, 'privateIp' | 'region'>): string {
  return `ip-${node.privateIp.replaceAll('.', '-')}.${node.region === 'us-east-1' ? 'ec2.internal' : `${node.region}.compute.internal`}`;
}

export function shortHostnameOf(node: NodeProfile): string {
  return `ip-${node.privateIp.replaceAll('.', '-')}`;
}

/** AL2023 uses predictable interface names (`ens5`); AL2 keeps `eth0`. */
export function primaryInterfaceOf(node: NodeProfile): string {
  return node.os === 'al2023' ? 'ens5' : 'eth0';
}

export function secondaryInterfaceOf(node: NodeProfile, deviceNumber: number): string {
  return node.os === 'al2023' ? `ens${5 + deviceNumber}` : `eth${deviceNumber}`;
}

export function architectureOf(node: NodeProfile): string {
  return node.instanceType.match(/^[a-z]+\d+g/) ? 'aarch64' : 'x86_64';
}

export function osPrettyName(node: Pick<NodeProfile, 'os'>): string {
  return node.os === 'al2023' ? 'Amazon Linux 2023.6.20250303' : 'Amazon Linux 2';
}

/** `uname -a` as the node prints it. */
export function unameLine(node: NodeProfile): string {
  const arch = architectureOf(node);
  const built: Record<NodeOs, string> = {
    al2023: 'SMP PREEMPT_DYNAMIC Mon Feb 24 18:21:44 UTC 2025',
    al2: 'SMP Thu Feb 13 21:26:09 UTC 2025',
    'al2-2019': 'SMP Wed Apr 17 20:47:31 UTC 2019',
  };
  return `Linux ${hostnameOf(node)} ${node.kernel} #1 ${built[node.os]} ${arch} ${arch} ${arch} GNU/Linux`;
}

/** `/etc/os-release`; `prettyName` names the AMI's release (`Amazon Linux 2023.9.20251110`) where it is not ours. */
export function osRelease(node: Pick<NodeProfile, 'os'>, prettyName = osPrettyName(node)): string {
  if (node.os === 'al2023') {
    return [
      'NAME="Amazon Linux"',
      'VERSION="2023"',
      'ID="amzn"',
      'ID_LIKE="fedora"',
      'VERSION_ID="2023"',
      'PLATFORM_ID="platform:al2023"',
      `PRETTY_NAME="${prettyName}"`,
      'ANSI_COLOR="0;33"',
      'CPE_NAME="cpe:2.3:o:amazon:amazon_linux:2023"',
      'HOME_URL="https://aws.amazon.com/linux/amazon-linux-2023/"',
      'DOCUMENTATION_URL="https://docs.aws.amazon.com/linux/"',
      'SUPPORT_URL="https://aws.amazon.com/premiumsupport/"',
      'BUG_REPORT_URL="https://github.com/amazonlinux/amazon-linux-2023"',
      'VENDOR_NAME="AWS"',
      'VENDOR_URL="https://aws.amazon.com/"',
      'SUPPORT_END="2029-06-30"',
      '',
    ].join('\n');
  }
  return [
    'NAME="Amazon Linux"',
    'VERSION="2"',
    'ID="amzn"',
    'ID_LIKE="centos rhel fedora"',
    'VERSION_ID="2"',
    `PRETTY_NAME="${prettyName}"`,
    'ANSI_COLOR="0;33"',
    'CPE_NAME="cpe:2.3:o:amazon:amazon_linux:2"',
    'HOME_URL="https://amazonlinux.com/"',
    ...(node.os === 'al2' ? ['SUPPORT_END="2026-06-30"'] : []),
    '',
  ].join('\n');
}

/** Splits an IPv4 address into numbers; the simulation only ever builds valid ones. */
export function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
}

export function intToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}
