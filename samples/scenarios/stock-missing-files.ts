/**
 * The stock layout from a node where the collector could not produce everything: a minimal custom AMI without the
 * iptables userspace (the script's `command -v iptables` fails, so it writes "IPtables not installed" into its
 * working directory instead of the bundle and skips both iptables and ip6tables), and `top` and the /proc/stat copy
 * missing too. The kubelet journal is healthy. What can no longer be judged must be reported as not evaluated; a
 * cpu_throttling.txt that says "No CPU Throttling Found" is no evidence that the CPU is fine.
 */
import { al2023KubeletStart, clusterServices, nodeIdentity, nodeProfile, vpcAddress } from '../lib/cluster.ts';
import { type NodePicture, unthrottledCpuStat } from '../lib/picture.ts';
import { renderStockLayout, STOCK_DIRECTORIES } from '../lib/render-stock.ts';
import { NodeSimulation } from '../lib/simulation.ts';
import { MINUTE, SECOND } from '../lib/time.ts';
import { appSpec, bootNode, replicaSetName, runCronJob, startDeployment } from '../lib/workloads.ts';
import { defineScenario } from './types.ts';

const CREATED_AT = '2025-03-15T21:47:03.000Z';

const node = nodeProfile(
  {
    seed: 'stock-missing-files',
    os: 'al2023',
    clusterName: 'media-staging',
    instanceId: 'i-0f1a3b5c7d9e1f3a5',
    instanceType: 'c6i.large',
    cpuCount: 2,
    memTotalKb: 3_869_892,
    region: 'ap-southeast-2',
    availabilityZone: 'ap-southeast-2a',
    amiId: 'ami-0a9c7e5b3d1f2468a',
    privateIp: '10.60.14.203',
    vpcCidr: '10.60.0.0/16',
    subnetCidr: '10.60.0.0/20',
    subnetId: 'subnet-0c4e6a8b0d2f4a6c8',
    serviceCidr: '172.20.0.0/16',
    clusterDnsIp: '172.20.0.10',
    apiServerEndpoint: 'https://5E7A9C1E3B5D7F9A1C3E5B7D9F1A3C5E.yl4.ap-southeast-2.eks.amazonaws.com',
    kernel: '6.1.128-136.201.amzn2023.x86_64',
    kubeletVersion: 'v1.30.9-eks-5d632ec',
    containerdVersion: '1.7.25',
    vpcCniVersion: 'v1.19.2-eksbuild.1',
    kubeProxyVersion: 'v1.30.7-eksbuild.2',
    corednsVersion: 'v1.11.3-eksbuild.2',
    maxEnis: 3,
    ipsPerEni: 10,
    kubeletPid: 2277,
  },
  CREATED_AT,
  7.6,
);

const MISSING = [
  'networking/iptables-save.txt',
  'networking/ip6tables-save.txt',
  'networking/iptables.txt',
  'networking/iptables-filter.txt',
  'networking/iptables-nat.txt',
  'networking/iptables-mangle.txt',
  'networking/ip6tables.txt',
  'networking/ip6tables-filter.txt',
  'networking/ip6tables-nat.txt',
  'networking/ip6tables-mangle.txt',
  'system/top.txt',
  'system/procstat.txt',
];

function render(): Record<string, string> {
  const sim = new NodeSimulation(node);
  const booted = bootNode(sim, {
    kubelet: al2023KubeletStart(node, 29, { cpu: '70m', memory: '343Mi' }),
    kubeletStartAfterBoot: 12 * SECOND,
    awsNodeName: 'aws-node-bq6vx',
    awsNodeVersion: node.vpcCniVersion,
    kubeProxyName: 'kube-proxy-n4w2h',
    withPodIdentityAgent: true,
    ebsCsiName: 'ebs-csi-node-cz9rl',
  });
  const ready = booted.cniReadyAt + 33 * SECOND;
  const transcoder = startDeployment(
    sim,
    appSpec('media', replicaSetName(sim, 'thumbnailer'), {
      name: 'thumbnailer',
      image: '555566667777.dkr.ecr.ap-southeast-2.amazonaws.com/media/thumbnailer:0.18.2',
      comm: 'thumbnailer',
      args: '/usr/local/bin/thumbnailer --queue thumbnails-staging',
      user: '10001',
    }),
    ready + 6 * SECOND,
    5,
  );
  runCronJob(sim, {
    namespace: 'media',
    cronJob: 'expire-uploads',
    container: {
      name: 'expire',
      image: '555566667777.dkr.ecr.ap-southeast-2.amazonaws.com/media/tools:0.18.2',
      comm: 'expire-uploads',
      args: '/usr/local/bin/expire-uploads --older-than 72h',
    },
    everyMinutes: 5,
    runSeconds: [4, 15],
    from: ready + 2 * MINUTE,
    to: node.collectedAt,
    historyLimit: 3,
  });

  const random = sim.random.fork('services');
  const services = clusterServices({
    random,
    node,
    corednsIps: [vpcAddress(random, node.vpcCidr), vpcAddress(random, node.vpcCidr)],
    apps: [
      {
        namespace: 'media',
        name: 'thumbnailer',
        port: 80,
        targetPort: 8080,
        clusterIp: '172.20.33.90',
        endpoints: [transcoder.ip ?? ''],
      },
    ],
  });
  const uptimeSeconds = (node.collectedAt - node.bootAt) / SECOND;
  const picture: NodePicture = {
    sim,
    booted,
    collector: 'eks-log-collector',
    cpu: {
      load: [0.21, 0.26, 0.24],
      running: 1,
      threads: 388,
      lastPid: 72_410,
      top: { us: 1.9, sy: 1.1, ni: 0, id: 96.8, wa: 0, hi: 0, si: 0.1, st: 0.1 },
      lifetime: { user: 0.031, system: 0.016, iowait: 0.001, steal: 0.001 },
      psiCpu: { avg10: 0.4, avg60: 0.61, avg300: 0.58, total: uptimeSeconds * 1_000_000 * 0.006 },
      psiMemory: {
        some: { avg10: 0, avg60: 0, avg300: 0, total: 1_204 },
        full: { avg10: 0, avg60: 0, avg300: 0, total: 830 },
      },
      psiIo: {
        some: { avg10: 0, avg60: 0.01, avg300: 0.01, total: 88_412 },
        full: { avg10: 0, avg60: 0, avg300: 0, total: 51_003 },
      },
      contextSwitchesPerSecond: 1_410,
    },
    memory: { anonKb: 1_201_338, cachedKb: 1_460_774, freeKb: 980_112, slabKb: 160_221 },
    throttled: [],
    kubepodsCpuStat: unthrottledCpuStat(uptimeSeconds, 0.07, 0.7),
    awsNodeCpuStat: unthrottledCpuStat(uptimeSeconds, 0.004, 0.6),
    processLoad: {
      kubelet: { now: 0, average: 0.017 },
      containerd: { now: 0, average: 0.005 },
      'aws-k8s-agent': { now: 0, average: 0.003 },
      thumbnailer: { now: 0, average: 0.011 },
    },
  };
  return renderStockLayout(picture, {
    unit: 'custom-minimal',
    services,
    forwardPolicy: 'ACCEPT',
    clusterVersion: 'v1.30.10-eks-7f9249a',
    goVersion: 'go1.23.5',
    maxPods: 29,
    iptablesProgram: 'iptables-nft-save v1.8.8 (nf_tables)',
    omit: MISSING,
    containerLogs: [],
  });
}

export const stockMissingFiles = defineScenario(
  {
    name: 'stock-missing-files',
    description:
      'Stock layout from a minimal custom AMI without iptables and where top and the /proc/stat copy failed: no iptables/ip6tables files, no top.txt or procstat.txt (cpu_throttling.txt still says "No CPU Throttling Found"); kubelet healthy.',
    layout: 'eks-log-collector',
    createdAt: CREATED_AT,
    node: nodeIdentity(node),
    emptyDirectories: STOCK_DIRECTORIES,
    expected: {
      'kubelet-probe-failures': 'pass',
      'cpu-starvation': 'not-evaluated',
      'forward-policy-drop': 'not-evaluated',
    },
  },
  render,
);
