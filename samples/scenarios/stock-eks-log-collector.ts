/**
 * What `sudo bash /opt/cni/bin/aws-cni-support.sh` (eks-log-collector.sh v0.7.8) produces on an AL2 node: the
 * script's folder layout with `./` members, no manifest. The node is fine on CPU and forwarding; the CoreDNS replica
 * on it cannot reach the API server VIP for about half an hour, so its `ready` plugin answers 503 and kubelet logs
 * readiness failures (no restarts: readiness never restarts a container).
 */
import type { NodeIdentity } from '../../contract/bundle.ts';
import { al2KubeletStart, clusterServices, nodeIdentity, nodeProfile, vpcAddress } from '../lib/cluster.ts';
import { awsNodeContainerLog } from '../lib/node-extras.ts';
import { type NodePicture, unthrottledCpuStat } from '../lib/picture.ts';
import { renderStockLayout, STOCK_DIRECTORIES } from '../lib/render-stock.ts';
import { NodeSimulation } from '../lib/simulation.ts';
import { MINUTE, SECOND } from '../lib/time.ts';
import {
  appSpec,
  bootNode,
  corednsSpec,
  replicaSetName,
  runCronJob,
  runReadinessProbe,
  startDeployment,
} from '../lib/workloads.ts';
import { defineScenario } from './types.ts';

const CREATED_AT = '2025-03-14T09:12:45.000Z';

const node = nodeProfile(
  {
    seed: 'stock-eks-log-collector',
    os: 'al2',
    clusterName: 'orders-prod',
    instanceId: 'i-0d4e6f8a0b2c4e6f8',
    instanceType: 't3.large',
    cpuCount: 2,
    memTotalKb: 7_941_368,
    region: 'us-east-1',
    availabilityZone: 'us-east-1b',
    amiId: 'ami-0b6e2f8d4c1a9e357',
    privateIp: '10.1.23.45',
    vpcCidr: '10.1.0.0/16',
    subnetCidr: '10.1.0.0/19',
    subnetId: 'subnet-0b2d4f6a8c0e1a3c5',
    serviceCidr: '172.20.0.0/16',
    clusterDnsIp: '172.20.0.10',
    apiServerEndpoint: 'https://1A3C5E7F9B2D4F6A8C0E2B4D6F8A0C1E.gr7.us-east-1.eks.amazonaws.com',
    kernel: '5.10.234-225.910.amzn2.x86_64',
    kubeletVersion: 'v1.29.10-eks-59bf375',
    containerdVersion: '1.7.22',
    vpcCniVersion: 'v1.18.3-eksbuild.1',
    kubeProxyVersion: 'v1.29.10-eksbuild.3',
    corednsVersion: 'v1.11.1-eksbuild.9',
    maxEnis: 3,
    ipsPerEni: 12,
    kubeletPid: 3412,
  },
  CREATED_AT,
  33.2,
);

const PROBLEM_FROM = node.collectedAt - 57 * MINUTE;
const PROBLEM_TO = node.collectedAt - 22 * MINUTE;

/** CoreDNS's start-up banner, as its container log begins. */
function corednsBanner(): string[] {
  return [
    '.:53',
    '[INFO] plugin/reload: Running configuration SHA512 = 8a7d59126e7f114ab49c6d2613be93d8ef7d408af8ee61a710210843dc409f03133727e38f64469d9bb180f396c84ebf48a42bde3b3769730865ca9df5eb281c',
    'CoreDNS-1.11.1',
    'linux/amd64, go1.21.13, ae2bbc2',
  ];
}

function render(): Record<string, string> {
  const sim = new NodeSimulation(node);
  const booted = bootNode(sim, {
    kubelet: al2KubeletStart(node),
    kubeletStartAfterBoot: 11 * SECOND,
    awsNodeName: 'aws-node-9mzrb',
    awsNodeVersion: node.vpcCniVersion,
    kubeProxyName: 'kube-proxy-p6vwz',
    withPodIdentityAgent: false,
    ebsCsiName: 'ebs-csi-node-k8xfr',
  });
  const ready = booted.cniReadyAt + 36 * SECOND;
  const coredns = startDeployment(
    sim,
    corednsSpec(replicaSetName(sim, 'coredns'), node.corednsVersion),
    ready + 3 * SECOND,
    2,
  );
  const orders = [0, 1].map((index) =>
    startDeployment(
      sim,
      appSpec('orders', replicaSetName(sim, 'orders-api'), {
        name: 'orders-api',
        image: '222233334444.dkr.ecr.us-east-1.amazonaws.com/orders/orders-api:7.3.1',
        comm: 'java',
        args: 'java -XX:MaxRAMPercentage=60 -jar /srv/orders-api.jar',
        user: '1001',
      }),
      ready + (8 + index * 47) * SECOND,
      22,
    ),
  );
  runCronJob(sim, {
    namespace: 'orders',
    cronJob: 'outbox-relay',
    container: {
      name: 'relay',
      image: '222233334444.dkr.ecr.us-east-1.amazonaws.com/orders/outbox-relay:1.2.0',
      comm: 'outbox-relay',
      args: '/app/outbox-relay --once',
    },
    everyMinutes: 10,
    runSeconds: [6, 40],
    from: ready + 4 * MINUTE,
    to: node.collectedAt,
    historyLimit: 3,
  });
  runCronJob(sim, {
    namespace: 'ops',
    cronJob: 'ecr-image-audit',
    container: {
      name: 'audit',
      image: 'public.ecr.aws/aws-cli/aws-cli:2.24.10',
      comm: 'aws',
      args: 'aws ecr describe-images --repository-name orders/orders-api',
    },
    everyMinutes: 60,
    runSeconds: [20, 55],
    from: ready + 10 * MINUTE,
    to: node.collectedAt,
    historyLimit: 1,
  });
  // CoreDNS on this node loses its API server watch for ~35 minutes: /ready answers 503.
  runReadinessProbe(sim, coredns, {
    container: 'coredns',
    periodSeconds: 10,
    failureThreshold: 3,
    from: PROBLEM_FROM,
    to: PROBLEM_TO,
    failChance: (at) => (at < PROBLEM_FROM + 4 * MINUTE || at > PROBLEM_TO - 3 * MINUTE ? 0.35 : 0.55),
    output: (at) =>
      at % 7 === 0
        ? `Get "http://${coredns.ip}:8181/ready": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`
        : 'HTTP probe failed with statuscode: 503',
  });

  const random = sim.random.fork('services');
  const services = clusterServices({
    random,
    node,
    corednsIps: [coredns.ip ?? '', vpcAddress(random, node.vpcCidr)],
    apps: [
      {
        namespace: 'orders',
        name: 'orders-api',
        port: 80,
        targetPort: 8080,
        clusterIp: '172.20.50.201',
        endpoints: [...orders.map((pod) => pod.ip ?? ''), vpcAddress(random, node.vpcCidr)],
      },
    ],
  });
  const corednsStart = coredns.containerStartedAt.get('coredns') ?? coredns.startedAt;
  const corednsLines = corednsBanner();
  for (let at = PROBLEM_FROM - 40 * SECOND, n = 0; at < PROBLEM_TO; at += 30 * SECOND, n++) {
    corednsLines.push(
      n % 3 === 2
        ? '[INFO] plugin/ready: Still waiting on: "kubernetes"'
        : `[ERROR] plugin/kubernetes: Unhandled Error: pkg/mod/k8s.io/client-go@v0.29.3/tools/cache/reflector.go:229: Failed to watch *v1.${['EndpointSlice', 'Service', 'Namespace'][n % 3]}: failed to list *v1.${['EndpointSlice', 'Service', 'Namespace'][n % 3]}: Get "https://172.20.0.1:443/${['apis/discovery.k8s.io/v1/endpointslices', 'api/v1/services', 'api/v1/namespaces'][n % 3]}?limit=500&resourceVersion=0": dial tcp 172.20.0.1:443: i/o timeout`,
    );
  }
  corednsLines.push(
    '[INFO] plugin/kubernetes: pkg/mod/k8s.io/client-go@v0.29.3/tools/cache/reflector.go:229: watch of *v1.EndpointSlice ended with: an error on the server ("unable to decode an event from the watch stream: http2: client connection lost") has prevented the request from succeeding',
  );

  const uptimeSeconds = (node.collectedAt - node.bootAt) / SECOND;
  const picture: NodePicture = {
    sim,
    booted,
    collector: 'eks-log-collector',
    cpu: {
      load: [0.42, 0.38, 0.35],
      running: 1,
      threads: 402,
      lastPid: 31_877,
      top: { us: 3.1, sy: 1.6, ni: 0, id: 94.9, wa: 0.1, hi: 0, si: 0.1, st: 0.2 },
      lifetime: { user: 0.052, system: 0.021, iowait: 0.002, steal: 0.003 },
      psiCpu: { avg10: 0, avg60: 0, avg300: 0, total: 0 },
      psiMemory: {
        some: { avg10: 0, avg60: 0, avg300: 0, total: 0 },
        full: { avg10: 0, avg60: 0, avg300: 0, total: 0 },
      },
      psiIo: { some: { avg10: 0, avg60: 0, avg300: 0, total: 0 }, full: { avg10: 0, avg60: 0, avg300: 0, total: 0 } },
      contextSwitchesPerSecond: 1_950,
    },
    memory: { anonKb: 2_514_880, cachedKb: 3_101_240, freeKb: 1_984_316, slabKb: 241_902 },
    throttled: [],
    kubepodsCpuStat: unthrottledCpuStat(uptimeSeconds, 0.11, 0.73),
    awsNodeCpuStat: unthrottledCpuStat(uptimeSeconds, 0.004, 0.6),
    processLoad: {
      kubelet: { now: 6.2, average: 0.019 },
      containerd: { now: 0, average: 0.006 },
      'aws-k8s-agent': { now: 0, average: 0.0031 },
      coredns: { now: 0, average: 0.0024 },
      java: { now: 0, average: 0.027 },
      'kube-proxy': { now: 0, average: 0.0014 },
      top: { now: 6.2, average: 0 },
    },
  };
  const awsNodeStart = booted.awsNode.containerStartedAt.get('aws-node') ?? booted.awsNode.startedAt;
  return renderStockLayout(picture, {
    unit: 'al2',
    services,
    forwardPolicy: 'ACCEPT',
    clusterVersion: 'v1.29.13-eks-2d5f260',
    goVersion: 'go1.22.5',
    maxPods: 35,
    iptablesProgram: 'iptables-save v1.8.4',
    omit: [],
    containerLogs: [
      {
        pod: coredns,
        container: 'coredns',
        stream: 'stdout',
        start: corednsStart + 400_000,
        lines: corednsLines,
        stepMs: 0,
      },
      {
        pod: booted.awsNode,
        container: 'aws-node',
        stream: 'stdout',
        start: awsNodeStart,
        lines: awsNodeContainerLog(awsNodeStart, 4)
          .trimEnd()
          .split('\n')
          .map((line) => line.split(' stdout F ')[1] ?? line),
        stepMs: 210,
      },
      {
        pod: booted.kubeProxy,
        container: 'kube-proxy',
        stream: 'stderr',
        start: booted.kubeProxy.startedAt,
        lines: [
          `I0313 00:00:00.000000       1 server_linux.go:69] "Using iptables proxy"`,
          `I0313 00:00:00.000000       1 server.go:1062] "Successfully retrieved node IP(s)" IPs=["${node.privateIp}"]`,
          `I0313 00:00:00.000000       1 conntrack.go:58] "Setting nf_conntrack_max" nfConntrackMax=131072`,
          `I0313 00:00:00.000000       1 server.go:659] "kube-proxy running in single-stack mode" ipFamily="IPv4"`,
          `I0313 00:00:00.000000       1 server_linux.go:165] "Using iptables Proxier"`,
          `I0313 00:00:00.000000       1 server.go:865] "Version info" version="${node.kubeProxyVersion.replace(/-eksbuild.*/, '')}"`,
          `I0313 00:00:00.000000       1 config.go:188] "Starting service config controller"`,
          `I0313 00:00:00.000000       1 config.go:97] "Starting endpoint slice config controller"`,
          `I0313 00:00:00.000000       1 shared_informer.go:320] Caches are synced for service config`,
          `I0313 00:00:00.000000       1 shared_informer.go:320] Caches are synced for endpoint slice config`,
        ],
        stepMs: 35,
      },
    ],
  });
}

export const stockEksLogCollector = defineScenario(
  {
    name: 'stock-eks-log-collector',
    description:
      'AL2 t3.large bundle exactly as eks-log-collector.sh v0.7.8 tars it (`./` members, no manifest, journalctl `short`, iptables listings with `Total Number of Rules`); CoreDNS readiness probe failing with 503 for about half an hour.',
    layout: 'eks-log-collector',
    createdAt: CREATED_AT,
    node: nodeIdentity(node) satisfies NodeIdentity,
    emptyDirectories: STOCK_DIRECTORIES,
    expected: { 'kubelet-probe-failures': 'fail', 'cpu-starvation': 'pass', 'forward-policy-drop': 'pass' },
  },
  render,
);
