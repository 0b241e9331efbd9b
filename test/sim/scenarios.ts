/**
 * Simulated EKS worker nodes: what each one looks like and which verdicts the analyzer must reach on a bundle the
 * agent collected from it. A scenario is plain data; `world.ts` turns it into a network namespace with real
 * iptables rules, a live ipamd introspection/metrics server and a `--root` file tree with real journal files.
 *
 * Times are minutes before the moment the world is built, so `collect --since 24h` always sees the incidents.
 */
import type { KubeletUnitKind } from '../../samples/lib/kubelet-files.ts';

export type ScenarioName = 'healthy' | 'aws-node-cpu-starvation' | 'forward-drop-custom-ami' | 'ip-exhaustion';

export type ExpectedVerdict = 'pass' | 'fail' | 'not-evaluated';

/** The rules every scenario states an expectation for. `ip-address-exhaustion` may not be in the catalog yet. */
export type ExpectedRuleId =
  | 'forward-policy-drop'
  | 'kubelet-probe-failures'
  | 'cpu-starvation'
  | 'ip-address-exhaustion';

export type ExpectedVerdicts = Record<ExpectedRuleId, ExpectedVerdict>;

export interface NodeFacts {
  clusterName: string;
  hostname: string;
  instanceId: string;
  instanceType: string;
  region: string;
  availabilityZone: string;
  amiId: string;
  cpuCount: number;
  memTotalKb: number;
  privateIp: string;
  vpcCidr: string;
  /** The node's subnet; pod IPs come from it (no custom networking). */
  subnetCidr: string;
  subnetId: string;
  securityGroupId: string;
  clusterDnsIp: string;
  apiServerEndpoint: string;
  kernel: string;
  osPrettyName: string;
  kubeletVersion: string;
  containerdVersion: string;
  vpcCniVersion: string;
  /** 32 hex digits: names the journal folder, as /etc/machine-id does on a real node. */
  machineId: string;
  bootId: string;
  kubeletPid: number;
  containerdPid: number;
  /** Minutes the node has been up. */
  uptimeMinutes: number;
}

export interface IptablesPicture {
  forwardPolicy: 'ACCEPT' | 'DROP';
  /** What the FORWARD policy has counted (dropped, when it is DROP). */
  forwardPolicyCounters: { packets: number; bytes: number };
  /** Also load rules through iptables-legacy, making a mixed-backend node (`# Warning: iptables-legacy tables present`). */
  legacyRules: boolean;
}

export interface Psi {
  some: [avg10: number, avg60: number, avg300: number];
  full: [avg10: number, avg60: number, avg300: number];
}

export interface CpuPicture {
  loadavg: [one: number, five: number, fifteen: number];
  runnable: number;
  threads: number;
  /** Share of CPU time spent idle since boot, shaping /proc/stat. */
  idleShare: number;
  psiCpu: Psi;
  psiMemory: Psi;
  psiIo: Psi;
  /** aws-node container's cgroup: its cpu.max and the CFS counters in cpu.stat. */
  awsNode: { cpuMax: string; nrPeriods: number; nrThrottled: number; throttledUsec: number; usageUsec: number };
}

export interface IpamPicture {
  /** EC2 limits of the instance type. */
  maxEnis: number;
  ipv4PerEni: number;
  /** ENIs ipamd has attached (the primary included). */
  attachedEnis: number;
  warmEniTarget: number;
  /** Workloads with pods on this node; each pod holds one IP from the warm pool. */
  workloads: { namespace: string; name: string; replicas: number; kind: 'Deployment' | 'DaemonSet' }[];
}

/** A CronJob whose pods come and go all day: kubelet, containerd and the CNI keep logging until collection. */
export interface CronJobStory {
  namespace: string;
  name: string;
  everyMinutes: number;
  runSeconds: number;
}

/** aws-node's probes fail (timeouts under CPU starvation) and kubelet restarts it. */
export interface ProbeFailureStory {
  firstMinutesAgo: number;
  lastMinutesAgo: number;
  livenessFailures: number;
  readinessFailures: number;
  restarts: number;
}

/** Pods that cannot start because ipamd has no free address. */
export interface IpExhaustionStory {
  firstMinutesAgo: number;
  /** Failed CNI ADDs, each logged as "DataStore has no available IP/Prefix addresses". */
  failedAssignments: number;
  pendingPods: { namespace: string; name: string }[];
}

export interface NodeScenario {
  name: ScenarioName;
  description: string;
  node: NodeFacts;
  iptables: IptablesPicture;
  /** How kubelet.service was written: the EKS AMI's (sets FORWARD ACCEPT before start) or a custom AMI's. */
  kubeletUnit: KubeletUnitKind;
  cpu: CpuPicture;
  ipam: IpamPicture;
  cronJob?: CronJobStory;
  probeFailures?: ProbeFailureStory;
  ipExhaustion?: IpExhaustionStory;
  expected: ExpectedVerdicts;
}

const QUIET_PSI: Psi = { some: [0.31, 0.42, 0.38], full: [0, 0, 0] };
const QUIET_IO: Psi = { some: [0.08, 0.05, 0.02], full: [0.02, 0.01, 0] };

const calmCpu = (cpuCount: number): CpuPicture => ({
  loadavg: [0.18 * cpuCount, 0.21 * cpuCount, 0.19 * cpuCount].map((n) => Number(n.toFixed(2))) as [
    number,
    number,
    number,
  ],
  runnable: 2,
  threads: 612,
  idleShare: 0.81,
  psiCpu: QUIET_PSI,
  psiMemory: { some: [0, 0, 0], full: [0, 0, 0] },
  psiIo: QUIET_IO,
  awsNode: { cpuMax: 'max 100000', nrPeriods: 0, nrThrottled: 0, throttledUsec: 0, usageUsec: 412_339_871 },
});

const baseNode: NodeFacts = {
  clusterName: 'shop-prod',
  hostname: 'ip-10-0-42-17.us-west-2.compute.internal',
  instanceId: 'i-0a3f5c7e9b1d24680',
  instanceType: 'm5.xlarge',
  region: 'us-west-2',
  availabilityZone: 'us-west-2b',
  amiId: 'ami-0c9e5d1a2b3f47a86',
  cpuCount: 4,
  memTotalKb: 15_896_552,
  privateIp: '10.0.42.17',
  vpcCidr: '10.0.0.0/16',
  subnetCidr: '10.0.32.0/19',
  subnetId: 'subnet-04d2a9c7e1b3f5a60',
  securityGroupId: 'sg-0f1e2d3c4b5a69788',
  clusterDnsIp: '172.20.0.10',
  apiServerEndpoint: 'https://9F3A5B7C1D2E4F60718293A4B5C6D7E8.gr7.us-west-2.eks.amazonaws.com',
  kernel: '6.1.158-180.294.amzn2023.x86_64',
  osPrettyName: 'Amazon Linux 2023.9.20251110',
  kubeletVersion: 'v1.33.5-eks-113cf36',
  containerdVersion: '1.7.27',
  vpcCniVersion: 'v1.20.4-eksbuild.1',
  machineId: 'ec2b7f3d9a1c4e5f8a7b6c5d4e3f2a1b',
  bootId: '5d0c3b2a19f84e7d8c6b5a4f3e2d1c0b',
  kubeletPid: 2714,
  containerdPid: 2391,
  uptimeMinutes: 9 * 60 + 12,
};

const commonWorkloads: IpamPicture['workloads'] = [
  { namespace: 'kube-system', name: 'coredns', replicas: 2, kind: 'Deployment' },
  { namespace: 'shop', name: 'catalog-api', replicas: 2, kind: 'Deployment' },
  { namespace: 'shop', name: 'cart-api', replicas: 2, kind: 'Deployment' },
  { namespace: 'monitoring', name: 'node-exporter-sidecar', replicas: 1, kind: 'Deployment' },
];

const healthy: NodeScenario = {
  name: 'healthy',
  description:
    'A healthy AL2023 m5.xlarge: FORWARD ACCEPT set by the EKS kubelet unit, low load, no probe failures, a warm IP pool.',
  node: baseNode,
  iptables: { forwardPolicy: 'ACCEPT', forwardPolicyCounters: { packets: 0, bytes: 0 }, legacyRules: false },
  kubeletUnit: 'al2023',
  cpu: calmCpu(baseNode.cpuCount),
  ipam: { maxEnis: 4, ipv4PerEni: 15, attachedEnis: 2, warmEniTarget: 1, workloads: commonWorkloads },
  cronJob: { namespace: 'shop', name: 'metrics-rollup', everyMinutes: 10, runSeconds: 24 },
  expected: {
    'forward-policy-drop': 'pass',
    'kubelet-probe-failures': 'pass',
    'cpu-starvation': 'pass',
    'ip-address-exhaustion': 'pass',
  },
};

const starvedNode: NodeFacts = {
  ...baseNode,
  hostname: 'ip-10-0-51-204.us-west-2.compute.internal',
  instanceId: 'i-07c1e5a9d3b2f4681',
  instanceType: 't3.large',
  cpuCount: 2,
  memTotalKb: 7_935_288,
  privateIp: '10.0.51.204',
  machineId: '3f9a2c7e1b5d4a6f8e0c9b7a5d3f1e2c',
  bootId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
  kubeletPid: 2688,
  containerdPid: 2377,
  uptimeMinutes: 26 * 60 + 40,
};

const awsNodeCpuStarvation: NodeScenario = {
  name: 'aws-node-cpu-starvation',
  description:
    'A t3.large packed with CPU-hungry pods: load 5x the CPU count, PSI cpu some above 70%, aws-node (with a 100m CPU limit) throttled in 43% of CFS periods, its probes time out and kubelet restarts it.',
  node: starvedNode,
  iptables: { forwardPolicy: 'ACCEPT', forwardPolicyCounters: { packets: 0, bytes: 0 }, legacyRules: false },
  kubeletUnit: 'al2023',
  cpu: {
    loadavg: [10.84, 9.71, 7.02],
    runnable: 13,
    threads: 1184,
    idleShare: 0.03,
    psiCpu: { some: [78.41, 72.16, 58.93], full: [0, 0, 0] },
    psiMemory: { some: [1.12, 0.84, 0.51], full: [0.4, 0.31, 0.18] },
    psiIo: { some: [2.31, 1.95, 1.2], full: [1.02, 0.88, 0.51] },
    awsNode: {
      cpuMax: '10000 100000',
      nrPeriods: 284_113,
      nrThrottled: 121_877,
      throttledUsec: 9_138_442_091,
      usageUsec: 2_851_130_775,
    },
  },
  ipam: {
    maxEnis: 3,
    ipv4PerEni: 12,
    attachedEnis: 2,
    warmEniTarget: 1,
    workloads: [
      ...commonWorkloads,
      { namespace: 'batch', name: 'image-resizer', replicas: 4, kind: 'Deployment' },
      { namespace: 'batch', name: 'report-builder', replicas: 3, kind: 'Deployment' },
    ],
  },
  cronJob: { namespace: 'batch', name: 'thumbnail-sweeper', everyMinutes: 15, runSeconds: 95 },
  probeFailures: { firstMinutesAgo: 95, lastMinutesAgo: 4, livenessFailures: 18, readinessFailures: 27, restarts: 5 },
  expected: {
    'forward-policy-drop': 'pass',
    'kubelet-probe-failures': 'fail',
    'cpu-starvation': 'fail',
    'ip-address-exhaustion': 'pass',
  },
};

const customAmiNode: NodeFacts = {
  ...baseNode,
  hostname: 'ip-10-0-37-91.us-west-2.compute.internal',
  instanceId: 'i-0d4b8f2a6c1e3579b',
  instanceType: 'm5.large',
  cpuCount: 2,
  memTotalKb: 7_935_288,
  privateIp: '10.0.37.91',
  amiId: 'ami-0f5e4d3c2b1a09876',
  osPrettyName: 'Amazon Linux 2023.9.20251110',
  machineId: '9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49',
  bootId: '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  kubeletPid: 3105,
  containerdPid: 2840,
  uptimeMinutes: 3 * 60 + 25,
};

const forwardDropCustomAmi: NodeScenario = {
  name: 'forward-drop-custom-ami',
  description:
    'A hardened custom AMI: its firewall baseline sets filter FORWARD to DROP and its own kubelet unit never runs `iptables -P FORWARD ACCEPT`, so forwarded pod traffic is dropped.',
  node: customAmiNode,
  iptables: { forwardPolicy: 'DROP', forwardPolicyCounters: { packets: 48_213, bytes: 3_085_632 }, legacyRules: false },
  kubeletUnit: 'custom-no-forward-accept',
  cpu: calmCpu(customAmiNode.cpuCount),
  ipam: { maxEnis: 3, ipv4PerEni: 10, attachedEnis: 2, warmEniTarget: 1, workloads: commonWorkloads },
  cronJob: { namespace: 'shop', name: 'metrics-rollup', everyMinutes: 10, runSeconds: 31 },
  expected: {
    'forward-policy-drop': 'fail',
    'kubelet-probe-failures': 'pass',
    'cpu-starvation': 'pass',
    'ip-address-exhaustion': 'pass',
  },
};

const smallNode: NodeFacts = {
  ...baseNode,
  hostname: 'ip-10-0-44-133.us-west-2.compute.internal',
  instanceId: 'i-0b6a9e3d7f1c25408',
  instanceType: 't3.medium',
  cpuCount: 2,
  memTotalKb: 3_964_928,
  privateIp: '10.0.44.133',
  machineId: '1a2b3c4d5e6f70819a0b1c2d3e4f5a6b',
  bootId: 'c0ffee00d15ea5e0b1ab1ab1ab1ab1ab',
  kubeletPid: 2650,
  containerdPid: 2302,
  uptimeMinutes: 5 * 60 + 48,
};

const ipExhaustion: NodeScenario = {
  name: 'ip-exhaustion',
  description:
    'A t3.medium whose 3 ENIs x 5 secondary IPs are all assigned: ipamd logs "DataStore has no available IP/Prefix addresses", awscni_no_available_ip_addresses climbs and new pods stay in ContainerCreating.',
  node: smallNode,
  iptables: { forwardPolicy: 'ACCEPT', forwardPolicyCounters: { packets: 0, bytes: 0 }, legacyRules: false },
  kubeletUnit: 'al2023',
  cpu: calmCpu(smallNode.cpuCount),
  ipam: {
    maxEnis: 3,
    ipv4PerEni: 6,
    attachedEnis: 3,
    warmEniTarget: 1,
    workloads: [
      { namespace: 'kube-system', name: 'coredns', replicas: 2, kind: 'Deployment' },
      { namespace: 'shop', name: 'catalog-api', replicas: 4, kind: 'Deployment' },
      { namespace: 'shop', name: 'cart-api', replicas: 4, kind: 'Deployment' },
      { namespace: 'shop', name: 'checkout-worker', replicas: 5, kind: 'Deployment' },
    ],
  },
  ipExhaustion: {
    firstMinutesAgo: 48,
    failedAssignments: 41,
    pendingPods: [
      { namespace: 'shop', name: 'recommendations-5f7d9c8b4d-q7wzt' },
      { namespace: 'shop', name: 'recommendations-5f7d9c8b4d-x2hvn' },
      { namespace: 'monitoring', name: 'blackbox-exporter-6b8c4d9f7-mk5rl' },
    ],
  },
  expected: {
    'forward-policy-drop': 'pass',
    'kubelet-probe-failures': 'pass',
    'cpu-starvation': 'pass',
    'ip-address-exhaustion': 'fail',
  },
};

export const scenarios: Readonly<Record<ScenarioName, NodeScenario>> = {
  healthy,
  'aws-node-cpu-starvation': awsNodeCpuStarvation,
  'forward-drop-custom-ami': forwardDropCustomAmi,
  'ip-exhaustion': ipExhaustion,
};

export const scenarioNames = Object.keys(scenarios) as ScenarioName[];

export function scenarioByName(name: string): NodeScenario {
  const scenario = (scenarios as Record<string, NodeScenario>)[name];
  if (!scenario) {
    throw new Error(`unknown simulated-node scenario "${name}"; known scenarios: ${scenarioNames.join(', ')}`);
  }
  return scenario;
}
