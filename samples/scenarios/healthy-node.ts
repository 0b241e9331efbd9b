/**
 * A healthy AL2023 worker: FORWARD ACCEPT (the EKS unit's ExecStartPre), low load, readiness probes that pass,
 * and nine hours of ordinary kubelet traffic from two CronJobs and a few Deployments.
 */
import {
  AL2023_EKS_131_SOFTWARE,
  al2023KubeletStart,
  clusterServices,
  nodeIdentity,
  nodeProfile,
  vpcAddress,
} from '../lib/cluster.ts';
import { AL2023_ABSENT_ITEMS } from '../lib/manifest.ts';
import { type NodePicture, unthrottledCpuStat } from '../lib/picture.ts';
import { renderOurLayout } from '../lib/render-ours.ts';
import { NodeSimulation } from '../lib/simulation.ts';
import { MINUTE, SECOND } from '../lib/time.ts';
import {
  appSpec,
  bootNode,
  corednsSpec,
  pullSecretNoise,
  replicaSetName,
  runCronJob,
  startDeployment,
} from '../lib/workloads.ts';
import { defineScenario } from './types.ts';

const CREATED_AT = '2025-03-11T14:05:09.000Z';

const node = nodeProfile(
  {
    seed: 'healthy-node',
    os: 'al2023',
    clusterName: 'shop-prod',
    instanceId: 'i-0a3f5c7e9b1d24680',
    instanceType: 'm5.xlarge',
    cpuCount: 4,
    memTotalKb: 15_896_552,
    region: 'us-west-2',
    availabilityZone: 'us-west-2b',
    amiId: 'ami-0c9e5d1a2b3f47a86',
    privateIp: '10.0.42.17',
    vpcCidr: '10.0.0.0/16',
    subnetCidr: '10.0.32.0/19',
    subnetId: 'subnet-04d2a9c7e1b3f5a60',
    serviceCidr: '172.20.0.0/16',
    clusterDnsIp: '172.20.0.10',
    apiServerEndpoint: 'https://9F3A5B7C1D2E4F60718293A4B5C6D7E8.gr7.us-west-2.eks.amazonaws.com',
    ...AL2023_EKS_131_SOFTWARE,
    maxEnis: 4,
    ipsPerEni: 15,
    kubeletPid: 2714,
  },
  CREATED_AT,
  9.1,
);

const kubeReserved = { cpu: '80m', memory: '893Mi' };

function render(): Record<string, string> {
  const sim = new NodeSimulation(node);
  const booted = bootNode(sim, {
    kubelet: al2023KubeletStart(node, 58, kubeReserved),
    kubeletStartAfterBoot: 14 * SECOND,
    awsNodeName: 'aws-node-r8fmz',
    awsNodeVersion: node.vpcCniVersion,
    kubeProxyName: 'kube-proxy-q2x7n',
    withPodIdentityAgent: true,
    ebsCsiName: 'ebs-csi-node-5lmwd',
  });
  const ready = booted.cniReadyAt + 40 * SECOND;
  const coredns = startDeployment(
    sim,
    corednsSpec(replicaSetName(sim, 'coredns'), node.corednsVersion),
    ready + 2 * SECOND,
    3,
  );
  const catalog = [0, 1].map((index) =>
    startDeployment(
      sim,
      appSpec('shop', replicaSetName(sim, 'catalog-api'), {
        name: 'catalog-api',
        image: '111122223333.dkr.ecr.us-west-2.amazonaws.com/shop/catalog-api:2.14.1',
        comm: 'java',
        args: 'java -XX:MaxRAMPercentage=75 -XX:+UseG1GC -jar /app/catalog-api.jar --server.port=8080',
        user: '1001',
      }),
      ready + (4 + index * 70) * SECOND,
      24,
    ),
  );
  const cart = startDeployment(
    sim,
    appSpec('shop', replicaSetName(sim, 'cart-api'), {
      name: 'cart-api',
      image: '111122223333.dkr.ecr.us-west-2.amazonaws.com/shop/cart-api:1.9.0',
      comm: 'node',
      args: 'node --max-old-space-size=768 dist/server.js',
      user: '1000',
    }),
    ready + 33 * SECOND,
    6,
  );
  // A deployment referencing a pull secret that was never created: kubelet warns on every sync.
  const search = startDeployment(
    sim,
    appSpec('shop', replicaSetName(sim, 'search-indexer'), {
      name: 'search-indexer',
      image: '111122223333.dkr.ecr.us-west-2.amazonaws.com/shop/search-indexer:0.7.3',
      comm: 'search-indexer',
      args: '/usr/local/bin/search-indexer --interval=5m',
      user: '1000',
    }),
    ready + 51 * SECOND,
  );
  pullSecretNoise(sim, search, 'ghcr-pull', node.collectedAt);
  runCronJob(sim, {
    namespace: 'monitoring',
    cronJob: 'synthetic-checkout',
    container: {
      name: 'probe',
      image: 'public.ecr.aws/docker/library/python:3.12-slim',
      comm: 'python3',
      args: 'python3 /scripts/checkout_probe.py --target http://cart-api.shop.svc.cluster.local',
    },
    everyMinutes: 5,
    runSeconds: [8, 21],
    from: ready + 2 * MINUTE,
    to: node.collectedAt,
    historyLimit: 3,
  });
  runCronJob(sim, {
    namespace: 'shop',
    cronJob: 'inventory-sync',
    container: {
      name: 'sync',
      image: '111122223333.dkr.ecr.us-west-2.amazonaws.com/shop/inventory-sync:3.2.0',
      comm: 'inventory-sync',
      args: '/app/inventory-sync --batch-size=500',
    },
    everyMinutes: 15,
    runSeconds: [60, 190],
    from: ready + 5 * MINUTE,
    to: node.collectedAt,
    historyLimit: 3,
  });

  const random = sim.random.fork('services');
  const ips = (pod: { ip?: string }): string[] => (pod.ip ? [pod.ip] : []);
  const services = clusterServices({
    random,
    node,
    corednsIps: [...ips(coredns), vpcAddress(random, node.vpcCidr)],
    apps: [
      {
        namespace: 'shop',
        name: 'catalog-api',
        port: 80,
        targetPort: 8080,
        clusterIp: '172.20.118.40',
        endpoints: [...catalog.flatMap(ips), vpcAddress(random, node.vpcCidr)],
      },
      {
        namespace: 'shop',
        name: 'cart-api',
        port: 80,
        targetPort: 3000,
        clusterIp: '172.20.201.7',
        endpoints: [...ips(cart), vpcAddress(random, node.vpcCidr)],
      },
    ],
    withoutEndpoints: [{ namespace: 'shop', name: 'legacy-search', port: 80, clusterIp: '172.20.77.191' }],
  });

  const uptimeSeconds = (node.collectedAt - node.bootAt) / SECOND;
  const picture: NodePicture = {
    sim,
    booted,
    collector: 'eks-node-diag',
    cpu: {
      load: [0.38, 0.45, 0.41],
      running: 1,
      threads: 612,
      lastPid: 118_604,
      top: { us: 2.4, sy: 1.2, ni: 0, id: 96.1, wa: 0.1, hi: 0, si: 0.1, st: 0.1 },
      lifetime: { user: 0.046, system: 0.019, iowait: 0.002, steal: 0.001 },
      psiCpu: { avg10: 0.84, avg60: 1.12, avg300: 1.03, total: uptimeSeconds * 1_000_000 * 0.0102 },
      psiMemory: {
        some: { avg10: 0, avg60: 0, avg300: 0, total: 48_211 },
        full: { avg10: 0, avg60: 0, avg300: 0, total: 31_904 },
      },
      psiIo: {
        some: { avg10: 0.02, avg60: 0.04, avg300: 0.05, total: uptimeSeconds * 1_000_000 * 0.0006 },
        full: { avg10: 0, avg60: 0.01, avg300: 0.02, total: uptimeSeconds * 1_000_000 * 0.0003 },
      },
      contextSwitchesPerSecond: 2_480,
    },
    memory: { anonKb: 3_214_880, cachedKb: 5_301_112, freeKb: 6_912_404, slabKb: 388_100 },
    throttled: [],
    kubepodsCpuStat: unthrottledCpuStat(uptimeSeconds, 0.19, 0.74),
    awsNodeCpuStat: unthrottledCpuStat(uptimeSeconds, 0.0061, 0.62),
    processLoad: {
      kubelet: { now: 6.2, average: 0.021 },
      containerd: { now: 0, average: 0.006 },
      'aws-k8s-agent': { now: 0, average: 0.0034 },
      'kube-proxy': { now: 0, average: 0.0016 },
      coredns: { now: 0, average: 0.0021 },
      java: { now: 0, average: 0.031 },
      node: { now: 0, average: 0.008 },
      'systemd-journal': { now: 0, average: 0.0012 },
      'amazon-ssm-agen': { now: 0, average: 0.0006 },
      top: { now: 6.2, average: 0 },
    },
  };
  return renderOurLayout(picture, {
    unit: 'al2023',
    maxPods: 58,
    kubeReserved,
    services,
    forwardPolicy: 'ACCEPT',
    clusterVersion: 'v1.31.6-eks-bc803b4',
    goVersion: 'go1.23.5',
    absent: [],
  });
}

export const healthyNode = defineScenario(
  {
    name: 'healthy-node',
    description:
      'AL2023 m5.xlarge in good health: FORWARD ACCEPT (EKS unit with ExecStartPre), load 0.4 on 4 vCPUs, only readiness successes and ordinary kubelet noise.',
    layout: 'eks-node-diag',
    createdAt: CREATED_AT,
    node: nodeIdentity(node),
    manifestOverrides: { items: AL2023_ABSENT_ITEMS },
    expected: { 'kubelet-probe-failures': 'pass', 'cpu-starvation': 'pass', 'forward-policy-drop': 'pass' },
  },
  render,
);
