/**
 * Pieces several scenarios share: the kubelet start options of each AMI, service definitions for kube-proxy, the
 * manifest's node identity.
 */
import type { NodeIdentity } from '../../contract/bundle.ts';
import type { ServicePort } from './eks-iptables.ts';
import type { KubeletStartOptions } from './kubelet-startup.ts';
import { architectureOf, hostnameOf, type NodeProfile, osPrettyName } from './node.ts';
import type { Random } from './random.ts';
import { HOUR, micros } from './time.ts';

/** The kubelet flags both EKS AMIs' bootstrap sets on a managed node group's node, in command-line order. */
function managedNodegroupFlags(node: NodeProfile): Record<string, string> {
  return {
    'hostname-override': hostnameOf(node),
    'image-credential-provider-bin-dir': '/etc/eks/image-credential-provider',
    'image-credential-provider-config': '/etc/eks/image-credential-provider/config.json',
    kubeconfig: '/var/lib/kubelet/kubeconfig',
    'node-ip': node.privateIp,
    'node-labels': `eks.amazonaws.com/nodegroup-image=${node.amiId},eks.amazonaws.com/capacityType=ON_DEMAND,eks.amazonaws.com/nodegroup=${node.clusterName}-ng`,
  };
}

export function al2023KubeletStart(
  node: NodeProfile,
  maxPods: number,
  kubeReserved: { cpu: string; memory: string },
): Omit<KubeletStartOptions, 'at' | 'cniReadyAt'> {
  return {
    flags: {
      'cloud-provider': 'external',
      config: '/etc/kubernetes/kubelet/config.json',
      'config-dir': '/etc/kubernetes/kubelet/config.json.d',
      ...managedNodegroupFlags(node),
      'max-pods': String(maxPods),
    },
    deprecatedFlags: [],
    kubeReserved,
    systemdVersion: 252,
    cgroupVersion: 2,
  };
}

export function al2KubeletStart(node: NodeProfile): Omit<KubeletStartOptions, 'at' | 'cniReadyAt'> {
  return {
    flags: {
      'cloud-provider': 'external',
      config: '/etc/kubernetes/kubelet/kubelet-config.json',
      'container-runtime-endpoint': 'unix:///run/containerd/containerd.sock',
      ...managedNodegroupFlags(node),
      'max-pods': '29',
      'pod-infra-container-image': `602401143452.dkr.ecr.${node.region}.amazonaws.com/eks/pause:3.5`,
    },
    deprecatedFlags: ['container-runtime-endpoint', 'pod-infra-container-image'],
    kubeReserved: { cpu: '70m', memory: '442Mi' },
    systemdVersion: 219,
    cgroupVersion: 1,
  };
}

/** The software of an AL2023 node in an EKS 1.31 cluster with the add-on versions current in March 2025. */
export const AL2023_EKS_131_SOFTWARE = {
  kernel: '6.1.128-136.201.amzn2023.x86_64',
  kubeletVersion: 'v1.31.5-eks-5d4a308',
  containerdVersion: '1.7.25',
  vpcCniVersion: 'v1.19.2-eksbuild.1',
  kubeProxyVersion: 'v1.31.3-eksbuild.2',
  corednsVersion: 'v1.11.4-eksbuild.2',
} satisfies Partial<NodeProfile>;

/** A node profile with the clock derived from the collection time and uptime. */
export function nodeProfile(
  fields: Omit<NodeProfile, 'bootAt' | 'collectedAt'>,
  collectedAt: string,
  uptimeHours: number,
): NodeProfile {
  const collected = micros(collectedAt);
  const boot = collected - Math.round(uptimeHours * HOUR);
  return { ...fields, bootAt: boot - (boot % 1_000_000) + 412_337, collectedAt: collected };
}

export function nodeIdentity(node: NodeProfile): NodeIdentity {
  return {
    instanceId: node.instanceId,
    hostname: hostnameOf(node),
    region: node.region,
    availabilityZone: node.availabilityZone,
    instanceType: node.instanceType,
    amiId: node.amiId,
    kernel: node.kernel,
    os: osPrettyName(node),
    architecture: architectureOf(node),
    cpuCount: node.cpuCount,
    kubeletVersion: node.kubeletVersion,
    containerdVersion: node.containerdVersion,
    vpcCniVersion: node.vpcCniVersion,
  };
}

/** An address in the VPC outside this node's subnet (other nodes' pods, control-plane ENIs). */
export function vpcAddress(random: Random, vpcCidr: string): string {
  const [a, b] = vpcCidr.split('.') as [string, string];
  return `${a}.${b}.${random.int(96, 191)}.${random.int(5, 250)}`;
}

/** The services every EKS cluster has, plus the scenario's own. */
export function clusterServices(options: {
  random: Random;
  node: NodeProfile;
  corednsIps: string[];
  apps: { namespace: string; name: string; port: number; targetPort: number; endpoints: string[]; clusterIp: string }[];
  withoutEndpoints?: { namespace: string; name: string; port: number; clusterIp: string }[];
}): ServicePort[] {
  const { random, node } = options;
  const apiEndpoints = [vpcAddress(random, node.vpcCidr), vpcAddress(random, node.vpcCidr)];
  const services: ServicePort[] = [
    {
      namespace: 'default',
      name: 'kubernetes',
      portName: 'https',
      protocol: 'tcp',
      clusterIp: node.serviceCidr.replace(/\.0\/\d+$/, '.1'),
      port: 443,
      endpoints: apiEndpoints.map((ip) => ({ ip, port: 443 })),
    },
    {
      namespace: 'kube-system',
      name: 'kube-dns',
      portName: 'dns',
      protocol: 'udp',
      clusterIp: node.clusterDnsIp,
      port: 53,
      endpoints: options.corednsIps.map((ip) => ({ ip, port: 53 })),
    },
    {
      namespace: 'kube-system',
      name: 'kube-dns',
      portName: 'dns-tcp',
      protocol: 'tcp',
      clusterIp: node.clusterDnsIp,
      port: 53,
      endpoints: options.corednsIps.map((ip) => ({ ip, port: 53 })),
    },
    {
      namespace: 'kube-system',
      name: 'kube-dns',
      portName: 'metrics',
      protocol: 'tcp',
      clusterIp: node.clusterDnsIp,
      port: 9153,
      endpoints: options.corednsIps.map((ip) => ({ ip, port: 9153 })),
    },
    {
      namespace: 'kube-system',
      name: 'eks-extension-metrics-api',
      portName: 'metrics-api',
      protocol: 'tcp',
      clusterIp: node.serviceCidr.replace(/\.0\.0\/\d+$/, `.${random.int(20, 250)}.${random.int(2, 250)}`),
      port: 443,
      endpoints: apiEndpoints.map((ip) => ({ ip, port: 10443 })),
    },
  ];
  for (const app of options.apps) {
    services.push({
      namespace: app.namespace,
      name: app.name,
      portName: 'http',
      protocol: 'tcp',
      clusterIp: app.clusterIp,
      port: app.port,
      endpoints: app.endpoints.map((ip) => ({ ip, port: app.targetPort })),
    });
  }
  for (const empty of options.withoutEndpoints ?? []) {
    services.push({
      namespace: empty.namespace,
      name: empty.name,
      portName: 'http',
      protocol: 'tcp',
      clusterIp: empty.clusterIp,
      port: empty.port,
      endpoints: [],
    });
  }
  return services;
}
