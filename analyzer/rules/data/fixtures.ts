/**
 * Builders of the aws-node evidence files in their real shapes, for the tests of the rules that read aws-node's
 * configuration, logs and IP pool, and of the node identity (test-only; nothing in the analyzer imports this).
 *
 * - `ctr -n k8s.io container info` output as the stock collector appends it to
 *   cni/cni-configuration-variables-containerd.json (4-space indented, one object per container; containerd's
 *   `containers.Container` with the OCI spec under `Spec`).
 * - A PodList as `kubectl get --raw /api/v1/pods` returns it (kubelet/pods.json), with the aws-node pod's three
 *   containers (aws-vpc-cni-init, aws-node, aws-eks-nodeagent) as the VPC CNI manifest defines them.
 * - zap JSON lines of ipamd.log and network-policy-agent.log, and CRI container log lines.
 * - ipamd's `/v1/enis` introspection document: the pre-1.7 ENIIPPools shape and the v1.20+ per-network-card one.
 */

export const REGISTRY = '602401143452.dkr.ecr.us-west-2.amazonaws.com';
export const HOSTNAME = 'ip-10-0-1-23.us-west-2.compute.internal';

export interface ContainerInfoOptions {
  image: string;
  createdAt?: string;
  name?: string;
  env?: Record<string, string>;
  args?: string[];
}

const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function containerInfo(options: ContainerInfoOptions): string {
  const env = Object.entries({
    PATH: CONTAINER_PATH,
    ADDITIONAL_ENI_TAGS: '{}',
    AWS_VPC_K8S_CNI_LOGLEVEL: 'DEBUG',
    AWS_VPC_K8S_CNI_LOG_FILE: '/host/var/log/aws-routed-eni/ipamd.log',
    ENABLE_PREFIX_DELEGATION: 'false',
    VPC_CNI_VERSION: options.image.split(':').pop() ?? '',
    ...options.env,
  }).map(([key, value]) => `${key}=${value}`);
  return containerInfoDocument(env, options);
}

/**
 * The aws-node `ctr container info` whose environment is PATH and exactly `env` (`KEY=value` lines), for the tests
 * of settings whose absence matters.
 */
export function awsNodeContainerInfo(env: string[], image = `${REGISTRY}/amazon-k8s-cni:v1.19.2-eksbuild.1`): string {
  return containerInfoDocument([`PATH=${CONTAINER_PATH}`, ...env], { image });
}

function containerInfoDocument(env: string[], options: Omit<ContainerInfoOptions, 'env'>): string {
  const value = {
    ID: '5f1c0d9e3b7a4c2d8e6f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d',
    Labels: {
      'io.cri-containerd.kind': 'container',
      'io.kubernetes.container.name': options.name ?? 'aws-node',
      'io.kubernetes.pod.name': 'aws-node-7xk2p',
      'io.kubernetes.pod.namespace': 'kube-system',
      'io.kubernetes.pod.uid': '0b5a2c1e-8f3d-4e2a-9c61-2f0d1e7a9b44',
    },
    Image: options.image,
    Runtime: { Name: 'io.containerd.runc.v2', Options: { type_url: 'containerd.runc.v1.Options' } },
    SnapshotKey: '5f1c0d9e3b7a4c2d8e6f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d',
    Snapshotter: 'overlayfs',
    CreatedAt: options.createdAt ?? '2025-02-03T10:11:12.123456789Z',
    UpdatedAt: options.createdAt ?? '2025-02-03T10:11:12.123456789Z',
    Extensions: {},
    Spec: {
      ociVersion: '1.1.0',
      process: {
        user: { uid: 0, gid: 0 },
        args: options.args ?? ['/app/aws-vpc-cni'],
        env,
        cwd: '/app',
      },
      annotations: { 'io.kubernetes.cri.container-type': 'container' },
    },
  };
  return `${JSON.stringify(value, null, 4)}\n`;
}

export interface PodOptions {
  cniVersion?: string;
  agentVersion?: string;
  nodeName?: string;
  podName?: string;
  env?: Record<string, string>;
  agentArgs?: string[];
  agentRestarts?: number;
  agentLastTermination?: { reason: string; exitCode: number; finishedAt: string };
  /** Whole EnvVar entries (valueFrom, secretKeyRef, …) after the aws-node container's `name: value` ones. */
  envVars?: object[];
  /** The aws-vpc-cni-init container's env; without it the container has none. */
  initEnv?: Record<string, string>;
  /** More fields of the aws-node container spec (envFrom, probes, …). */
  containerFields?: Record<string, unknown>;
}

export function awsNodePod(options: PodOptions = {}): Record<string, unknown> {
  const cni = options.cniVersion ?? 'v1.19.2-eksbuild.1';
  const agent = options.agentVersion ?? 'v1.1.6-eksbuild.1';
  const env = Object.entries({
    ADDITIONAL_ENI_TAGS: '{}',
    AWS_VPC_K8S_CNI_LOGLEVEL: 'DEBUG',
    NETWORK_POLICY_ENFORCING_MODE: 'standard',
    VPC_CNI_VERSION: cni,
    ...options.env,
  }).map(([name, value]) => ({ name, value }));
  env.push({
    name: 'MY_NODE_NAME',
    valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } },
  } as never);
  env.push(...((options.envVars ?? []) as never[]));
  const init: Record<string, unknown> = { name: 'aws-vpc-cni-init', image: `${REGISTRY}/amazon-k8s-cni-init:${cni}` };
  if (options.initEnv) init.env = Object.entries(options.initEnv).map(([name, value]) => ({ name, value }));
  const agentStatus: Record<string, unknown> = {
    name: 'aws-eks-nodeagent',
    image: `${REGISTRY}/amazon/aws-network-policy-agent:${agent}`,
    ready: true,
    restartCount: options.agentRestarts ?? 0,
    state: { running: { startedAt: '2025-02-03T10:11:20Z' } },
  };
  if (options.agentLastTermination) agentStatus.lastState = { terminated: options.agentLastTermination };
  return {
    metadata: {
      name: options.podName ?? 'aws-node-7xk2p',
      generateName: 'aws-node-',
      namespace: 'kube-system',
      labels: { 'app.kubernetes.io/name': 'aws-node', 'k8s-app': 'aws-node' },
    },
    spec: {
      nodeName: options.nodeName ?? HOSTNAME,
      hostNetwork: true,
      serviceAccountName: 'aws-node',
      initContainers: [init],
      containers: [
        { name: 'aws-node', image: `${REGISTRY}/amazon-k8s-cni:${cni}`, env, ...options.containerFields },
        {
          name: 'aws-eks-nodeagent',
          image: `${REGISTRY}/amazon/aws-network-policy-agent:${agent}`,
          args: options.agentArgs ?? [
            '--enable-ipv6=false',
            '--enable-network-policy=true',
            '--enable-cloudwatch-logs=false',
            '--enable-policy-event-logs=false',
            '--log-file=/var/log/aws-routed-eni/network-policy-agent.log',
            '--metrics-bind-addr=:8162',
            '--health-probe-bind-addr=:8163',
            '--conntrack-cache-cleanup-period=300',
          ],
        },
      ],
    },
    status: {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'aws-node',
          image: `${REGISTRY}/amazon-k8s-cni:${cni}`,
          ready: true,
          restartCount: 0,
          state: { running: { startedAt: '2025-02-03T10:11:12Z' } },
        },
        agentStatus,
      ],
    },
  };
}

export function kubeProxyPod(version: string, nodeName = HOSTNAME): Record<string, unknown> {
  return {
    metadata: { name: 'kube-proxy-x2v9q', namespace: 'kube-system' },
    spec: {
      nodeName,
      containers: [{ name: 'kube-proxy', image: `${REGISTRY}/eks/kube-proxy:${version}` }],
    },
    status: { phase: 'Running' },
  };
}

export function podList(...pods: Record<string, unknown>[]): string {
  return `${JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '123456' }, items: pods })}\n`;
}

/** A zap JSON line as ipamd and the network policy agent write it. */
export function zap(
  level: string,
  ts: string,
  caller: string,
  msg: string,
  fields: Record<string, unknown> = {},
): string {
  return JSON.stringify({ level, ts, caller, msg, ...fields });
}

/** A CRI container log line holding `message`. */
export function cri(time: string, message: string, stream: 'stdout' | 'stderr' = 'stdout'): string {
  return `${time} ${stream} F ${message}`;
}

/** Canonical paths the stock collector writes these to. */
export const PATHS = {
  containerInfo: 'cni/cni-configuration-variables-containerd.json',
  pods: 'kubelet/pods.json',
  ipamd: 'var_log/aws-routed-eni/ipamd.log',
  agentLog: 'var_log/aws-routed-eni/network-policy-agent.log',
  ebpfSdkLog: 'var_log/aws-routed-eni/ebpf-sdk.log',
  ebpfData: 'networking/ebpf-data.txt',
  kubelet: 'kubelet/kubelet.log',
  /** The aws-eks-nodeagent container log as the stock collector flattens it from /var/log/containers. */
  agentContainerLog:
    'var_log/aws-node-7xk2p_kube-system_aws-eks-nodeagent-3c1d8e2f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d.log',
} as const;

/** The kubelet journal line that states its version (klog structured, as the stock collector's journalctl prints it). */
export function kubeletVersionLine(version: string, host = 'ip-10-0-1-23'): string {
  return `Feb 03 10:05:01 ${host} kubelet[2981]: I0203 10:05:01.712345    2981 server.go:484] "Kubelet version" kubeletVersion="${version}"`;
}

/**
 * The primary ENI of a pre-1.7 `/v1/enis` (ENIIPPools) with one of its three addresses assigned, as
 * amazon-vpc-cni-k8s docs/troubleshooting.md showed it.
 */
export const LEGACY_PRIMARY_ENI_POOL = {
  AssignedIPv4Addresses: 1,
  DeviceNumber: 0,
  ID: 'eni-001197a0eeab79df8',
  IPv4Addresses: {
    '192.168.141.2': { Assigned: true },
    '192.168.145.92': { Assigned: false },
    '192.168.155.88': { Assigned: false },
  },
  IsPrimary: true,
} as const;

/**
 * A v1.20+ `/v1/enis` (keyed by network card) with one primary ENI on card 0 holding `cidrs` (AvailableIPv4Cidrs
 * entries, `/32` secondary IPs or `/28` prefixes).
 */
export function networkCardEnis(options: {
  totalIps: number;
  assignedIps: number;
  cidrs: Record<string, unknown>;
  eni?: string;
}): Record<string, unknown> {
  const eni = options.eni ?? 'eni-0abc';
  return {
    '0': {
      TotalIPs: options.totalIps,
      AssignedIPs: options.assignedIps,
      ENIs: {
        [eni]: {
          ID: eni,
          IsPrimary: true,
          IsTrunk: false,
          IsEFA: false,
          DeviceNumber: 0,
          AvailableIPv4Cidrs: options.cidrs,
          IPv6Cidrs: {},
          IsExcludedForPodIPs: false,
          RouteTableID: 254,
          SubnetID: 'subnet-0123',
        },
      },
    },
  };
}
