/**
 * A node from a hardened custom AMI (AL2023 base). Its iptables.service loads a saved ruleset with `FORWARD DROP`
 * at boot, and its own kubelet unit, unlike the EKS AMI's, has no `ExecStartPre=/sbin/iptables -P FORWARD ACCEPT`.
 * Pod traffic forwarded between the pods' veths and the ENIs falls through to the DROP policy (2417 packets so far,
 * mostly SYNs and DNS queries); kubelet's own probes run from the host and keep passing, load is low.
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
import { appSpec, bootNode, replicaSetName, runCronJob, startDeployment } from '../lib/workloads.ts';
import { defineScenario } from './types.ts';

const CREATED_AT = '2025-03-13T16:22:48.000Z';

const node = nodeProfile(
  {
    seed: 'forward-drop-custom-ami',
    os: 'al2023',
    clusterName: 'analytics-prod',
    instanceId: 'i-05b7d9f1a3c5e7092',
    instanceType: 'm6i.xlarge',
    cpuCount: 4,
    memTotalKb: 15_896_232,
    region: 'eu-west-1',
    availabilityZone: 'eu-west-1c',
    amiId: 'ami-0e4b2d6f8a1c3e5b7',
    privateIp: '10.42.133.58',
    vpcCidr: '10.42.0.0/16',
    subnetCidr: '10.42.128.0/18',
    subnetId: 'subnet-0e1f3a5c7b9d2f4a6',
    serviceCidr: '172.20.0.0/16',
    clusterDnsIp: '172.20.0.10',
    apiServerEndpoint: 'https://7D2B9F4E6A8C1E3B5D7F9A2C4E6B8D0F.yl4.eu-west-1.eks.amazonaws.com',
    ...AL2023_EKS_131_SOFTWARE,
    maxEnis: 4,
    ipsPerEni: 15,
    kubeletPid: 2891,
  },
  CREATED_AT,
  6.3,
);

const kubeReserved = { cpu: '80m', memory: '893Mi' };

function render(): Record<string, string> {
  const sim = new NodeSimulation(node);
  const booted = bootNode(sim, {
    kubelet: al2023KubeletStart(node, 58, kubeReserved),
    kubeletStartAfterBoot: 17 * SECOND,
    awsNodeName: 'aws-node-5tqwz',
    awsNodeVersion: node.vpcCniVersion,
    kubeProxyName: 'kube-proxy-xg7kd',
    withPodIdentityAgent: true,
    ebsCsiName: 'ebs-csi-node-w4rq8',
  });
  const ready = booted.cniReadyAt + 38 * SECOND;
  const spark = [0, 1, 2].map((index) =>
    startDeployment(
      sim,
      appSpec('analytics', replicaSetName(sim, 'query-gateway'), {
        name: 'gateway',
        image: '777788889999.dkr.ecr.eu-west-1.amazonaws.com/analytics/query-gateway:4.1.2',
        comm: 'java',
        args: 'java -Xms1g -Xmx2g -jar /opt/gateway/query-gateway.jar',
        user: '1001',
      }),
      ready + (5 + index * 31) * SECOND,
      27,
    ),
  );
  const exporter = startDeployment(
    sim,
    appSpec('analytics', replicaSetName(sim, 'metrics-exporter'), {
      name: 'exporter',
      image: '777788889999.dkr.ecr.eu-west-1.amazonaws.com/analytics/metrics-exporter:0.9.7',
      comm: 'metrics-exporte',
      args: '/metrics-exporter --listen=:9102',
      user: '65534',
    }),
    ready + 14 * SECOND,
    3,
  );
  runCronJob(sim, {
    namespace: 'analytics',
    cronJob: 'partition-compactor',
    container: {
      name: 'compactor',
      image: '777788889999.dkr.ecr.eu-west-1.amazonaws.com/analytics/compactor:2.0.1',
      comm: 'compactor',
      args: '/compactor --bucket s3://analytics-prod-lake',
    },
    everyMinutes: 5,
    runSeconds: [15, 70],
    from: ready + MINUTE,
    to: node.collectedAt,
    historyLimit: 3,
  });
  runCronJob(sim, {
    namespace: 'monitoring',
    cronJob: 'blackbox-dns',
    container: {
      name: 'probe',
      image: 'public.ecr.aws/docker/library/busybox:1.36',
      comm: 'nslookup',
      args: 'nslookup kubernetes.default.svc.cluster.local',
    },
    everyMinutes: 2,
    runSeconds: [3, 9],
    from: ready + MINUTE,
    to: node.collectedAt,
    historyLimit: 1,
  });

  const random = sim.random.fork('services');
  const services = clusterServices({
    random,
    node,
    corednsIps: [vpcAddress(random, node.vpcCidr), vpcAddress(random, node.vpcCidr)],
    apps: [
      {
        namespace: 'analytics',
        name: 'query-gateway',
        port: 80,
        targetPort: 8080,
        clusterIp: '172.20.66.12',
        endpoints: spark.map((pod) => pod.ip ?? ''),
      },
      {
        namespace: 'analytics',
        name: 'metrics-exporter',
        port: 9102,
        targetPort: 9102,
        clusterIp: '172.20.148.3',
        endpoints: [exporter.ip ?? ''],
      },
    ],
  });

  const uptimeSeconds = (node.collectedAt - node.bootAt) / SECOND;
  const picture: NodePicture = {
    sim,
    booted,
    collector: 'eks-node-diag',
    cpu: {
      load: [0.61, 0.72, 0.66],
      running: 2,
      threads: 655,
      lastPid: 96_330,
      top: { us: 4.9, sy: 1.8, ni: 0, id: 93.0, wa: 0.1, hi: 0, si: 0.1, st: 0.1 },
      lifetime: { user: 0.061, system: 0.022, iowait: 0.002, steal: 0.001 },
      psiCpu: { avg10: 1.37, avg60: 1.61, avg300: 1.44, total: uptimeSeconds * 1_000_000 * 0.014 },
      psiMemory: {
        some: { avg10: 0, avg60: 0, avg300: 0, total: 12_874 },
        full: { avg10: 0, avg60: 0, avg300: 0, total: 9_003 },
      },
      psiIo: {
        some: { avg10: 0.01, avg60: 0.03, avg300: 0.04, total: uptimeSeconds * 1_000_000 * 0.0005 },
        full: { avg10: 0, avg60: 0.01, avg300: 0.01, total: uptimeSeconds * 1_000_000 * 0.0002 },
      },
      contextSwitchesPerSecond: 3_310,
    },
    memory: { anonKb: 7_411_352, cachedKb: 3_960_118, freeKb: 4_108_876, slabKb: 402_557 },
    throttled: [],
    kubepodsCpuStat: unthrottledCpuStat(uptimeSeconds, 0.31, 0.81),
    awsNodeCpuStat: unthrottledCpuStat(uptimeSeconds, 0.0058, 0.6),
    processLoad: {
      java: { now: 6.2, average: 0.052 },
      kubelet: { now: 0, average: 0.023 },
      containerd: { now: 0, average: 0.007 },
      'aws-k8s-agent': { now: 0, average: 0.0033 },
      'kube-proxy': { now: 0, average: 0.0017 },
      top: { now: 6.2, average: 0 },
    },
  };
  return renderOurLayout(picture, {
    unit: 'custom-no-forward-accept',
    maxPods: 58,
    kubeReserved,
    services,
    forwardPolicy: 'DROP',
    forwardPolicyCounters: { packets: 2417, bytes: 145_025 },
    clusterVersion: 'v1.31.6-eks-bc803b4',
    goVersion: 'go1.23.5',
    absent: [],
  });
}

export const forwardDropCustomAmi = defineScenario(
  {
    name: 'forward-drop-custom-ami',
    description:
      'Hardened custom AMI (AL2023 base) whose iptables.service sets filter FORWARD to DROP (`:FORWARD DROP [2417:145025]`) and whose kubelet unit lacks `ExecStartPre=/sbin/iptables -P FORWARD ACCEPT`; otherwise healthy.',
    layout: 'eks-node-diag',
    createdAt: CREATED_AT,
    node: nodeIdentity(node),
    manifestOverrides: { items: AL2023_ABSENT_ITEMS },
    expected: { 'kubelet-probe-failures': 'pass', 'cpu-starvation': 'pass', 'forward-policy-drop': 'fail' },
  },
  render,
);
