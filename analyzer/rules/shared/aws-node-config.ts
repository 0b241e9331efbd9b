/**
 * One view of the aws-node DaemonSet pod's configuration, from whichever sources the bundle has, each value with the
 * file and fragment it came from. Rules that judge aws-node's settings (IAM, IPv6, veth prefix, warm pool, add-on
 * management, privileges, resources) read it instead of each parsing the same documents.
 *
 * Sources (collectors.md §2.2 and §3.1):
 * - `cni/cni-configuration-variables-containerd.json` (item `cni-env-containerd`): the stock collector runs
 *   `ctr -n k8s.io container info <id>` for every container whose image matches `amazon-k8s-cni:v` (stopped ones
 *   too, so restarts leave several documents, one after another). containerd's `containers.Container` with the OCI
 *   spec decoded (containerd PR #2688): `{ID, Labels{io.kubernetes.container.name, io.kubernetes.pod.name, …}, Image,
 *   Runtime, SnapshotKey, CreatedAt, Spec{process{env["K=v"], capabilities{bounding, effective, …}}, mounts[],
 *   linux{namespaces[], resources{cpu{shares}}}, annotations}}` (awslabs/amazon-eks-ami PR #1245). The process env is
 *   complete: what the container really got, `valueFrom` resolved and the image's ENV included.
 * - `cni/cni-configuration-variables-dockerd.txt` (`cni-env-dockerd`): `docker container inspect` arrays,
 *   `[{Id, Created, Name, Config{Env[], Image, Labels}, HostConfig{Binds[], CapAdd[], Privileged, CpuShares}}]`.
 * - `kubelet/pods.json` (`kubelet-pods`): a PodList (or a bare array, or one Pod) holding the aws-node pod: its
 *   containers and initContainers (env with `value` or `valueFrom`, `envFrom`, resources, probes, securityContext,
 *   volumeMounts), hostNetwork, serviceAccountName, volumes, labels and annotations.
 * - `ipamd/ipamd-env-settings.json` and `ipamd/networkutils-env-settings.json` (`ipamd-env`,
 *   `ipamd-networkutils-env`): the values ipamd applied for a handful of keys, defaults already filled in
 *   (`WARM_IP_TARGET` 0 means none).
 *
 * "Not set" (a source that holds the container's whole environment lacks the variable: the default applies) is kept
 * apart from "unknown" (no source could tell).
 */
import { bundlePaths, type ItemId } from '../../../contract/bundle.ts';
import type { FileRef } from '../../engine/rule.ts';
import type { JsonEvent } from '../../parsers/json-document.ts';
import type { Evidence, Fact } from '../../report/model.ts';

export type AwsNodeSource = 'containerd' | 'dockerd' | 'pod-spec' | 'ipamd-env' | 'networkutils-env';

/** The containers of the aws-node pod (the network policy agent joined it in v1.14). */
export type ContainerRole = 'aws-node' | 'aws-vpc-cni-init' | 'aws-eks-nodeagent' | 'other';

/** Items that can hold the aws-node environment, for rules' `needs`. */
export const AWS_NODE_ENV_ITEMS = ['cni-env-containerd', 'cni-env-dockerd', 'kubelet-pods'] as const;
/** Items whose documents this module reads. */
export const AWS_NODE_CONFIG_ITEMS = [...AWS_NODE_ENV_ITEMS, 'ipamd-env', 'ipamd-networkutils-env'] as const;

/** The paths that would have told, for not-evaluated reasons. */
export const AWS_NODE_ENV_PATHS: readonly string[] = AWS_NODE_ENV_ITEMS.map((id) => bundlePaths[id]);

const SOURCE_OF_ITEM: Record<(typeof AWS_NODE_CONFIG_ITEMS)[number], AwsNodeSource> = {
  'cni-env-containerd': 'containerd',
  'cni-env-dockerd': 'dockerd',
  'kubelet-pods': 'pod-spec',
  'ipamd-env': 'ipamd-env',
  'ipamd-networkutils-env': 'networkutils-env',
};

export const SOURCE_LABEL: Record<AwsNodeSource, string> = {
  containerd: 'the container runtime (ctr container info)',
  dockerd: 'the container runtime (docker inspect)',
  'pod-spec': 'the pod spec',
  'ipamd-env': 'ipamd introspection (/v1/ipamd-env-settings)',
  'networkutils-env': 'ipamd introspection (/v1/networkutils-env-settings)',
};

/**
 * Documented defaults of the VPC CNI settings (README "CNI Configuration Variables"); `null` means no default, the
 * setting is off. The manifests and the EKS add-on set some of them explicitly (WARM_PREFIX_TARGET=1).
 */
export const VPC_CNI_DEFAULTS: Readonly<Record<string, string | null>> = {
  WARM_ENI_TARGET: '1',
  WARM_IP_TARGET: null,
  MINIMUM_IP_TARGET: null,
  WARM_PREFIX_TARGET: null,
  MAX_ENI: null,
  ENABLE_PREFIX_DELEGATION: 'false',
  ENABLE_IPv4: 'true',
  ENABLE_IPv6: 'false',
  ENABLE_POD_ENI: 'false',
  ANNOTATE_POD_IP: 'false',
  AWS_VPC_K8S_CNI_VETHPREFIX: 'eni',
  AWS_VPC_ENI_MTU: '9001',
  AWS_VPC_K8S_CNI_EXTERNALSNAT: 'false',
  AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'prng',
  AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'false',
  AWS_VPC_CNI_NODE_PORT_SUPPORT: 'true',
  AWS_VPC_K8S_CNI_LOGLEVEL: 'DEBUG',
  AWS_VPC_K8S_CNI_LOG_FILE: '/host/var/log/aws-routed-eni/ipamd.log',
  AWS_VPC_K8S_PLUGIN_LOG_LEVEL: 'DEBUG',
  AWS_VPC_K8S_PLUGIN_LOG_FILE: '/var/log/aws-routed-eni/plugin.log',
  DISABLE_INTROSPECTION: 'false',
  DISABLE_METRICS: 'false',
  DISABLE_TCP_EARLY_DEMUX: 'false',
  DISABLE_NETWORK_RESOURCE_PROVISIONING: 'false',
  INTROSPECTION_BIND_ADDRESS: '127.0.0.1:61679',
  POD_SECURITY_GROUP_ENFORCING_MODE: 'strict',
};

export interface EnvEntry {
  name: string;
  /** The value, when the source states it (always for runtime sources). */
  value?: string;
  /** `valueFrom` in the pod spec, described (`fieldRef spec.nodeName`, `secret s/k`): the value is not in the file. */
  valueFrom?: string;
  evidence: Evidence;
}

export interface ProbeView {
  kind: 'liveness' | 'readiness' | 'startup';
  /** As written; Kubernetes applies 1 s when absent. */
  timeoutSeconds?: number;
  periodSeconds?: number;
  failureThreshold?: number;
  initialDelaySeconds?: number;
  /** `exec.command`, when the probe runs a command (aws-node's runs `/app/grpc-health-probe`). */
  command?: string[];
  evidence: Evidence;
}

export interface MountView {
  mountPath: string;
  /** The host path behind the mount, when the source says (hostPath volumes, bind sources, docker Binds). */
  hostPath?: string;
  volume?: string;
}

export interface ContainerView {
  role: ContainerRole;
  name: string;
  source: AwsNodeSource;
  path: string;
  image?: string;
  env: Map<string, EnvEntry>;
  /** The source holds the container's whole environment, so a variable missing from it is not set. */
  envComplete: boolean;
  /** `envFrom` references of the pod spec (ConfigMaps, Secrets): variables the file does not show. */
  envFrom: string[];
  cpuRequestMilli?: number;
  cpuRequestRaw?: string;
  cpuLimitRaw?: string;
  memoryRequestRaw?: string;
  memoryLimitRaw?: string;
  /** cgroup CPU shares from the runtime: kubelet sets them from the CPU request (1000m = 1024 shares, minimum 2). */
  cpuShares?: number;
  resourcesEvidence?: Evidence;
  probes: ProbeView[];
  privileged?: boolean;
  /** Capabilities the pod spec adds (`NET_ADMIN`), without the `CAP_` prefix. */
  capabilitiesAdd?: string[];
  /** Capabilities the runtime granted (effective, else bounding set), without the `CAP_` prefix. */
  capabilities?: string[];
  securityEvidence?: Evidence;
  mounts: MountView[];
  /** From the runtime spec: the container has no network namespace of its own. */
  hostNetwork?: boolean;
  hostNetworkEvidence?: Evidence;
  podName?: string;
  podNamespace?: string;
  createdAt?: string;
  /** Restart count from the pod status, when the pod list has it. */
  restartCount?: number;
  /** Names the container and where it was read. */
  evidence: Evidence;
}

export interface VolumeView {
  name: string;
  hostPath?: string;
  /** `hostPath`, `projected`, `configMap`, … */
  kind: string;
}

export interface PodView {
  name: string;
  namespace: string;
  nodeName?: string;
  path: string;
  hostNetwork?: boolean;
  serviceAccountName?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  volumes: VolumeView[];
  containers: ContainerView[];
  initContainers: ContainerView[];
  evidence: Evidence;
}

export interface IntrospectedSetting {
  name: string;
  /** As ipamd reported it (number, boolean, string, list). */
  value: unknown;
  source: 'ipamd-env' | 'networkutils-env';
  evidence: Evidence;
}

export interface SourceNote {
  source: AwsNodeSource;
  path: string;
  /** What the file gave, or why it gave nothing. */
  detail: string;
  usable: boolean;
}

export interface AwsNodeConfig {
  /** The aws-node pod from the pod list, when it could be told apart. */
  pod?: PodView;
  /** Containers from the runtime files, newest first within a role. */
  runtime: ContainerView[];
  introspected: Map<string, IntrospectedSetting>;
  sources: SourceNote[];
}

export type EnvLookup =
  | {
      state: 'set';
      name: string;
      value: string;
      source: AwsNodeSource;
      evidence: Evidence;
      /** Another source says something else (an older container, a pod list from another moment). */
      disagreement?: { value: string; source: AwsNodeSource; evidence: Evidence };
    }
  | { state: 'from-ref'; name: string; ref: string; source: AwsNodeSource; evidence: Evidence }
  | {
      /** What ipamd applied, defaults included: the variable may or may not be set. */
      state: 'effective';
      name: string;
      value: string;
      source: 'ipamd-env' | 'networkutils-env';
      evidence: Evidence;
    }
  | {
      state: 'not-set';
      name: string;
      default: string | null;
      source: AwsNodeSource;
      evidence: Evidence;
      disagreement?: { value: string; source: AwsNodeSource; evidence: Evidence };
    }
  | { state: 'unknown'; name: string; default: string | null };

// ---------------------------------------------------------------------------------------------------------------
// Small value helpers

/** Go's strconv.ParseBool, which the CNI uses for its boolean settings; undefined when Go would reject it. */
export function parseGoBool(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

/** Go's strconv.Atoi: optional sign and decimal digits only. */
export function parseGoInt(value: string | undefined): number | undefined {
  if (value === undefined || !/^[+-]?\d+$/.test(value)) return undefined;
  const parsed = Number.parseInt(value, 10);
  return Number.isSafeInteger(parsed) ? parsed : undefined;
}

/** A Kubernetes CPU quantity (`25m`, `0.1`, `1`) in millicores. */
export function parseCpuQuantity(quantity: string | number | undefined): number | undefined {
  if (quantity === undefined) return undefined;
  const text = String(quantity).trim();
  const milli = /^(\d+)m$/.exec(text);
  if (milli) return Number(milli[1]);
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  return undefined;
}

/** The CPU request kubelet derived cgroup shares from (MilliCPUToShares: shares = milli × 1024 / 1000, minimum 2). */
export function cpuRequestFromShares(shares: number): number {
  return shares <= 2 ? 0 : Math.ceil((shares * 1000) / 1024);
}

export interface ImageRef {
  ref: string;
  /** `602401143452.dkr.ecr.us-west-2.amazonaws.com` */
  registry?: string;
  /** `amazon-k8s-cni` */
  repository: string;
  tag?: string;
  /** From the tag: `v1.19.2-eksbuild.1` gives 1.19.2. */
  version?: { major: number; minor: number; patch: number };
  /** The tag carries EKS's build suffix (`-eksbuild.N`): an image EKS built for its add-on and default install. */
  eksBuild: boolean;
}

export function parseImage(ref: string): ImageRef {
  const withoutDigest = ref.split('@')[0] ?? ref;
  const slash = withoutDigest.lastIndexOf('/');
  const last = withoutDigest.slice(slash + 1);
  const colon = last.indexOf(':');
  const tag = colon >= 0 ? last.slice(colon + 1) : undefined;
  const repository = colon >= 0 ? last.slice(0, colon) : last;
  const first = withoutDigest.split('/')[0] ?? '';
  const registry = slash >= 0 && /[.:]/.test(first) ? first : undefined;
  const version = tag ? /^v?(\d+)\.(\d+)\.(\d+)/.exec(tag) : null;
  return {
    ref,
    registry,
    repository,
    tag,
    version: version ? { major: Number(version[1]), minor: Number(version[2]), patch: Number(version[3]) } : undefined,
    eksBuild: tag !== undefined && /-eksbuild\.\d+/.test(tag),
  };
}

export function versionAtLeast(image: ImageRef | undefined, major: number, minor: number): boolean | undefined {
  if (!image?.version) return undefined;
  const v = image.version;
  return v.major > major || (v.major === major && v.minor >= minor);
}

/** Which aws-node container a name or image is. */
export function roleOf(name: string | undefined, image: string | undefined): ContainerRole {
  if (name === 'aws-node' || name === 'aws-vpc-cni-init' || name === 'aws-eks-nodeagent') return name;
  if (name) return 'other';
  const repository = image ? parseImage(image).repository : '';
  if (repository === 'amazon-k8s-cni') return 'aws-node';
  if (repository === 'amazon-k8s-cni-init') return 'aws-vpc-cni-init';
  if (repository === 'aws-network-policy-agent') return 'aws-eks-nodeagent';
  return 'other';
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the documents

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;
const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
const stringRecord = (value: unknown): Record<string, string> =>
  isObject(value)
    ? Object.fromEntries(
        Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
      )
    : {};
const stripCap = (cap: string) => cap.replace(/^CAP_/, '');

function runtimeEnv(list: string[], path: string, where: string): Map<string, EnvEntry> {
  const env = new Map<string, EnvEntry>();
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    const name = item.slice(0, eq);
    // Go's os.Getenv returns the first of duplicate entries.
    if (env.has(name)) continue;
    env.set(name, { name, value: item.slice(eq + 1), evidence: { path, text: item, note: where } });
  }
  return env;
}

/** One `ctr container info` document, or undefined when it is not one. */
export function containerFromCtrInfo(document: unknown, path: string): ContainerView | undefined {
  if (!isObject(document) || (document.Spec === undefined && document.Labels === undefined)) return undefined;
  let spec: unknown = document.Spec;
  // ctr before containerd PR #2688 printed the spec as {type_url, value}; value decoded in some builds.
  if (isObject(spec) && isObject(spec.value) && typeof spec.type_url === 'string') spec = spec.value;
  const specObject = isObject(spec) ? spec : {};
  const labels = stringRecord(document.Labels);
  const annotations = stringRecord(specObject.annotations);
  const image = str(document.Image) ?? annotations['io.kubernetes.cri.image-name'];
  const name = labels['io.kubernetes.container.name'] ?? annotations['io.kubernetes.cri.container-name'];
  const role = roleOf(name, image);
  const displayName = name ?? (role === 'other' ? (str(document.ID) ?? 'container') : role);
  const process = isObject(specObject.process) ? specObject.process : undefined;
  const envList = process && Array.isArray(process.env) ? strings(process.env) : undefined;
  const where = `Spec.process.env of ${displayName} (ctr container info)`;
  const view: ContainerView = {
    role,
    name: displayName,
    source: 'containerd',
    path,
    image,
    env: runtimeEnv(envList ?? [], path, where),
    envComplete: envList !== undefined,
    envFrom: [],
    probes: [],
    mounts: [],
    podName: labels['io.kubernetes.pod.name'] ?? annotations['io.kubernetes.cri.sandbox-name'],
    podNamespace: labels['io.kubernetes.pod.namespace'] ?? annotations['io.kubernetes.cri.sandbox-namespace'],
    createdAt: str(document.CreatedAt),
    evidence: { path, text: `"Image": "${image ?? '?'}"`, note: `container ${displayName} (ctr container info)` },
  };
  const capabilities = isObject(process?.capabilities) ? process.capabilities : undefined;
  if (capabilities) {
    const set = Array.isArray(capabilities.effective) ? capabilities.effective : capabilities.bounding;
    view.capabilities = strings(set).map(stripCap);
    const linux = isObject(specObject.linux) ? specObject.linux : {};
    // containerd's privileged mode grants every capability and drops the masked and read-only /proc paths.
    const masked = strings(linux.maskedPaths).length + strings(linux.readonlyPaths).length;
    view.privileged = view.capabilities.includes('SYS_ADMIN') && masked === 0;
    view.securityEvidence = {
      path,
      text: `"capabilities": ${JSON.stringify(strings(set))}`,
      note: `Spec.process.capabilities of ${displayName}`,
    };
  }
  for (const mount of Array.isArray(specObject.mounts) ? specObject.mounts : []) {
    if (!isObject(mount) || typeof mount.destination !== 'string') continue;
    view.mounts.push({ mountPath: mount.destination, hostPath: mount.type === 'bind' ? str(mount.source) : undefined });
  }
  const linux = isObject(specObject.linux) ? specObject.linux : undefined;
  if (linux && Array.isArray(linux.namespaces)) {
    const network = linux.namespaces.find((ns) => isObject(ns) && ns.type === 'network');
    view.hostNetwork = network === undefined;
    view.hostNetworkEvidence = {
      path,
      text: network ? JSON.stringify(network) : `"namespaces": ${JSON.stringify(linux.namespaces)}`,
      note: network ? 'own network namespace' : 'no network namespace of its own: host network',
    };
  }
  const cpu = isObject(linux?.resources) && isObject(linux.resources.cpu) ? linux.resources.cpu : undefined;
  const shares = num(cpu?.shares);
  if (shares !== undefined) {
    view.cpuShares = shares;
    view.cpuRequestMilli = cpuRequestFromShares(shares);
    view.resourcesEvidence = {
      path,
      text: `"cpu": ${JSON.stringify(cpu)}`,
      note: `Spec.linux.resources of ${displayName}`,
    };
  }
  return view;
}

/** `docker container inspect` output (an array of containers, or one container). */
export function containersFromDockerInspect(document: unknown, path: string): ContainerView[] {
  const list = Array.isArray(document) ? document : [document];
  const views: ContainerView[] = [];
  for (const item of list) {
    if (!isObject(item) || !isObject(item.Config)) continue;
    const config = item.Config;
    const host = isObject(item.HostConfig) ? item.HostConfig : {};
    const labels = stringRecord(config.Labels);
    // kubelet's dockershim names containers k8s_<container>_<pod>_<namespace>_<uid>_<attempt>.
    const dockerName = /^\/?k8s_([^_]+)_([^_]+)_([^_]+)_/.exec(str(item.Name) ?? '');
    const name = labels['io.kubernetes.container.name'] ?? dockerName?.[1];
    const image = str(config.Image);
    const role = roleOf(name, image);
    const displayName = name ?? (role === 'other' ? 'container' : role);
    const envList = Array.isArray(config.Env) ? strings(config.Env) : undefined;
    const view: ContainerView = {
      role,
      name: displayName,
      source: 'dockerd',
      path,
      image,
      env: runtimeEnv(envList ?? [], path, `Config.Env of ${displayName} (docker inspect)`),
      envComplete: envList !== undefined,
      envFrom: [],
      probes: [],
      mounts: [],
      podName: labels['io.kubernetes.pod.name'] ?? dockerName?.[2],
      podNamespace: labels['io.kubernetes.pod.namespace'] ?? dockerName?.[3],
      createdAt: str(item.Created),
      evidence: { path, text: `"Image": "${image ?? '?'}"`, note: `container ${displayName} (docker inspect)` },
    };
    if (typeof host.Privileged === 'boolean' || Array.isArray(host.CapAdd)) {
      view.privileged = host.Privileged === true;
      view.capabilitiesAdd = strings(host.CapAdd).map(stripCap);
      view.securityEvidence = {
        path,
        text: `"CapAdd": ${JSON.stringify(host.CapAdd ?? null)}, "Privileged": ${JSON.stringify(host.Privileged ?? false)}`,
        note: `HostConfig of ${displayName}`,
      };
    }
    for (const bind of strings(host.Binds)) {
      const [source, destination] = bind.split(':');
      if (source && destination) view.mounts.push({ mountPath: destination, hostPath: source });
    }
    const shares = num(host.CpuShares);
    if (shares !== undefined && shares > 0) {
      view.cpuShares = shares;
      view.cpuRequestMilli = cpuRequestFromShares(shares);
      view.resourcesEvidence = { path, text: `"CpuShares": ${shares}`, note: `HostConfig of ${displayName}` };
    }
    views.push(view);
  }
  return views;
}

function describeValueFrom(valueFrom: Json): string {
  for (const [kind, ref] of Object.entries(valueFrom)) {
    if (!isObject(ref)) continue;
    if (kind === 'fieldRef') return `fieldRef ${str(ref.fieldPath) ?? '?'}`;
    if (kind === 'resourceFieldRef') return `resourceFieldRef ${str(ref.resource) ?? '?'}`;
    return `${kind.replace(/KeyRef$/, '')} ${str(ref.name) ?? '?'}/${str(ref.key) ?? '?'}`;
  }
  return 'valueFrom';
}

function probeFrom(kind: ProbeView['kind'], probe: unknown, evidence: Evidence): ProbeView | undefined {
  if (!isObject(probe)) return undefined;
  const exec = isObject(probe.exec) ? probe.exec : undefined;
  return {
    kind,
    timeoutSeconds: num(probe.timeoutSeconds),
    periodSeconds: num(probe.periodSeconds),
    failureThreshold: num(probe.failureThreshold),
    initialDelaySeconds: num(probe.initialDelaySeconds),
    command: exec ? strings(exec.command) : undefined,
    evidence,
  };
}

function specContainer(
  container: Json,
  pod: { label: string; path: string; volumes: Map<string, VolumeView> },
  init: boolean,
): ContainerView {
  const name = str(container.name) ?? '?';
  const image = str(container.image);
  const where = `spec.${init ? 'initContainers' : 'containers'}[${name}]`;
  const at = (what: string) => `${where}.${what} in pod ${pod.label}`;
  const env = new Map<string, EnvEntry>();
  for (const item of Array.isArray(container.env) ? container.env : []) {
    if (!isObject(item) || typeof item.name !== 'string') continue;
    // kubelet applies the list in order, so a later duplicate wins.
    env.set(item.name, {
      name: item.name,
      value: typeof item.value === 'string' ? item.value : isObject(item.valueFrom) ? undefined : '',
      valueFrom: isObject(item.valueFrom) ? describeValueFrom(item.valueFrom) : undefined,
      evidence: { path: pod.path, text: JSON.stringify(item), note: at('env') },
    });
  }
  const envFrom = (Array.isArray(container.envFrom) ? container.envFrom : []).flatMap((source) => {
    if (!isObject(source)) return [];
    const ref = isObject(source.configMapRef)
      ? source.configMapRef
      : isObject(source.secretRef)
        ? source.secretRef
        : {};
    const kind = isObject(source.configMapRef) ? 'configMap' : 'secret';
    return [`${kind} ${str(ref.name) ?? '?'}`];
  });
  const view: ContainerView = {
    role: roleOf(name, image),
    name,
    source: 'pod-spec',
    path: pod.path,
    image,
    env,
    envComplete: envFrom.length === 0,
    envFrom,
    probes: [],
    mounts: [],
    evidence: {
      path: pod.path,
      text: `"name": "${name}", "image": "${image ?? '?'}"`,
      note: `${where} in pod ${pod.label}`,
    },
  };
  const resources = isObject(container.resources) ? container.resources : undefined;
  if (resources) {
    const requests = isObject(resources.requests) ? resources.requests : {};
    const limits = isObject(resources.limits) ? resources.limits : {};
    const text = (value: unknown) =>
      typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
    view.cpuRequestRaw = text(requests.cpu);
    view.cpuRequestMilli = parseCpuQuantity(view.cpuRequestRaw);
    view.cpuLimitRaw = text(limits.cpu);
    view.memoryRequestRaw = text(requests.memory);
    view.memoryLimitRaw = text(limits.memory);
    view.resourcesEvidence = {
      path: pod.path,
      text: `"resources": ${JSON.stringify(resources)}`,
      note: at('resources'),
    };
  } else {
    view.resourcesEvidence = { path: pod.path, text: '"resources" absent', note: at('resources') };
  }
  for (const [key, kind] of [
    ['livenessProbe', 'liveness'],
    ['readinessProbe', 'readiness'],
    ['startupProbe', 'startup'],
  ] as const) {
    const probe = probeFrom(kind, container[key], {
      path: pod.path,
      text: `"${key}": ${JSON.stringify(container[key])}`,
      note: at(key),
    });
    if (probe) view.probes.push(probe);
  }
  const security = isObject(container.securityContext) ? container.securityContext : {};
  const capabilities = isObject(security.capabilities) ? security.capabilities : {};
  view.privileged = security.privileged === true;
  view.capabilitiesAdd = strings(capabilities.add).map(stripCap);
  view.securityEvidence = {
    path: pod.path,
    text: `"securityContext": ${JSON.stringify(container.securityContext ?? {})}`,
    note: at('securityContext'),
  };
  for (const mount of Array.isArray(container.volumeMounts) ? container.volumeMounts : []) {
    if (!isObject(mount) || typeof mount.mountPath !== 'string') continue;
    const volume = str(mount.name);
    view.mounts.push({
      mountPath: mount.mountPath,
      volume,
      hostPath: volume ? pod.volumes.get(volume)?.hostPath : undefined,
    });
  }
  return view;
}

/** Whether a pod object is an aws-node pod (not aws-node-termination-handler and its like). */
function isAwsNodePod(pod: Json): boolean {
  const metadata = isObject(pod.metadata) ? pod.metadata : {};
  const spec = isObject(pod.spec) ? pod.spec : {};
  if (metadata.namespace !== undefined && metadata.namespace !== 'kube-system') return false;
  if (stringRecord(metadata.labels)['k8s-app'] === 'aws-node') return true;
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  return containers.some((container) => isObject(container) && container.name === 'aws-node');
}

/** The aws-node pods of a pod list (PodList, List, a bare array, or one Pod). */
export function awsNodePodsFrom(document: unknown, path: string): PodView[] {
  const items = Array.isArray(document)
    ? document
    : isObject(document) && Array.isArray(document.items)
      ? document.items
      : [document];
  const pods: PodView[] = [];
  for (const pod of items) {
    if (!isObject(pod) || !isObject(pod.spec) || !isAwsNodePod(pod)) continue;
    const metadata = isObject(pod.metadata) ? pod.metadata : {};
    const spec = pod.spec;
    const name = str(metadata.name) ?? '?';
    const namespace = str(metadata.namespace) ?? 'kube-system';
    const label = `${namespace}/${name}`;
    const volumes = new Map<string, VolumeView>();
    for (const volume of Array.isArray(spec.volumes) ? spec.volumes : []) {
      if (!isObject(volume) || typeof volume.name !== 'string') continue;
      const kind = Object.keys(volume).find((key) => key !== 'name') ?? 'unknown';
      const hostPath = isObject(volume.hostPath) ? str(volume.hostPath.path) : undefined;
      volumes.set(volume.name, { name: volume.name, kind, hostPath });
    }
    const context = { label, path, volumes };
    const containers = (Array.isArray(spec.containers) ? spec.containers : [])
      .filter(isObject)
      .map((container) => specContainer(container, context, false));
    const initContainers = (Array.isArray(spec.initContainers) ? spec.initContainers : [])
      .filter(isObject)
      .map((container) => specContainer(container, context, true));
    const status = isObject(pod.status) ? pod.status : {};
    for (const [list, views] of [
      [status.containerStatuses, containers],
      [status.initContainerStatuses, initContainers],
    ] as const) {
      for (const entry of Array.isArray(list) ? list : []) {
        if (!isObject(entry)) continue;
        const view = views.find((candidate) => candidate.name === entry.name);
        if (view) view.restartCount = num(entry.restartCount);
      }
    }
    for (const view of [...containers, ...initContainers]) {
      view.podName = name;
      view.podNamespace = namespace;
    }
    pods.push({
      name,
      namespace,
      nodeName: str(spec.nodeName),
      path,
      hostNetwork: typeof spec.hostNetwork === 'boolean' ? spec.hostNetwork : false,
      serviceAccountName: str(spec.serviceAccountName) ?? str(spec.serviceAccount),
      labels: stringRecord(metadata.labels),
      annotations: stringRecord(metadata.annotations),
      volumes: [...volumes.values()],
      containers,
      initContainers,
      evidence: { path, text: `"name": "${name}", "namespace": "${namespace}"`, note: `pod ${label}` },
    });
  }
  return pods;
}

/** The settings an ipamd introspection document reports; empty when the document is not that endpoint's answer. */
export function introspectedSettings(
  document: unknown,
  source: 'ipamd-env' | 'networkutils-env',
  path: string,
): IntrospectedSetting[] {
  // Versions without the endpoint answer every unknown path with {"AvailableCommands": [...]}.
  if (!isObject(document) || 'AvailableCommands' in document) return [];
  return Object.entries(document).map(([name, value]) => ({
    name,
    value,
    source,
    evidence: { path, text: `"${name}": ${JSON.stringify(value)}`, note: SOURCE_LABEL[source] },
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// The collector rules plug into their handlers

/** Bound on pods kept from a cluster-wide pod list (the legacy script's `kubectl get --raw /api/v1/pods`). */
const MAX_POD_CANDIDATES = 2000;

/** What the collector needs of `ctx.bundle`. */
export interface BundleView {
  readonly node: { hostname?: string };
  item(id: ItemId): { present: boolean };
}

export interface AwsNodeConfigCollector {
  handlers: {
    'cni-env-containerd': (event: JsonEvent, file: FileRef) => void;
    'cni-env-dockerd': (event: JsonEvent, file: FileRef) => void;
    'kubelet-pods': (event: JsonEvent, file: FileRef) => void;
    'ipamd-env': (event: JsonEvent, file: FileRef) => void;
    'ipamd-networkutils-env': (event: JsonEvent, file: FileRef) => void;
  };
  /**
   * The view, once the bundle has been read (call it in `done()` with `ctx.bundle`): the node's hostname picks this
   * node's pod from a cluster-wide list, and item presence tells a file that held no JSON from a missing one.
   */
  config(bundle?: BundleView): AwsNodeConfig;
}

export function createAwsNodeConfigCollector(): AwsNodeConfigCollector {
  const runtime: ContainerView[] = [];
  const podCandidates: PodView[] = [];
  let podDocuments = 0;
  let podsSeen = 0;
  const introspected = new Map<string, IntrospectedSetting>();
  const fileNotes = new Map<string, { source: AwsNodeSource; documents: number; found: number; other: number }>();
  const note = (source: AwsNodeSource, path: string) => {
    let entry = fileNotes.get(path);
    if (!entry) {
      entry = { source, documents: 0, found: 0, other: 0 };
      fileNotes.set(path, entry);
    }
    return entry;
  };

  const onRuntime = (source: 'containerd' | 'dockerd') => (event: JsonEvent, file: FileRef) => {
    const entry = note(source, file.path);
    if (event.kind !== 'document') return;
    entry.documents++;
    const views =
      source === 'containerd'
        ? [containerFromCtrInfo(event.value, file.path)].filter((view): view is ContainerView => view !== undefined)
        : containersFromDockerInspect(event.value, file.path);
    for (const view of views) {
      if (view.role === 'other') entry.other++;
      else {
        entry.found++;
        runtime.push(view);
      }
    }
  };
  const onIntrospection = (source: 'ipamd-env' | 'networkutils-env') => (event: JsonEvent, file: FileRef) => {
    const entry = note(source, file.path);
    if (event.kind !== 'document') return;
    entry.documents++;
    const settings = introspectedSettings(event.value, source, file.path);
    if (settings.length === 0) entry.other++;
    for (const setting of settings) {
      entry.found++;
      introspected.set(setting.name, setting);
    }
  };

  return {
    handlers: {
      'cni-env-containerd': onRuntime('containerd'),
      'cni-env-dockerd': onRuntime('dockerd'),
      'kubelet-pods'(event, file) {
        const entry = note('pod-spec', file.path);
        if (event.kind !== 'document') return;
        entry.documents++;
        podDocuments++;
        const value = event.value;
        podsSeen += Array.isArray(value)
          ? value.length
          : isObject(value) && Array.isArray(value.items)
            ? value.items.length
            : 1;
        for (const pod of awsNodePodsFrom(value, file.path)) {
          entry.found++;
          if (podCandidates.length < MAX_POD_CANDIDATES) podCandidates.push(pod);
        }
      },
      'ipamd-env': onIntrospection('ipamd-env'),
      'ipamd-networkutils-env': onIntrospection('networkutils-env'),
    },
    config(bundle) {
      // Newest first, so the container running now (not one a restart left behind) speaks for its role.
      runtime.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
      const pod = choosePod(podCandidates, runtime, bundle?.node.hostname);
      const sources: SourceNote[] = [];
      for (const id of AWS_NODE_CONFIG_ITEMS) {
        // The parser drops what is not JSON (an error message the collector captured), so no event arrived.
        if (bundle?.item(id).present && !fileNotes.has(bundlePaths[id])) {
          const source = SOURCE_OF_ITEM[id];
          sources.push({ source, path: bundlePaths[id], detail: 'no JSON document in the file', usable: false });
        }
      }
      for (const [path, entry] of fileNotes) {
        let detail: string;
        if (entry.documents === 0) detail = 'no JSON document in the file';
        else if (entry.source === 'pod-spec') {
          detail =
            entry.found === 0
              ? `${podsSeen} pod(s) in ${podDocuments} document(s), none of them aws-node`
              : pod
                ? `aws-node pod ${pod.namespace}/${pod.name}${entry.found > 1 ? ` (of ${entry.found} aws-node pods)` : ''}`
                : `${entry.found} aws-node pods, none identifiable as this node's`;
        } else if (entry.source === 'containerd' || entry.source === 'dockerd') {
          detail =
            entry.found === 0
              ? 'no aws-node container in the file'
              : `${entry.found} aws-node pod container(s)${entry.found > 1 ? ' (the newest of each is read)' : ''}`;
        } else {
          detail =
            entry.found === 0
              ? 'no settings (the endpoint is missing in this version or did not answer)'
              : `${entry.found} settings`;
        }
        const usable = entry.source === 'pod-spec' ? pod !== undefined && pod.path === path : entry.found > 0;
        sources.push({ source: entry.source, path, detail, usable });
      }
      return { pod, runtime, introspected, sources };
    },
  };
}

function choosePod(candidates: PodView[], runtime: ContainerView[], hostname: string | undefined): PodView | undefined {
  if (candidates.length === 0) return undefined;
  const runtimePods = new Set(runtime.map((view) => view.podName).filter(Boolean));
  const byName = candidates.find((pod) => runtimePods.has(pod.name));
  if (byName) return byName;
  if (hostname) {
    const short = hostname.split('.')[0];
    const onNode = candidates.find((pod) => pod.nodeName === hostname || pod.nodeName?.split('.')[0] === short);
    if (onNode) return onNode;
  }
  if (candidates.length === 1) return candidates[0];
  // A cluster-wide list: pods of one DaemonSet revision share their spec, so any of them tells.
  const revisions = new Set(candidates.map((pod) => pod.labels['controller-revision-hash'] ?? ''));
  if (revisions.size === 1 && !revisions.has('')) return candidates[0];
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Questions rules ask

/** The views of one container, the runtime's first (what really runs), then the pod spec's. */
export function containerViews(config: AwsNodeConfig, role: ContainerRole): ContainerView[] {
  const fromRuntime = config.runtime.filter((view) => view.role === role).slice(0, 1);
  const pod = config.pod;
  const fromSpec = pod ? [...pod.containers, ...pod.initContainers].filter((view) => view.role === role) : [];
  return [...fromRuntime, ...fromSpec.slice(0, 1)];
}

export function specContainerOf(config: AwsNodeConfig, role: ContainerRole): ContainerView | undefined {
  const pod = config.pod;
  return pod ? [...pod.containers, ...pod.initContainers].find((view) => view.role === role) : undefined;
}

/** Whether any source shows the container's environment (complete or not). */
export function hasEnvSource(config: AwsNodeConfig, role: ContainerRole = 'aws-node'): boolean {
  return containerViews(config, role).length > 0;
}

export function lookupEnv(config: AwsNodeConfig, name: string, role: ContainerRole = 'aws-node'): EnvLookup {
  const fallback = Object.hasOwn(VPC_CNI_DEFAULTS, name) ? (VPC_CNI_DEFAULTS[name] ?? null) : null;
  let decided: EnvLookup | undefined;
  for (const view of containerViews(config, role)) {
    const entry = view.env.get(name);
    let answer: EnvLookup | undefined;
    if (entry?.value !== undefined && entry.valueFrom === undefined) {
      answer = { state: 'set', name, value: entry.value, source: view.source, evidence: entry.evidence };
    } else if (entry?.valueFrom !== undefined) {
      answer = { state: 'from-ref', name, ref: entry.valueFrom, source: view.source, evidence: entry.evidence };
    } else if (view.envComplete) {
      answer = {
        state: 'not-set',
        name,
        default: fallback,
        source: view.source,
        evidence: {
          path: view.path,
          text: `${name} absent from ${view.source === 'pod-spec' ? 'env' : 'the environment'} of ${view.name} (${view.env.size} variable${view.env.size === 1 ? '' : 's'})`,
          note: SOURCE_LABEL[view.source],
        },
      };
    }
    if (!answer) continue;
    if (!decided) {
      decided = answer;
      continue;
    }
    if (
      (decided.state === 'set' || decided.state === 'not-set') &&
      (answer.state === 'set' || answer.state === 'not-set')
    ) {
      const mine = decided.state === 'set' ? decided.value : undefined;
      const theirs = answer.state === 'set' ? answer.value : undefined;
      if (mine !== theirs) {
        decided.disagreement = { value: theirs ?? '(not set)', source: answer.source, evidence: answer.evidence };
      }
    }
    break;
  }
  const setting = role === 'aws-node' ? config.introspected.get(name) : undefined;
  if (decided?.state === 'set' && setting && !decided.disagreement && !sameSetting(decided.value, setting.value)) {
    decided.disagreement = { value: String(setting.value), source: setting.source, evidence: setting.evidence };
  }
  if (decided && decided.state !== 'from-ref') return decided;
  if (setting && ['string', 'number', 'boolean'].includes(typeof setting.value)) {
    return {
      state: 'effective',
      name,
      value: String(setting.value),
      source: setting.source,
      evidence: setting.evidence,
    };
  }
  return decided ?? { state: 'unknown', name, default: fallback };
}

/** Whether an environment value and what ipamd reports for it mean the same (ipamd reports parsed values). */
function sameSetting(value: string, reported: unknown): boolean {
  if (typeof reported === 'number') {
    const parsed = parseGoInt(value);
    return parsed === reported || (reported === 0 && (parsed === undefined || parsed <= 0));
  }
  if (typeof reported === 'boolean') return (parseGoBool(value) ?? reported) === reported;
  if (typeof reported === 'string') return value === reported;
  return true;
}

/** A sentence for a verdict's caveats when two sources disagree about a variable. */
export function disagreementCaveat(lookup: EnvLookup): string | undefined {
  if ((lookup.state !== 'set' && lookup.state !== 'not-set') || !lookup.disagreement) return undefined;
  const mine = lookup.state === 'set' ? `${lookup.name}=${lookup.value}` : `${lookup.name} not set`;
  return `${mine} per ${SOURCE_LABEL[lookup.source]}, but ${SOURCE_LABEL[lookup.disagreement.source]} says ${lookup.disagreement.value}: the sources were taken at different times, or aws-node has not restarted since the change`;
}

/** The value in force: as set, as ipamd applied it, or the default when not set; undefined when unknown. */
export function effectiveValue(lookup: EnvLookup): string | undefined {
  switch (lookup.state) {
    case 'set':
    case 'effective':
      return lookup.value;
    case 'not-set':
      return lookup.default ?? undefined;
    default:
      return undefined;
  }
}

/** Whether the value in force is known, even if that value is "none". */
export function isKnown(lookup: EnvLookup): boolean {
  return lookup.state === 'set' || lookup.state === 'effective' || lookup.state === 'not-set';
}

export function envEvidence(lookup: EnvLookup): Evidence[] {
  if (lookup.state === 'unknown') return [];
  const evidence: Evidence[] = [
    { ...lookup.evidence, highlight: lookup.state === 'set' || lookup.state === 'effective' },
  ];
  if ((lookup.state === 'set' || lookup.state === 'not-set') && lookup.disagreement) {
    evidence.push({ ...lookup.disagreement.evidence, note: `${lookup.disagreement.evidence.note ?? ''}; differs` });
  }
  return evidence;
}

/** The same line named twice (one variable behind two findings) is shown once. */
export function uniqueEvidence(list: Evidence[]): Evidence[] {
  const seen = new Set<string>();
  return list.filter((evidence) => {
    const key = `${evidence.path}\0${evidence.line ?? ''}\0${evidence.text}\0${evidence.note ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** `ENABLE_IPv6=true (the pod spec)`, `WARM_IP_TARGET not set (no default)`, `… unknown`. */
export function describeEnv(lookup: EnvLookup): string {
  switch (lookup.state) {
    case 'set':
      return `${lookup.name}=${lookup.value}`;
    case 'effective':
      return `${lookup.name}=${lookup.value} as ipamd applied it`;
    case 'from-ref':
      return `${lookup.name} from ${lookup.ref}`;
    case 'not-set':
      return `${lookup.name} not set (${lookup.default === null ? 'no default' : `default ${lookup.default}`})`;
    default:
      return `${lookup.name} unknown`;
  }
}

/** Why the aws-node settings could not be read, naming the files that would have told. */
export function missingConfigReason(config: AwsNodeConfig, what = "aws-node's environment", plural = false): string {
  const notes = config.sources.filter((source) => AWS_NODE_ENV_PATHS.includes(source.path));
  const read = notes.map((source) => `${source.path}: ${source.detail}`);
  const absent = AWS_NODE_ENV_PATHS.filter((path) => !notes.some((source) => source.path === path));
  const parts = [
    ...read,
    ...(absent.length > 0 ? [`${absent.join(', ')} ${absent.length === 1 ? 'is' : 'are'} not in the bundle`] : []),
  ];
  return `${what} ${plural ? 'are' : 'is'} not known: ${parts.join('; ')}`;
}

/** Facts listing where the view came from, for a verdict's "what it rests on". */
export function sourceFacts(config: AwsNodeConfig): Fact[] {
  return config.sources.map((source) => ({
    label: `aws-node config source (${SOURCE_LABEL[source.source]})`,
    value: source.detail,
    path: source.path,
  }));
}
