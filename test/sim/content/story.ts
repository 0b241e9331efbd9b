/**
 * One timeline per simulated node, shared by every file rendered from it: the ENIs ipamd attached, the pods that got
 * their addresses, aws-node's restarts and the failures of the scenario. The journal, the CNI logs, /v1/enis, the
 * checkpoint and the metrics all read from it, so they agree with each other as they would on a real node.
 */
import { createRandom, type Random } from '../random.ts';
import type { NodeScenario } from '../scenarios.ts';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;

export interface SimEni {
  id: string;
  mac: string;
  deviceNumber: number;
  isPrimary: boolean;
  primaryIp: string;
  /** Secondary IPv4 addresses ipamd added to its pool (the ENI's own primary address is never in it). */
  secondaryIps: string[];
  attachedAt: number;
}

export interface SimPod {
  namespace: string;
  name: string;
  uid: string;
  /** The pod sandbox (pause container) id: what the CNI and ipamd see as ContainerID. */
  sandboxId: string;
  containerId: string;
  netns: string;
  hostVeth: string;
  ip: string;
  eni: SimEni;
  startedAt: number;
}

/** One run of the scenario's CronJob: a pod that borrows the same spare address each time and gives it back. */
export interface JobRun extends SimPod {
  endedAt: number;
}

export interface ProbeEvent {
  at: number;
  probeType: 'Liveness' | 'Readiness';
  /** Exec probe killed by kubelet's timeout, or grpc-health-probe reporting its own connect timeout. */
  style: 'exec-timeout' | 'grpc-timeout';
}

export interface IpFailure {
  at: number;
  namespace: string;
  pod: string;
  podUid: string;
  sandboxId: string;
}

export interface AwsNodePod {
  name: string;
  uid: string;
  /** Container ids of aws-node, oldest first; the last one is running. */
  containerIds: string[];
  nodeAgentContainerId: string;
  /** When each aws-node container started, oldest first. */
  startedAt: number[];
  agentPid: number;
  entrypointPid: number;
  nodeAgentPid: number;
}

export interface NodeStory {
  now: number;
  bootAt: number;
  kubeletStartAt: number;
  awsNode: AwsNodePod;
  kubeProxyPod: { name: string; uid: string };
  enis: SimEni[];
  /** Pods running now, each holding one address. */
  pods: SimPod[];
  /** Finished CronJob pods, oldest first; their address is free again. */
  jobRuns: JobRun[];
  probeEvents: ProbeEvent[];
  /** When kubelet killed aws-node after failed liveness probes. */
  restarts: number[];
  ipFailures: IpFailure[];
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

function intToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Distinct addresses from the subnet, skipping the five AWS reserves and anything already taken. */
function addressPicker(subnetCidr: string, taken: Set<string>, random: Random): () => string {
  const [base = '0.0.0.0', bits = '24'] = subnetCidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const first = ipToInt(base);
  return () => {
    for (;;) {
      const candidate = intToIp(first + random.int(4, size - 2));
      if (!taken.has(candidate)) {
        taken.add(candidate);
        return candidate;
      }
    }
  };
}

/** `count` instants between `from` and `to` (inclusive), evenly spread with a little jitter, oldest first. */
function spread(random: Random, from: number, to: number, count: number): number[] {
  if (count <= 0) return [];
  if (count === 1) return [to];
  const step = (to - from) / (count - 1);
  return Array.from({ length: count }, (_, i) => Math.round(from + step * i + random.int(0, Math.min(step / 4, 9000))));
}

export function buildStory(scenario: NodeScenario, now: number): NodeStory {
  const random = createRandom(`story/${scenario.name}`);
  const { node, ipam } = scenario;
  const bootAt = now - node.uptimeMinutes * MINUTE;
  const kubeletStartAt = bootAt + 21 * SECOND + random.int(0, 900);
  const cniReadyAt = kubeletStartAt + 38 * SECOND;

  const taken = new Set([node.privateIp]);
  const pickAddress = addressPicker(node.subnetCidr, taken, random);
  const enis: SimEni[] = Array.from({ length: ipam.attachedEnis }, (_, deviceNumber) => ({
    id: `eni-${random.hex(17)}`,
    mac: `02:${Array.from({ length: 5 }, () => random.hex(2)).join(':')}`,
    deviceNumber,
    isPrimary: deviceNumber === 0,
    primaryIp: deviceNumber === 0 ? node.privateIp : pickAddress(),
    secondaryIps: [],
    attachedAt: deviceNumber === 0 ? bootAt : cniReadyAt + deviceNumber * 6 * SECOND,
  }));
  for (const eni of enis) {
    eni.secondaryIps = Array.from({ length: ipam.ipv4PerEni - 1 }, pickAddress);
  }

  // ipamd hands out addresses in Go map order: effectively shuffled across ENIs.
  const pool = enis.flatMap((eni) => eni.secondaryIps.map((ip) => ({ ip, eni })));
  for (let i = pool.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [pool[i], pool[j]] = [pool[j] as (typeof pool)[number], pool[i] as (typeof pool)[number]];
  }

  const pods: SimPod[] = [];
  let podStart = cniReadyAt + 4 * SECOND;
  for (const workload of ipam.workloads) {
    const templateHash = random.podSuffix(10);
    for (let replica = 0; replica < workload.replicas; replica++) {
      const slot = pool.shift();
      if (!slot) throw new Error(`scenario ${scenario.name}: more pods than addresses in the warm pool`);
      const name =
        workload.kind === 'Deployment'
          ? `${workload.name}-${templateHash}-${random.podSuffix()}`
          : `${workload.name}-${random.podSuffix()}`;
      pods.push({
        namespace: workload.namespace,
        name,
        uid: random.uuid(),
        sandboxId: random.hex(64),
        containerId: random.hex(64),
        netns: `cni-${random.uuid()}`,
        hostVeth: `eni${random.hex(11)}`,
        ip: slot.ip,
        eni: slot.eni,
        startedAt: podStart,
      });
      podStart += random.int(2, 40) * SECOND;
    }
  }

  const jobRuns: JobRun[] = [];
  const cron = scenario.cronJob;
  if (cron) {
    const slot = pool.shift();
    if (!slot) throw new Error(`scenario ${scenario.name}: no spare address left for the CronJob's pods`);
    const every = cron.everyMinutes * MINUTE;
    for (
      let scheduled = Math.ceil(podStart / every) * every;
      scheduled + cron.runSeconds * SECOND < now;
      scheduled += every
    ) {
      const startedAt = scheduled + random.int(1200, 3500);
      jobRuns.push({
        namespace: cron.namespace,
        name: `${cron.name}-${Math.floor(scheduled / MINUTE)}-${random.podSuffix()}`,
        uid: random.uuid(),
        sandboxId: random.hex(64),
        containerId: random.hex(64),
        netns: `cni-${random.uuid()}`,
        hostVeth: `eni${random.hex(11)}`,
        ip: slot.ip,
        eni: slot.eni,
        startedAt,
        endedAt: startedAt + cron.runSeconds * SECOND + random.int(0, 2000),
      });
    }
  }

  const probeEvents: ProbeEvent[] = [];
  const restarts: number[] = [];
  const story = scenario.probeFailures;
  if (story) {
    const from = now - story.firstMinutesAgo * MINUTE;
    const to = now - story.lastMinutesAgo * MINUTE;
    const liveness = spread(random, from, to, story.livenessFailures);
    liveness.forEach((at, index) => {
      probeEvents.push({ at, probeType: 'Liveness', style: index % 4 === 3 ? 'grpc-timeout' : 'exec-timeout' });
      // failureThreshold 3: every third consecutive liveness failure restarts the container.
      if (index % 3 === 2 && restarts.length < story.restarts) restarts.push(at + random.int(5, 60));
    });
    for (const at of spread(random, from + 20 * SECOND, to, story.readinessFailures)) {
      probeEvents.push({ at, probeType: 'Readiness', style: random.next() < 0.5 ? 'grpc-timeout' : 'exec-timeout' });
    }
    probeEvents.sort((a, b) => a.at - b.at);
  }

  const awsNodeStarts = [kubeletStartAt + 9 * SECOND, ...restarts.map((at) => at + 31 * SECOND + random.int(0, 4000))];
  const awsNode: AwsNodePod = {
    name: `aws-node-${random.podSuffix()}`,
    uid: random.uuid(),
    containerIds: awsNodeStarts.map(() => random.hex(64)),
    nodeAgentContainerId: random.hex(64),
    startedAt: awsNodeStarts,
    entrypointPid: 3400 + random.int(0, 400) + restarts.length * 1900,
    agentPid: 0,
    nodeAgentPid: 3300 + random.int(0, 90),
  };
  awsNode.agentPid = awsNode.entrypointPid + random.int(18, 60);

  const ipFailures: IpFailure[] = [];
  const exhaustion = scenario.ipExhaustion;
  if (exhaustion) {
    const uids = new Map(exhaustion.pendingPods.map((pod) => [pod.name, random.uuid()]));
    spread(random, now - exhaustion.firstMinutesAgo * MINUTE, now - 25 * SECOND, exhaustion.failedAssignments).forEach(
      (at, index) => {
        const pending = exhaustion.pendingPods[index % exhaustion.pendingPods.length];
        if (!pending) return;
        ipFailures.push({
          at,
          namespace: pending.namespace,
          pod: pending.name,
          podUid: uids.get(pending.name) ?? random.uuid(),
          sandboxId: random.hex(64),
        });
      },
    );
  }

  return {
    now,
    bootAt,
    kubeletStartAt,
    awsNode,
    kubeProxyPod: { name: `kube-proxy-${random.podSuffix()}`, uid: random.uuid() },
    enis,
    pods,
    jobRuns,
    probeEvents,
    restarts,
    ipFailures,
  };
}
