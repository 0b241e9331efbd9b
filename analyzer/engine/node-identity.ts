/**
 * Who the node is, for the top of the report: from our manifest when there is one, otherwise from the small
 * identity files the stock collector writes (instance id, region, AZ, `uname -a`) and from what the bundle says
 * about versions. The manifest wins where both speak.
 *
 * Component versions come from several places, because no single file is in every bundle:
 * - VPC CNI: ipamd's `Starting L-IPAMD v1.19.2` line, and the `amazon-k8s-cni:v1.19.2-eksbuild.1` image tag of the
 *   aws-node container (`ctr container info` in cni/cni-configuration-variables-containerd.json, `docker inspect`
 *   in cni/cni-configuration-variables-dockerd.txt, the node's pods in kubelet/pods.json). The log line says what
 *   ipamd started as; the tag adds the EKS build (`-eksbuild.1`), so a tag with the same version refines the line.
 * - network policy agent: its `Starting network policy agent: v1.4.1 (…)` line (agent v1.4+), and the
 *   `aws-network-policy-agent:v1.2.0-eksbuild.1` image tag of the aws-eks-nodeagent container.
 * The version witness below gathers these sightings with where they were seen, so rules can show the evidence and
 * the identity collector can fill the node card from the same reading.
 */
import type { BundleManifest, ItemId, NodeIdentity } from '../../contract/bundle.ts';
import type { FileRef, RuleHandlers } from './rule.ts';

const KUBELET_VERSION = 'kubeletVersion=';
const IPAMD_START = 'Starting L-IPAMD';
/** Network policy agent v1.4+ (`main.go`): `Starting network policy agent: %s, log level: %s`. */
const NETWORK_POLICY_AGENT_START = 'Starting network policy agent';

/** Line prefilters the version witness needs; rules that use the witness spread these into `meta.filters`. */
export const VERSION_FILTERS = {
  'kubelet-log': [KUBELET_VERSION],
  'ipamd-log': [IPAMD_START],
  'network-policy-agent-log': [NETWORK_POLICY_AGENT_START],
  'network-policy-agent-container-log': [NETWORK_POLICY_AGENT_START],
} as const satisfies Partial<Record<ItemId, readonly string[]>>;

// ---------------------------------------------------------------------------------------------------------------
// Images and containers

export interface ImageRef {
  /** Registry and path, e.g. `602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni`. */
  repository: string;
  /** Last path segment of the repository (`amazon-k8s-cni`, `aws-network-policy-agent`, `kube-proxy`). */
  name: string;
  tag?: string;
}

/** Image repository names of the components whose versions are tracked. */
export const IMAGE_NAMES = {
  'vpc-cni': 'amazon-k8s-cni',
  'network-policy-agent': 'aws-network-policy-agent',
  'kube-proxy': 'kube-proxy',
} as const;

export function parseImage(image: string): ImageRef {
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  const repository = colon < 0 ? withoutDigest : withoutDigest.slice(0, colon);
  const tag = colon < 0 ? undefined : withoutDigest.slice(colon + 1);
  const ref: ImageRef = { repository, name: repository.slice(repository.lastIndexOf('/') + 1) };
  if (tag) ref.tag = tag;
  return ref;
}

/** A container of the node's system pods, as one of the bundle's sources describes it. */
export interface ContainerRecord {
  source: 'ctr container info' | 'docker inspect' | 'pod list';
  /** Container name (`aws-node`, `aws-eks-nodeagent`, `aws-vpc-cni-init`), from the CRI label or the pod spec. */
  name: string;
  image: string;
  /** Environment variables with literal values (pod-spec `valueFrom` entries are left out). */
  env: Record<string, string>;
  args: string[];
  /** When the container was created (ctr `CreatedAt`, docker `Created`). */
  createdAt?: string;
  pod?: string;
  namespace?: string;
  nodeName?: string;
  init?: boolean;
  /** From the pod status. */
  restartCount?: number;
  lastTermination?: { reason?: string; exitCode?: number; finishedAt?: string };
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** `["KEY=value", …]` (OCI spec, docker Config.Env) as a record. */
function envFromList(list: unknown): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of stringsOf(list)) {
    const equals = item.indexOf('=');
    if (equals > 0) env[item.slice(0, equals)] = item.slice(equals + 1);
  }
  return env;
}

/**
 * `ctr -n k8s.io container info <id>` output: one object per container (the stock collector appends one per
 * `amazon-k8s-cni:v*` container, running or not), with `Labels`, `Image`, `CreatedAt` and the OCI `Spec`.
 */
export function containersFromContainerInfo(value: unknown): ContainerRecord[] {
  const objects = Array.isArray(value) ? value : [value];
  const records: ContainerRecord[] = [];
  for (const info of objects) {
    if (!isObject(info)) continue;
    const image = stringOf(info.Image);
    if (!image) continue;
    const labels = isObject(info.Labels) ? info.Labels : {};
    if (labels['io.cri-containerd.kind'] === 'sandbox') continue;
    const spec = isObject(info.Spec) ? info.Spec : {};
    const process = isObject(spec.process) ? spec.process : {};
    records.push(runtimeContainer('ctr container info', image, labels, process.env, process.args, info.CreatedAt));
  }
  return records;
}

/** `docker container inspect` output: an array of containers with `Config.Image`, `Config.Env`, `Args`. */
export function containersFromDockerInspect(value: unknown): ContainerRecord[] {
  const objects = Array.isArray(value) ? value : [value];
  const records: ContainerRecord[] = [];
  for (const container of objects) {
    if (!isObject(container)) continue;
    const config = isObject(container.Config) ? container.Config : {};
    const image = stringOf(config.Image);
    if (!image) continue;
    const labels = isObject(config.Labels) ? config.Labels : {};
    records.push(runtimeContainer('docker inspect', image, labels, config.Env, container.Args, container.Created));
  }
  return records;
}

/** A container as a runtime reports it: the CRI labels name it and its pod, `KEY=value` lines give its env. */
function runtimeContainer(
  source: ContainerRecord['source'],
  image: string,
  labels: Json,
  env: unknown,
  args: unknown,
  created: unknown,
): ContainerRecord {
  const record: ContainerRecord = {
    source,
    name: stringOf(labels['io.kubernetes.container.name']) ?? parseImage(image).name,
    image,
    env: envFromList(env),
    args: stringsOf(args),
  };
  const createdAt = stringOf(created);
  if (createdAt) record.createdAt = createdAt;
  const pod = stringOf(labels['io.kubernetes.pod.name']);
  if (pod) record.pod = pod;
  const namespace = stringOf(labels['io.kubernetes.pod.namespace']);
  if (namespace) record.namespace = namespace;
  return record;
}

const SYSTEM_POD = /^(?:aws-node|kube-proxy)-/;

/**
 * A PodList (`kubectl get --raw /api/v1/pods`, which in the legacy collector is every pod of the cluster) or a single
 * Pod: the containers of the kube-system `aws-node-*` and `kube-proxy-*` pods, with their status.
 */
export function containersFromPodList(value: unknown): ContainerRecord[] {
  const pods = isObject(value) && Array.isArray(value.items) ? value.items : [value];
  const records: ContainerRecord[] = [];
  for (const pod of pods) {
    if (!isObject(pod) || !isObject(pod.metadata) || !isObject(pod.spec)) continue;
    const podName = stringOf(pod.metadata.name);
    const namespace = stringOf(pod.metadata.namespace);
    if (!podName || !SYSTEM_POD.test(podName) || (namespace !== undefined && namespace !== 'kube-system')) continue;
    const nodeName = stringOf(pod.spec.nodeName);
    const statuses = new Map<string, Json>();
    const status = isObject(pod.status) ? pod.status : {};
    for (const list of [status.containerStatuses, status.initContainerStatuses]) {
      if (!Array.isArray(list)) continue;
      for (const item of list) {
        const name = isObject(item) ? stringOf(item.name) : undefined;
        if (name && isObject(item)) statuses.set(name, item);
      }
    }
    for (const [list, init] of [
      [pod.spec.containers, false],
      [pod.spec.initContainers, true],
    ] as const) {
      if (!Array.isArray(list)) continue;
      for (const container of list) {
        if (!isObject(container)) continue;
        const name = stringOf(container.name);
        const image = stringOf(container.image);
        if (!name || !image) continue;
        const env: Record<string, string> = {};
        if (Array.isArray(container.env)) {
          for (const variable of container.env) {
            if (isObject(variable) && typeof variable.name === 'string' && typeof variable.value === 'string') {
              env[variable.name] = variable.value;
            }
          }
        }
        const record: ContainerRecord = {
          source: 'pod list',
          name,
          image,
          env,
          args: [...stringsOf(container.command), ...stringsOf(container.args)],
          pod: podName,
        };
        if (namespace) record.namespace = namespace;
        if (nodeName) record.nodeName = nodeName;
        if (init) record.init = true;
        const containerStatus = statuses.get(name);
        if (containerStatus) {
          if (typeof containerStatus.restartCount === 'number') record.restartCount = containerStatus.restartCount;
          const last = isObject(containerStatus.lastState) ? containerStatus.lastState.terminated : undefined;
          if (isObject(last)) {
            const termination: NonNullable<ContainerRecord['lastTermination']> = {};
            const reason = stringOf(last.reason);
            if (reason) termination.reason = reason;
            if (typeof last.exitCode === 'number') termination.exitCode = last.exitCode;
            const finishedAt = stringOf(last.finishedAt);
            if (finishedAt) termination.finishedAt = finishedAt;
            record.lastTermination = termination;
          }
        }
        records.push(record);
      }
    }
  }
  return records;
}

/** Whether a pod's node is this node: the same name, or the same first DNS label (`ip-10-0-1-23`). */
export function isSameNode(nodeName: string | undefined, hostname: string | undefined): boolean {
  if (!nodeName || !hostname) return false;
  if (nodeName === hostname) return true;
  return nodeName.split('.')[0] === hostname.split('.')[0];
}

// ---------------------------------------------------------------------------------------------------------------
// Version sightings

export type VersionedComponent = 'vpc-cni' | 'network-policy-agent' | 'kubelet' | 'kube-proxy';

export interface VersionSighting {
  component: VersionedComponent;
  /** As written, e.g. `v1.19.2`, `v1.19.2-eksbuild.1`, `v1.31.2-eks-94953ac`. */
  version: string;
  /** What said so, in words for the report: `ipamd startup line`, `aws-node image (ctr container info)`. */
  source: string;
  kind: 'log' | 'image';
  path: string;
  /** Line of a log sighting; JSON sources have none. */
  line?: number;
  /** The line, or the JSON fragment judged (`"Image": "…"`). */
  text: string;
  /** Epoch ms of the log line or the container's creation, to order sightings of the same kind. */
  time?: number;
  /** Node of the pod the sighting comes from (pod lists can hold every node's pods). */
  nodeName?: string;
}

/** Bound on pod-list sightings kept per component (a cluster-wide list has one aws-node pod per node). */
const MAX_POD_SIGHTINGS = 10_000;

function epochOf(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The x.y.z of a version string, for comparing sightings written with and without a build suffix. */
function coreOf(version: string): string | undefined {
  return /(\d+\.\d+\.\d+)/.exec(version)?.[1];
}

export interface VersionWitness {
  handlers: RuleHandlers;
  /** Every sighting kept (bounded: the latest per source, plus one per pod of a pod list). */
  sightings(component: VersionedComponent): VersionSighting[];
  /**
   * The version the bundle says the node runs, with the sighting it rests on: the latest startup line, refined by an
   * image tag of the same version; without a startup line, the newest container's image, then this node's pod.
   */
  best(component: VersionedComponent, hostname?: string): VersionSighting | undefined;
}

/** Items read for each component; a witness watches only those of the components it is asked about. */
const SOURCES_OF: Record<VersionedComponent, readonly string[]> = {
  'vpc-cni': ['ipamd-log', 'cni-env-containerd', 'cni-env-dockerd', 'kubelet-pods'],
  'network-policy-agent': [
    'network-policy-agent-log',
    'network-policy-agent-container-log',
    'cni-env-containerd',
    'cni-env-dockerd',
    'kubelet-pods',
  ],
  kubelet: ['kubelet-log'],
  'kube-proxy': ['kubelet-pods'],
};

export function createVersionWitness(
  components: readonly VersionedComponent[] = ['vpc-cni', 'network-policy-agent', 'kubelet', 'kube-proxy'],
): VersionWitness {
  /** Latest log sighting per component and source. */
  const logs = new Map<string, VersionSighting>();
  /** Newest image sighting per component and container source. */
  const containers = new Map<string, VersionSighting>();
  const pods = new Map<VersionedComponent, VersionSighting[]>();

  /** A log line that states a version: the newest such line of each component and source wins. */
  const sawLog = (
    component: VersionedComponent,
    version: string,
    source: string,
    at: { path: string; line: number; text: string; time: number | undefined },
  ) => {
    const sighting: VersionSighting = {
      component,
      version,
      source,
      kind: 'log',
      path: at.path,
      line: at.line,
      text: at.text,
    };
    if (at.time !== undefined) sighting.time = at.time;
    const key = `${sighting.component}\0${sighting.source}`;
    const previous = logs.get(key);
    // Without timestamps the file order stands; with them, an older line (a rotated file read later) does not win.
    if (!previous || previous.time === undefined || sighting.time === undefined || sighting.time >= previous.time) {
      logs.set(key, sighting);
    }
  };

  const sawContainer = (record: ContainerRecord, file: FileRef) => {
    const image = parseImage(record.image);
    const component = (Object.keys(IMAGE_NAMES) as (keyof typeof IMAGE_NAMES)[]).find(
      (key) => IMAGE_NAMES[key] === image.name,
    );
    if (!component || !image.tag || !components.includes(component)) return;
    const sighting: VersionSighting = {
      component,
      version: image.tag,
      source: `${record.name} image (${record.source})`,
      kind: 'image',
      path: file.path,
      text: `${record.pod ? `${record.pod}/` : ''}${record.name} image: ${record.image}`,
    };
    const time = epochOf(record.createdAt);
    if (time !== undefined) sighting.time = time;
    if (record.nodeName) sighting.nodeName = record.nodeName;
    if (record.source === 'pod list') {
      const list = pods.get(component) ?? [];
      if (list.length < MAX_POD_SIGHTINGS) list.push(sighting);
      pods.set(component, list);
      return;
    }
    const key = `${component}\0${record.source}`;
    const previous = containers.get(key);
    if (!previous || (sighting.time ?? 0) >= (previous.time ?? 0)) containers.set(key, sighting);
  };

  const allHandlers: RuleHandlers = {
    'ipamd-log': (event, file) => {
      if (event.kind !== 'entry') return;
      const match = /Starting L-IPAMD\s+(v?\d[\w.+-]*)/.exec(event.msg);
      if (!match?.[1]) return;
      sawLog('vpc-cni', match[1], 'ipamd startup line', {
        path: file.path,
        line: event.line,
        text: event.raw,
        time: epochOf(event.ts),
      });
    },
    'kubelet-log': (event, file) => {
      if (event.kind !== 'entry') return;
      const match = /kubeletVersion="?(v[\w.+-]+)/.exec(event.text);
      if (!match?.[1]) return;
      sawLog('kubelet', match[1], 'kubelet startup line', {
        path: file.path,
        line: event.line,
        text: event.raw,
        time: event.epochMs,
      });
    },
    'network-policy-agent-log': (event, file) => {
      if (event.kind !== 'entry') return;
      const version = networkPolicyAgentStartVersion(event.msg);
      if (!version) return;
      sawLog('network-policy-agent', version, 'network policy agent startup line', {
        path: file.path,
        line: event.line,
        text: event.raw,
        time: epochOf(event.ts),
      });
    },
    'network-policy-agent-container-log': (event, file) => {
      if (event.kind !== 'entry') return;
      const msg = typeof event.json?.msg === 'string' ? event.json.msg : event.message;
      const version = networkPolicyAgentStartVersion(msg);
      if (!version) return;
      sawLog('network-policy-agent', version, 'network policy agent startup line', {
        path: file.path,
        line: event.line,
        text: event.raw,
        time: epochOf(event.time),
      });
    },
    'cni-env-containerd': (event, file) => {
      if (event.kind !== 'document') return;
      for (const record of containersFromContainerInfo(event.value)) sawContainer(record, file);
    },
    'cni-env-dockerd': (event, file) => {
      if (event.kind !== 'document') return;
      for (const record of containersFromDockerInspect(event.value)) sawContainer(record, file);
    },
    'kubelet-pods': (event, file) => {
      if (event.kind !== 'document') return;
      for (const record of containersFromPodList(event.value)) sawContainer(record, file);
    },
  };

  const watched = new Set(components.flatMap((component) => SOURCES_OF[component]));
  const handlers = Object.fromEntries(
    Object.entries(allHandlers).filter(([item]) => watched.has(item)),
  ) as RuleHandlers;

  const sightings = (component: VersionedComponent): VersionSighting[] => [
    ...[...logs.values()].filter((sighting) => sighting.component === component),
    ...[...containers.values()].filter((sighting) => sighting.component === component),
    ...(pods.get(component) ?? []),
  ];

  const podSighting = (component: VersionedComponent, hostname: string | undefined) => {
    const list = pods.get(component) ?? [];
    const mine = list.find((sighting) => isSameNode(sighting.nodeName, hostname));
    if (mine) return mine;
    // Our agent lists only the node's own pods; a cluster-wide list only answers when every node agrees.
    const versions = new Set(list.map((sighting) => sighting.version));
    return versions.size === 1 ? list[0] : undefined;
  };

  const best = (component: VersionedComponent, hostname?: string): VersionSighting | undefined => {
    const images = [
      containers.get(`${component}\0ctr container info`),
      containers.get(`${component}\0docker inspect`),
      podSighting(component, hostname),
    ].filter((sighting): sighting is VersionSighting => sighting !== undefined);
    const log = [...logs.values()]
      .filter((sighting) => sighting.component === component)
      .sort((a, b) => (b.time ?? 0) - (a.time ?? 0))[0];
    if (!log) return images[0];
    const core = coreOf(log.version);
    const refining = images.find(
      (image) => coreOf(image.version) === core && image.version.length > log.version.length,
    );
    return refining ?? log;
  };

  return { handlers, sightings, best };
}

/** `Starting network policy agent: v1.4.1 (built: …, ebpf-sdk: …), log level: info` → `v1.4.1`. */
function networkPolicyAgentStartVersion(msg: string): string | undefined {
  if (!msg.startsWith(NETWORK_POLICY_AGENT_START)) return undefined;
  const match = /^Starting network policy agent:?\s+(v?\d+\.\d+\.\d+[\w.+-]*)/.exec(msg);
  return match?.[1];
}

/** Runs every handler of the given sets for each item (a rule combining the witness with its own handlers). */
export function combineHandlers(...sets: RuleHandlers[]): RuleHandlers {
  const combined: Record<string, (event: unknown, file: FileRef) => void> = {};
  const dones: (() => void)[] = [];
  for (const set of sets) {
    for (const [key, handler] of Object.entries(set)) {
      if (!handler) continue;
      if (key === 'done') {
        dones.push(handler as () => void);
        continue;
      }
      const previous = combined[key];
      const next = handler as (event: unknown, file: FileRef) => void;
      combined[key] = previous
        ? (event, file) => {
            previous(event, file);
            next(event, file);
          }
        : next;
    }
  }
  const result = combined as RuleHandlers;
  if (dones.length > 0) {
    result.done = () => {
      for (const done of dones) done();
    };
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// The identity collector

export function createIdentityCollector(): {
  handlers: RuleHandlers;
  filters: Partial<Record<string, readonly string[]>>;
  node(manifest: BundleManifest | undefined): NodeIdentity;
} {
  const seen: NodeIdentity = {};
  const versions = createVersionWitness(['vpc-cni', 'network-policy-agent']);
  const own: RuleHandlers = {
    'instance-id': (event) => {
      if (/^(i|mi)-[0-9a-f]+$/.test(event.text)) seen.instanceId ??= event.text;
    },
    region: (event) => {
      seen.region ??= event.text;
    },
    'availability-zone': (event) => {
      seen.availabilityZone ??= event.text;
    },
    'instance-type': (event) => {
      seen.instanceType ??= event.text;
    },
    uname: (event) => {
      // `Linux <hostname> <kernel release> #1 SMP <date> <machine> <processor> <platform> GNU/Linux`
      const fields = event.text.split(/\s+/);
      if (fields[0] !== 'Linux' || fields.length < 3) return;
      seen.hostname ??= fields[1];
      seen.kernel ??= fields[2];
      const machine = fields.find((field) => field === 'x86_64' || field === 'aarch64');
      if (machine) seen.architecture ??= machine;
    },
    'os-release': (event) => {
      const match = /^PRETTY_NAME="?([^"]*)"?$/.exec(event.text);
      if (match) seen.os ??= match[1];
    },
    'proc-stat': (event) => {
      if (event.kind === 'summary' && event.cpuCount > 0) seen.cpuCount ??= event.cpuCount;
    },
    'kubelet-log': (event) => {
      if (event.kind !== 'entry') return;
      const match = /kubeletVersion="?(v[\w.+-]+)/.exec(event.text);
      if (match) seen.kubeletVersion ??= match[1];
    },
  };
  return {
    handlers: combineHandlers(own, versions.handlers),
    filters: VERSION_FILTERS,
    node: (manifest) => {
      const found: NodeIdentity = { ...seen };
      const vpcCni = versions.best('vpc-cni', seen.hostname);
      if (vpcCni) found.vpcCniVersion = vpcCni.version;
      const agent = versions.best('network-policy-agent', seen.hostname);
      if (agent) found.networkPolicyAgentVersion = agent.version;
      return { ...found, ...definedOnly(manifest?.node ?? {}) };
    },
  };
}

function definedOnly(node: NodeIdentity): NodeIdentity {
  return Object.fromEntries(
    Object.entries(node).filter(([, value]) => value !== undefined && value !== ''),
  ) as NodeIdentity;
}
