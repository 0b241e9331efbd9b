/**
 * An m5.large (2 vCPU) running more batch work than it has CPU for. A kube-system LimitRange gives system pods a
 * 500m CPU limit, so aws-node is CFS-throttled on top of the contention; ipamd misses its gRPC health checks, kubelet
 * fails aws-node's liveness and readiness probes and restarts it, new pods fail sandbox creation while ipamd is
 * down, and an application's readiness probe times out too. Midway the team updates the VPC CNI add-on
 * (v1.18.6 → v1.19.2), which changes the probe address from `:50051` to `127.0.0.1:50051` but not the outcome.
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
import { NodeSimulation, type Pod, type ProbeType } from '../lib/simulation.ts';
import { HOUR, isoMillis, MINUTE, type Micros, SECOND } from '../lib/time.ts';
import {
  appSpec,
  awsNodeSpec,
  bootNode,
  pullSecretNoise,
  replicaSetName,
  runCronJob,
  runReadinessProbe,
  startDeployment,
} from '../lib/workloads.ts';
import { defineScenario } from './types.ts';

const CREATED_AT = '2025-03-12T03:41:27.000Z';
const OLD_CNI = 'v1.18.6-eksbuild.1';
const NEW_CNI = 'v1.19.2-eksbuild.1';

const node = nodeProfile(
  {
    seed: 'aws-node-cpu-starvation',
    os: 'al2023',
    clusterName: 'payments-prod',
    instanceId: 'i-0c81e3f4a5b6d7e92',
    instanceType: 'm5.large',
    cpuCount: 2,
    memTotalKb: 7_935_892,
    region: 'us-west-2',
    availabilityZone: 'us-west-2a',
    amiId: 'ami-0f2d8c6b4a1e3579c',
    privateIp: '10.0.77.201',
    vpcCidr: '10.0.0.0/16',
    subnetCidr: '10.0.64.0/19',
    subnetId: 'subnet-0a7c3e9f1b5d2468e',
    serviceCidr: '172.20.0.0/16',
    clusterDnsIp: '172.20.0.10',
    apiServerEndpoint: 'https://4C1E7A9B3D5F08264A1C3E5F7B9D0A2C.gr7.us-west-2.eks.amazonaws.com',
    ...AL2023_EKS_131_SOFTWARE,
    vpcCniVersion: NEW_CNI,
    maxEnis: 3,
    ipsPerEni: 10,
    kubeletPid: 2633,
  },
  CREATED_AT,
  13.4,
);

const kubeReserved = { cpu: '70m', memory: '574Mi' };
const INCIDENT_START = node.collectedAt - (4 * HOUR + 35 * MINUTE);
const UPGRADE_AT = node.collectedAt - (2 * HOUR + 10 * MINUTE);
const REPORT_EVERY = 30 * MINUTE;

/** How hard the node is starved at a moment: 0 before the incident, ~0.55 with the ETL replicas, ~0.95 while a report runs. */
function severity(at: Micros, reportRuns: { from: Micros; to: Micros }[]): number {
  if (at < INCIDENT_START) return 0;
  const report = reportRuns.some((run) => at >= run.from && at < run.to);
  return report ? 0.95 : 0.55;
}

function grpcProbeArgs(addr: string): string {
  return `/app/grpc-health-probe -addr=${addr} -connect-timeout=5s -rpc-timeout=5s`;
}

/** What a failing aws-node probe prints: the health probe's own (JSON) timeout, or kubelet's exec timeout. */
function probeOutput(at: Micros, addr: string, kubeletTimeout: boolean): string {
  if (kubeletTimeout) return `command "${grpcProbeArgs(addr)}" timed out`;
  const ts = isoMillis(at - 5_000_000 - (at % 300_000));
  return `${JSON.stringify({ level: 'info', ts, caller: '/usr/local/go/src/runtime/proc.go:271', msg: `timeout: failed to connect service "${addr}" within 5s` })}\n`;
}

interface AwsNodeGeneration {
  pod: Pod;
  addr: string;
  version: string;
  from: Micros;
  to: Micros;
}

/**
 * aws-node's two probes every 10 s (failureThreshold 3, liveness initialDelaySeconds 60). Three liveness failures in
 * a row kill the container; kubelet restarts it after the back-off (0, 10, 20, 40 … 300 s, reset after 10 minutes of
 * running), ipamd is down meanwhile.
 */
function probeAwsNode(
  sim: NodeSimulation,
  generation: AwsNodeGeneration,
  reportRuns: { from: Micros; to: Micros }[],
): void {
  const random = sim.random.fork(`aws-node/${generation.pod.spec.name}`);
  const { pod, addr } = generation;
  let liveFailures = 0;
  let readyFailures = 0;
  let ready = true;
  let backoffSeconds = 0;
  let lastStart = generation.from;
  let livenessFrom = generation.from + 60 * SECOND;
  for (
    let at = generation.from + random.int(0, 10 * SECOND);
    at < generation.to;
    at += 10 * SECOND + random.int(-60_000, 60_000)
  ) {
    const level = severity(at, reportRuns);
    const failChance = level === 0 ? 0 : level > 0.9 ? 0.52 : 0.11;
    const fail = (type: ProbeType, offset: number): boolean => {
      if (!random.chance(failChance)) return false;
      sim.probeFailed(
        pod,
        'aws-node',
        type,
        probeOutput(at + offset, addr, random.chance(level > 0.9 ? 0.45 : 0.2)),
        at + offset,
      );
      return true;
    };
    if (fail('Readiness', random.int(2_000, 400_000))) {
      readyFailures++;
      if (ready && readyFailures >= 3) {
        ready = false;
        sim.readiness(pod, at + 500_000, false);
      }
    } else {
      readyFailures = 0;
      if (!ready) {
        ready = true;
        sim.readiness(pod, at + 500_000, true);
      }
    }
    if (at < livenessFrom) continue;
    if (fail('Liveness', random.int(2_000, 400_000))) liveFailures++;
    else liveFailures = 0;
    if (liveFailures < 3) continue;
    liveFailures = 0;
    if (at - lastStart > 10 * MINUTE) backoffSeconds = 0;
    const killedAt = at + random.int(500_000, 900_000);
    // A kill whose restart would fall after the collection is not in the logs yet.
    if (killedAt + (backoffSeconds + 40) * SECOND >= generation.to) continue;
    const startedAt = sim.livenessKill(pod, 'aws-node', killedAt, backoffSeconds);
    sim.ipamdDown.push({ from: killedAt, to: startedAt + 14 * SECOND });
    sim.ipamdStarts.push({ at: startedAt + 1_200_000, version: generation.version, restart: true });
    backoffSeconds = backoffSeconds === 0 ? 10 : Math.min(300, backoffSeconds * 2);
    lastStart = startedAt;
    livenessFrom = startedAt + 60 * SECOND;
    at = startedAt;
    ready = false;
    readyFailures = 0;
  }
}

function render(): Record<string, string> {
  const sim = new NodeSimulation(node);
  const booted = bootNode(sim, {
    kubelet: al2023KubeletStart(node, 29, kubeReserved),
    kubeletStartAfterBoot: 13 * SECOND,
    awsNodeName: 'aws-node-7xk2p',
    awsNodeVersion: OLD_CNI,
    kubeProxyName: 'kube-proxy-m9bq4',
    withPodIdentityAgent: true,
    ebsCsiName: 'ebs-csi-node-hx2tc',
  });
  const ready = booted.cniReadyAt + 35 * SECOND;
  const ledger = startDeployment(
    sim,
    appSpec('payments', replicaSetName(sim, 'ledger-api'), {
      name: 'ledger-api',
      image: '444455556666.dkr.ecr.us-west-2.amazonaws.com/payments/ledger-api:5.2.0',
      comm: 'java',
      args: 'java -XX:MaxRAMPercentage=70 -jar /app/ledger-api.jar',
      user: '1001',
    }),
    ready + 3 * SECOND,
    31,
  );
  const checkout = startDeployment(
    sim,
    appSpec('shop', replicaSetName(sim, 'checkout-api'), {
      name: 'checkout-api',
      image: '444455556666.dkr.ecr.us-west-2.amazonaws.com/shop/checkout-api:3.8.4',
      comm: 'node',
      args: 'node --enable-source-maps dist/main.js',
      user: '1000',
    }),
    ready + 19 * SECOND,
    9,
  );
  const etlSpec = (name: string) =>
    appSpec('etl', name, {
      name: 'worker',
      image: '444455556666.dkr.ecr.us-west-2.amazonaws.com/etl/etl-worker:2024.12.3',
      comm: 'python3',
      args: 'python3 -m etl.worker --queue settlements --concurrency 4',
      user: '1000',
    });
  const etlHash = `etl-worker-${sim.random.kubeSuffix(10)}`;
  const etl = [startDeployment(sim, etlSpec(`${etlHash}-${sim.random.kubeSuffix(5)}`), ready + 44 * SECOND)];
  pullSecretNoise(sim, etl[0] as Pod, 'quay-pull', node.collectedAt);
  // The incident: the ETL deployment is scaled to 3 and both new replicas land here; the report CronJob starts.
  etl.push(startDeployment(sim, etlSpec(`${etlHash}-${sim.random.kubeSuffix(5)}`), INCIDENT_START + 2 * SECOND));
  etl.push(startDeployment(sim, etlSpec(`${etlHash}-${sim.random.kubeSuffix(5)}`), INCIDENT_START + 3 * SECOND));

  const reportRuns: { from: Micros; to: Micros }[] = [];
  for (
    let at = Math.ceil((INCIDENT_START + 6 * MINUTE) / REPORT_EVERY) * REPORT_EVERY;
    at < node.collectedAt;
    at += REPORT_EVERY
  ) {
    reportRuns.push({ from: at + 20 * SECOND, to: at + (11 + (Math.floor(at / REPORT_EVERY) % 5)) * MINUTE });
  }

  // aws-node before and after the add-on update.
  probeAwsNode(
    sim,
    { pod: booted.awsNode, addr: ':50051', version: OLD_CNI, from: booted.cniReadyAt, to: UPGRADE_AT },
    reportRuns,
  );
  sim.ipamdDown.push({ from: UPGRADE_AT, to: UPGRADE_AT + 40 * SECOND });
  const removedAt = sim.terminate(booted.awsNode, UPGRADE_AT);
  const newAwsNode = sim.admit(awsNodeSpec('aws-node-q8k4d', NEW_CNI, node.region), removedAt + 2 * SECOND);
  sim.start(newAwsNode, removedAt + 3 * SECOND);
  sim.ipamdStarts.push({ at: newAwsNode.startedAt + 1_400_000, version: NEW_CNI, restart: false });
  sim.readiness(newAwsNode, newAwsNode.startedAt + 50_000, false);
  sim.readiness(newAwsNode, newAwsNode.startedAt + 24 * SECOND, true);
  probeAwsNode(
    sim,
    {
      pod: newAwsNode,
      addr: '127.0.0.1:50051',
      version: NEW_CNI,
      from: newAwsNode.startedAt + 30 * SECOND,
      to: node.collectedAt,
    },
    reportRuns,
  );

  runCronJob(sim, {
    namespace: 'monitoring',
    cronJob: 'synthetic-payments',
    container: {
      name: 'probe',
      image: 'public.ecr.aws/docker/library/python:3.12-slim',
      comm: 'python3',
      args: 'python3 /scripts/payments_probe.py',
    },
    everyMinutes: 5,
    runSeconds: [9, 24],
    from: ready + 2 * MINUTE,
    to: node.collectedAt,
    historyLimit: 3,
  });
  runCronJob(sim, {
    namespace: 'reports',
    cronJob: 'report-builder',
    container: {
      name: 'builder',
      image: '444455556666.dkr.ecr.us-west-2.amazonaws.com/reports/report-builder:1.4.0',
      comm: 'python3',
      args: 'python3 build_reports.py --period daily --workers 2',
    },
    everyMinutes: 30,
    runSeconds: [620, 900],
    from: INCIDENT_START + 6 * MINUTE,
    to: node.collectedAt,
    historyLimit: 3,
  });

  // The application's readiness probe (HTTP, 1 s timeout) misses too while the CPU is saturated.
  runReadinessProbe(sim, checkout, {
    container: 'checkout-api',
    periodSeconds: 10,
    failureThreshold: 3,
    from: checkout.startedAt + 10 * SECOND,
    to: node.collectedAt,
    failChance: (at) => (severity(at, reportRuns) > 0.9 ? 0.27 : severity(at, reportRuns) > 0 ? 0.03 : 0),
    output: () =>
      `Get "http://${checkout.ip}:8080/healthz/ready": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
  });
  // kubelet's own housekeeping overruns when it cannot get CPU.
  const housekeeping = sim.random.fork('housekeeping');
  for (let at = INCIDENT_START + 4 * MINUTE; at < node.collectedAt; at += housekeeping.int(90, 420) * SECOND) {
    if (severity(at, reportRuns) > 0.9 || housekeeping.chance(0.3))
      sim.housekeepingSlow(at, housekeeping.float(1.05, 3.4));
  }

  const random = sim.random.fork('services');
  const services = clusterServices({
    random,
    node,
    corednsIps: [vpcAddress(random, node.vpcCidr), vpcAddress(random, node.vpcCidr)],
    apps: [
      {
        namespace: 'payments',
        name: 'ledger-api',
        port: 80,
        targetPort: 8080,
        clusterIp: '172.20.91.23',
        endpoints: [ledger.ip ?? '', vpcAddress(random, node.vpcCidr)],
      },
      {
        namespace: 'shop',
        name: 'checkout-api',
        port: 80,
        targetPort: 8080,
        clusterIp: '172.20.14.160',
        endpoints: [checkout.ip ?? '', vpcAddress(random, node.vpcCidr)],
      },
    ],
  });

  const uptimeSeconds = (node.collectedAt - node.bootAt) / SECOND;
  const awsNodeStarted = newAwsNode.containerStartedAt.get('aws-node') ?? newAwsNode.startedAt;
  const awsNodeRunning = (node.collectedAt - awsNodeStarted) / SECOND;
  const periods = Math.round(awsNodeRunning * 10 * 0.86);
  const awsNodeCpuStat = {
    usageUsec: Math.round(awsNodeRunning * 1_000_000 * 0.23),
    userShare: 0.57,
    periods,
    throttled: Math.round(periods * 0.41),
    throttledUsec: Math.round(periods * 0.41 * 38_500),
  };
  const systemThrottle = (pod: Pod, container: string, ratio: number, runningSeconds: number) => {
    const p = Math.round(runningSeconds * 10 * 0.8);
    return {
      pod,
      container,
      stats: {
        usageUsec: Math.round(runningSeconds * 1_000_000 * 0.21),
        userShare: 0.58,
        periods: p,
        throttled: Math.round(p * ratio),
        throttledUsec: Math.round(p * ratio * 31_000),
      },
    };
  };
  const picture: NodePicture = {
    sim,
    booted: { ...booted, awsNode: newAwsNode },
    collector: 'eks-node-diag',
    cpu: {
      load: [7.91, 7.46, 6.88],
      running: 9,
      threads: 728,
      lastPid: 611_874,
      top: { us: 76.5, sy: 20.6, ni: 0, id: 0, wa: 0, hi: 0, si: 0.7, st: 2.2 },
      lifetime: { user: 0.41, system: 0.11, iowait: 0.003, steal: 0.012 },
      psiCpu: { avg10: 72.38, avg60: 69.12, avg300: 61.47, total: uptimeSeconds * 1_000_000 * 0.22 },
      psiMemory: {
        some: { avg10: 0.31, avg60: 0.44, avg300: 0.38, total: 8_912_447 },
        full: { avg10: 0.12, avg60: 0.2, avg300: 0.17, total: 4_101_772 },
      },
      psiIo: {
        some: { avg10: 0.52, avg60: 0.61, avg300: 0.49, total: uptimeSeconds * 1_000_000 * 0.004 },
        full: { avg10: 0.33, avg60: 0.41, avg300: 0.3, total: uptimeSeconds * 1_000_000 * 0.0025 },
      },
      contextSwitchesPerSecond: 11_900,
    },
    memory: { anonKb: 5_612_004, cachedKb: 1_301_660, freeKb: 331_228, slabKb: 312_904 },
    throttled: [
      { pod: newAwsNode, container: 'aws-node', stats: awsNodeCpuStat },
      systemThrottle(newAwsNode, 'aws-eks-nodeagent', 0.27, (node.collectedAt - newAwsNode.startedAt) / SECOND),
      systemThrottle(booted.kubeProxy, 'kube-proxy', 0.33, (node.collectedAt - booted.kubeProxy.startedAt) / SECOND),
      systemThrottle(booted.ebsCsi, 'ebs-plugin', 0.12, (node.collectedAt - booted.ebsCsi.startedAt) / SECOND),
    ],
    kubepodsCpuStat: unthrottledCpuStat(uptimeSeconds, 0.93, 0.79),
    awsNodeCpuStat,
    processLoad: {
      python3: { now: 31.2, average: 0.31 },
      'aws-k8s-agent': { now: 25.0, average: 0.21 },
      kubelet: { now: 12.5, average: 0.094 },
      java: { now: 12.5, average: 0.08 },
      containerd: { now: 6.2, average: 0.041 },
      'kube-proxy': { now: 6.2, average: 0.012 },
      node: { now: 6.2, average: 0.03 },
      'ksoftirqd/1': { now: 6.2, average: 0.004 },
      top: { now: 6.2, average: 0 },
      'aws-vpc-cni': { now: 0, average: 0.002 },
      'systemd-journal': { now: 0, average: 0.004 },
    },
  };
  return renderOurLayout(picture, {
    unit: 'al2023',
    maxPods: 29,
    kubeReserved,
    services,
    forwardPolicy: 'ACCEPT',
    clusterVersion: 'v1.31.6-eks-bc803b4',
    goVersion: 'go1.23.5',
    absent: ['ipamd-metrics'],
    ipamdWaitSeconds: 18,
  });
}

export const awsNodeCpuStarvation = defineScenario(
  {
    name: 'aws-node-cpu-starvation',
    description:
      'AL2023 m5.large (2 vCPU) at load 7.9 with PSI cpu some avg10 72%: aws-node CFS-throttled and failing liveness/readiness probes (`:50051`, then `127.0.0.1:50051` after a CNI update), restarts, sandbox failures, an app readiness probe timing out; ipamd metrics timed out.',
    layout: 'eks-node-diag',
    createdAt: CREATED_AT,
    node: nodeIdentity(node),
    manifestOverrides: {
      items: [
        {
          id: 'ipamd-metrics',
          status: 'timeout',
          reason: 'timed out after 10s: GET http://127.0.0.1:61678/metrics',
          exitCode: null,
          durationMs: 10_004,
        },
        ...AL2023_ABSENT_ITEMS,
      ],
    },
    expected: { 'kubelet-probe-failures': 'fail', 'cpu-starvation': 'fail', 'forward-policy-drop': 'pass' },
  },
  render,
);
