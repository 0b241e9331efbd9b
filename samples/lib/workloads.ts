/**
 * The pods an EKS worker runs (VPC CNI, kube-proxy, EBS CSI node, Pod Identity agent, CoreDNS, applications)
 * and the routines that play them on a simulated node: boot, cron jobs, missing pull secrets.
 */
import { type KubeletStartOptions, kubeletStartup } from './kubelet-startup.ts';
import type { NodeSimulation, Pod, PodSpec } from './simulation.ts';
import { MINUTE, type Micros, SECOND } from './time.ts';

export function awsNodeSpec(name: string, version: string, region: string): PodSpec {
  const registry = `602401143452.dkr.ecr.${region}.amazonaws.com`;
  return {
    namespace: 'kube-system',
    name,
    hostNetwork: true,
    qos: 'burstable',
    terminationGracePeriodSeconds: 10,
    initContainers: [
      {
        name: 'aws-vpc-cni-init',
        image: `${registry}/amazon-k8s-cni-init:${version}`,
        comm: 'aws-vpc-cni-init',
        args: '/init/aws-vpc-cni-init',
      },
    ],
    containers: [
      {
        name: 'aws-node',
        image: `${registry}/amazon-k8s-cni:${version}`,
        comm: 'aws-k8s-agent',
        args: './aws-k8s-agent',
      },
      {
        name: 'aws-eks-nodeagent',
        image: `${registry}/amazon/aws-network-policy-agent:v1.1.6-eksbuild.1`,
        comm: 'controller',
        args: '/controller --enable-ipv6=false --enable-network-policy=false --enable-cloudwatch-logs=false --enable-policy-event-logs=false --log-file=/var/log/aws-routed-eni/network-policy-agent.log --metrics-bind-addr=:8162 --health-probe-bind-addr=:8163 --conntrack-cache-cleanup-period=300',
      },
    ],
    volumes: [
      { name: 'bpf-pin-path', plugin: 'host-path' },
      { name: 'cni-bin-dir', plugin: 'host-path' },
      { name: 'cni-net-dir', plugin: 'host-path' },
      { name: 'log-dir', plugin: 'host-path' },
      { name: 'run-dir', plugin: 'host-path' },
      { name: 'xtables-lock', plugin: 'host-path' },
    ],
  };
}

export function kubeProxySpec(name: string, version: string, region: string): PodSpec {
  return {
    namespace: 'kube-system',
    name,
    hostNetwork: true,
    qos: 'burstable',
    containers: [
      {
        name: 'kube-proxy',
        image: `602401143452.dkr.ecr.${region}.amazonaws.com/eks/kube-proxy:${version}`,
        comm: 'kube-proxy',
        args: 'kube-proxy --v=2 --config=/var/lib/kube-proxy-config/config --hostname-override=$(NODE_NAME)',
      },
    ],
    volumes: [
      { name: 'config', plugin: 'configmap' },
      { name: 'kubeconfig', plugin: 'configmap' },
      { name: 'lib-modules', plugin: 'host-path' },
      { name: 'varlog', plugin: 'host-path' },
      { name: 'xtables-lock', plugin: 'host-path' },
    ],
  };
}

export function ebsCsiNodeSpec(name: string): PodSpec {
  return {
    namespace: 'kube-system',
    name,
    hostNetwork: false,
    qos: 'burstable',
    containers: [
      {
        name: 'ebs-plugin',
        image: '602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/aws-ebs-csi-driver:v1.40.0',
        comm: 'aws-ebs-csi-dri',
        args: '/bin/aws-ebs-csi-driver node --endpoint=unix:/csi/csi.sock --csi-mount-point-prefix=/var/lib/kubelet/plugins/kubernetes.io/csi/ebs.csi.aws.com/ --logging-format=text --v=2',
      },
      {
        name: 'node-driver-registrar',
        image: '602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/csi-node-driver-registrar:v2.13.0-eks-1-32-4',
        comm: 'csi-node-driver',
        args: '/csi-node-driver-registrar --csi-address=/csi/csi.sock --kubelet-registration-path=/var/lib/kubelet/plugins/ebs.csi.aws.com/csi.sock --v=2',
      },
      {
        name: 'liveness-probe',
        image: '602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/livenessprobe:v2.15.0-eks-1-32-4',
        comm: 'livenessprobe',
        args: '/livenessprobe --csi-address=/csi/csi.sock',
      },
    ],
    volumes: [
      { name: 'device-dir', plugin: 'host-path' },
      { name: 'kubelet-dir', plugin: 'host-path' },
      { name: 'plugin-dir', plugin: 'host-path' },
      { name: 'registration-dir', plugin: 'host-path' },
    ],
  };
}

export function podIdentityAgentSpec(name: string, cluster: string): PodSpec {
  return {
    namespace: 'kube-system',
    name,
    hostNetwork: true,
    qos: 'burstable',
    containers: [
      {
        name: 'eks-pod-identity-agent',
        image: '602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/eks-pod-identity-agent:0.1.17',
        comm: 'eks-pod-identity',
        args: `/go-runner /eks-pod-identity-agent server --port 80 --cluster-name ${cluster} --probe-port 2703`,
      },
    ],
  };
}

export function corednsSpec(name: string, version: string): PodSpec {
  return {
    namespace: 'kube-system',
    name,
    hostNetwork: false,
    qos: 'burstable',
    containers: [
      {
        name: 'coredns',
        image: `602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/coredns:${version}`,
        comm: 'coredns',
        args: '/coredns -conf /etc/coredns/Corefile',
      },
    ],
    volumes: [{ name: 'config-volume', plugin: 'configmap' }],
  };
}

export function appSpec(
  namespace: string,
  name: string,
  container: { name: string; image: string; comm: string; args: string; user?: string },
  volumes: { name: string; plugin: string }[] = [],
): PodSpec {
  return { namespace, name, hostNetwork: false, qos: 'burstable', containers: [container], volumes };
}

export interface BootedNode {
  awsNode: Pod;
  kubeProxy: Pod;
  podIdentity: Pod | undefined;
  ebsCsi: Pod;
  cniReadyAt: Micros;
  kubeletStartAt: Micros;
}

export interface BootOptions {
  kubelet: Omit<KubeletStartOptions, 'at' | 'cniReadyAt'>;
  kubeletStartAfterBoot: Micros;
  awsNodeName: string;
  awsNodeVersion: string;
  kubeProxyName: string;
  withPodIdentityAgent: boolean;
  ebsCsiName: string;
}

/** Boot: kubelet starts, the DaemonSets arrive, aws-node installs the CNI config, the node becomes Ready. */
export function bootNode(sim: NodeSimulation, options: BootOptions): BootedNode {
  const node = sim.node;
  const kubeletStartAt = node.bootAt + options.kubeletStartAfterBoot;
  const admitAt = kubeletStartAt + 3 * SECOND + sim.random.int(0, 900_000);
  const awsNode = sim.admit(awsNodeSpec(options.awsNodeName, options.awsNodeVersion, node.region), admitAt);
  const kubeProxy = sim.admit(
    kubeProxySpec(options.kubeProxyName, node.kubeProxyVersion, node.region),
    admitAt + 1_800,
  );
  sim.start(kubeProxy, admitAt + 2 * SECOND);
  // The Pod Identity agent is an add-on: not every cluster runs it.
  let podIdentity: Pod | undefined;
  if (options.withPodIdentityAgent) {
    podIdentity = sim.admit(
      podIdentityAgentSpec(`eks-pod-identity-agent-${sim.random.kubeSuffix(5)}`, node.clusterName),
      admitAt + 2_900,
    );
    sim.start(podIdentity, admitAt + 3 * SECOND, { readyAfterSeconds: 4 });
  }
  sim.attachEni(node.bootAt, node.privateIp);
  const awsNodeStart = admitAt + 6 * SECOND;
  sim.start(awsNode, awsNodeStart);
  sim.ipamdStarts.push({ at: awsNodeStart + 1_500_000, version: options.awsNodeVersion, restart: false });
  const cniReadyAt = awsNodeStart + sim.random.int(18, 26) * SECOND;
  // ipamd keeps one spare ENI (WARM_ENI_TARGET=1): it attaches the second one right after start-up.
  sim.attachEni(cniReadyAt + 9 * SECOND);
  sim.readiness(awsNode, awsNodeStart + 40_000, false);
  sim.readiness(awsNode, cniReadyAt + 2 * SECOND, true);
  kubeletStartup(sim, { ...options.kubelet, at: kubeletStartAt, cniReadyAt });
  const ebsCsi = sim.admit(ebsCsiNodeSpec(options.ebsCsiName), admitAt + 4_100);
  sim.start(ebsCsi, cniReadyAt + 1 * SECOND);
  return { awsNode, kubeProxy, podIdentity, ebsCsi, cniReadyAt, kubeletStartAt };
}

export interface CronJobOptions {
  namespace: string;
  cronJob: string;
  container: { name: string; image: string; comm: string; args: string };
  everyMinutes: number;
  runSeconds: [number, number];
  from: Micros;
  to: Micros;
  /** Finished pods are deleted once this many newer runs exist (successfulJobsHistoryLimit). */
  historyLimit: number;
  onRun?: (pod: Pod, startedAt: Micros, finishedAt: Micros) => void;
}

/** Runs a CronJob on the node: one Job pod per schedule, named `<cronjob>-<unix minutes>-<suffix>`. */
export function runCronJob(sim: NodeSimulation, options: CronJobOptions): Pod[] {
  const pods: Pod[] = [];
  const period = options.everyMinutes * MINUTE;
  const first = Math.ceil(options.from / period) * period;
  for (let scheduled = first; scheduled < options.to; scheduled += period) {
    const name = `${options.cronJob}-${Math.floor(scheduled / MINUTE)}-${sim.random.kubeSuffix(5)}`;
    const admitted = scheduled + sim.random.int(600_000, 2_400_000);
    if (admitted >= options.to) break;
    const pod = sim.admit(appSpec(options.namespace, name, options.container), admitted);
    // While ipamd is down the sandbox cannot get an IP; kubelet retries the pod sync with back-off.
    let attempt = admitted;
    let ok = sim.start(pod, attempt);
    for (let retry = 0; !ok && retry < 8; retry++) {
      attempt += sim.random.int(12, 40) * SECOND;
      ok = attempt < options.to && sim.start(pod, attempt);
    }
    if (!ok) {
      pods.push(pod);
      pod.stoppedAt = attempt + 3 * SECOND;
      continue;
    }
    const finished = pod.startedAt + sim.random.int(options.runSeconds[0], options.runSeconds[1]) * SECOND;
    if (finished < options.to) {
      sim.complete(pod, finished);
      options.onRun?.(pod, pod.startedAt, finished);
    }
    pods.push(pod);
    const expired = pods.length - 1 - options.historyLimit;
    const old = expired >= 0 ? pods[expired] : undefined;
    if (old && old.removedAt === undefined && old.stoppedAt !== undefined) {
      const removeAt = finished + sim.random.int(1_000_000, 4_000_000);
      if (removeAt < options.to) sim.remove(old, removeAt);
    }
  }
  return pods;
}

/** kubelet warns about a missing imagePullSecret every time it syncs the pod (about once a minute). */
export function pullSecretNoise(sim: NodeSimulation, pod: Pod, secret: string, until: Micros): void {
  for (let at = pod.startedAt + 20 * SECOND; at < until; at += sim.random.int(55, 95) * SECOND)
    sim.pullSecretMissing(pod, at, secret);
}

/** Deployment pods scheduled after the node became Ready. */
export function startDeployment(sim: NodeSimulation, spec: PodSpec, at: Micros, readyAfterSeconds?: number): Pod {
  const pod = sim.admit(spec, at);
  sim.start(pod, at, readyAfterSeconds === undefined ? {} : { readyAfterSeconds });
  return pod;
}

export function replicaSetName(sim: NodeSimulation, deployment: string): string {
  return `${deployment}-${sim.random.kubeSuffix(sim.random.int(9, 10))}-${sim.random.kubeSuffix(5)}`;
}

export interface ReadinessProbeOptions {
  container: string;
  periodSeconds: number;
  failureThreshold: number;
  from: Micros;
  to: Micros;
  /** Chance that one probe fails at a moment. */
  failChance: (at: Micros) => number;
  output: (at: Micros) => string;
}

/**
 * Readiness probing of one container: every failure is logged; after `failureThreshold` failures in a row kubelet
 * marks the pod not ready (`status=""`), and the next success marks it ready again. Returns the failure count.
 */
export function runReadinessProbe(sim: NodeSimulation, pod: Pod, options: ReadinessProbeOptions): number {
  const random = sim.random.fork(`readiness/${pod.uid}/${options.container}`);
  let consecutive = 0;
  let ready = true;
  let failures = 0;
  const period = options.periodSeconds * SECOND;
  for (let at = options.from + random.int(0, period); at < options.to; at += period + random.int(-40_000, 40_000)) {
    if (random.chance(options.failChance(at))) {
      failures++;
      sim.probeFailed(pod, options.container, 'Readiness', options.output(at), at);
      consecutive++;
      if (ready && consecutive >= options.failureThreshold) {
        ready = false;
        sim.readiness(pod, at + random.int(40, 900), false);
      }
    } else {
      consecutive = 0;
      if (!ready) {
        ready = true;
        sim.readiness(pod, at + random.int(40, 900), true);
      }
    }
  }
  return failures;
}
