/**
 * A node's life as kubelet and the VPC CNI see it: pods admitted, sandboxes created (each taking an IP from the ENI
 * pool), containers started, probes failing, containers killed and restarted, jobs completing, pods removed. Every
 * step writes the kubelet journal lines kubelet v1.30/1.31 writes at `--v=2`, and records the CNI calls so the ipamd
 * and plugin logs, the checkpoint and `/v1/enis` agree with the journal.
 */
import { Journal, kv, quote } from './journal.ts';
import { hostnameOf, intToIpv4, ipv4ToInt, type NodeProfile } from './node.ts';
import { createRandom, type Random } from './random.ts';
import { goTime, type Micros, SECOND } from './time.ts';

export type ProbeType = 'Readiness' | 'Liveness' | 'Startup';

export interface ContainerSpec {
  name: string;
  image: string;
  /** Process name (`comm`) and command line as `ps` shows them. */
  comm: string;
  args: string;
  user?: string;
  cpuLimitMillis?: number;
}

export interface PodSpec {
  namespace: string;
  name: string;
  hostNetwork: boolean;
  containers: ContainerSpec[];
  initContainers?: ContainerSpec[];
  /** Extra volumes besides the projected service-account token (`kube-api-access-…`). */
  volumes?: { name: string; plugin: string }[];
  terminationGracePeriodSeconds?: number;
  qos: 'burstable' | 'besteffort' | 'guaranteed';
}

export interface Pod {
  spec: PodSpec;
  uid: string;
  ip?: string;
  sandboxId: string;
  netns: string;
  containerIds: Map<string, string>;
  restarts: Map<string, number>;
  /** When each container's current instance started (restarts move it). */
  containerStartedAt: Map<string, Micros>;
  apiVolume: string;
  admittedAt: Micros;
  startedAt: Micros;
  stoppedAt?: Micros;
  removedAt?: Micros;
}

export type CniEvent =
  | { kind: 'add'; at: Micros; pod: Pod; ip: string; eniId: string; deviceNumber: number }
  | { kind: 'del'; at: Micros; pod: Pod; ip: string; reason: string }
  | { kind: 'add-failed'; at: Micros; pod: Pod; sandboxId: string; netns: string; error: string };

export interface Eni {
  id: string;
  deviceNumber: number;
  primaryIp: string;
  secondaryIps: string[];
  subnetId: string;
  attachedAt: Micros;
}

export interface Assignment {
  pod: Pod;
  ip: string;
  eni: Eni;
  at: Micros;
}

/** kubelet source locations for v1.31 (they move a little between releases; parsers must not depend on them). */
const SRC = {
  syncAdd: 'kubelet.go:2407',
  syncUpdate: 'kubelet.go:2413',
  syncRemove: 'kubelet.go:2416',
  syncDelete: 'kubelet.go:2419',
  pleg: 'kubelet.go:2439',
  probeSync: 'kubelet.go:2528',
  housekeeping: 'kubelet.go:2391',
  probeFailed: 'prober.go:107',
  message: 'kuberuntime_manager.go:1027',
  killing: 'kuberuntime_container.go:808',
  noSandbox: 'util.go:30',
  verify: 'reconciler_common.go:245',
  mountStarted: 'reconciler_common.go:218',
  mountOk: 'operation_generator.go:637',
  unmountStarted: 'reconciler_common.go:159',
  teardownOk: 'operation_generator.go:803',
  detached: 'reconciler_common.go:288',
  removeContainer: 'scope.go:117',
  orphans: 'kubelet_volumes.go:163',
  latency: 'pod_startup_latency_tracker.go:104',
  podWorkers: 'pod_workers.go:1301',
  cpuStale: 'cpu_manager.go:395',
  cpuStateDeleted: 'state_mem.go:107',
  memStale: 'memory_manager.go:354',
  sandboxFailedLog: 'log.go:32',
  sandboxFailed: 'kuberuntime_sandbox.go:72',
  createSandboxFailed: 'kuberuntime_manager.go:1166',
  pullSecret: 'kubelet_pods.go:1017',
  containerNotFound: 'pod_container_deletor.go:53',
} as const;

export class NodeSimulation {
  readonly node: NodeProfile;
  readonly journal: Journal;
  readonly random: Random;
  readonly pods: Pod[] = [];
  readonly cni: CniEvent[] = [];
  readonly enis: Eni[] = [];
  readonly assignments = new Map<string, Assignment>();
  /** Times ipamd (aws-k8s-agent) started, with the aws-node image running then. */
  readonly ipamdStarts: { at: Micros; version: string; restart: boolean }[] = [];
  /** Windows in which ipamd did not answer gRPC (CNI ADD/DEL fail with connection refused). */
  readonly ipamdDown: { from: Micros; to: Micros }[] = [];
  readonly hostname: string;
  #pendingStaleState: { uid: string; containers: string[] }[] = [];

  constructor(node: NodeProfile) {
    this.node = node;
    this.journal = new Journal(node.seed);
    this.random = createRandom(`sim/${node.seed}`);
    this.hostname = hostnameOf(node);
  }

  // ---------------------------------------------------------------- ENIs and IPs

  /** Attaches an ENI holding `ipsPerEni - 1` secondary addresses picked from the node's subnet. */
  attachEni(at: Micros, primaryIp?: string): Eni {
    const [base, bits] = this.node.subnetCidr.split('/') as [string, string];
    const size = 2 ** (32 - Number(bits));
    const start = ipv4ToInt(base);
    const taken = new Set<string>([...this.enis.flatMap((eni) => [eni.primaryIp, ...eni.secondaryIps])]);
    const fresh = (): string => {
      for (;;) {
        const ip = intToIpv4(start + this.random.int(4, size - 2));
        if (!taken.has(ip)) {
          taken.add(ip);
          return ip;
        }
      }
    };
    const eni: Eni = {
      id: `eni-0${this.random.hex(16)}`,
      deviceNumber: this.enis.length,
      primaryIp: primaryIp ?? fresh(),
      secondaryIps: [],
      subnetId: this.node.subnetId,
      attachedAt: at,
    };
    taken.add(eni.primaryIp);
    for (let index = 1; index < this.node.ipsPerEni; index++) eni.secondaryIps.push(fresh());
    this.enis.push(eni);
    return eni;
  }

  #assignIp(pod: Pod, at: Micros): Assignment {
    for (const eni of this.enis) {
      for (const ip of eni.secondaryIps) {
        if (!this.assignments.has(ip)) {
          const assignment = { pod, ip, eni, at };
          this.assignments.set(ip, assignment);
          return assignment;
        }
      }
    }
    throw new Error(`${this.node.seed}: ENI pool exhausted while starting ${pod.spec.name}`);
  }

  /** CNI ADD for a pod whose kubelet lines a caller writes itself (the 2019 kubelet logs differently). */
  addPodNetwork(pod: Pod, at: Micros): void {
    const assignment = this.#assignIp(pod, at);
    pod.ip = assignment.ip;
    this.cni.push({
      kind: 'add',
      at,
      pod,
      ip: assignment.ip,
      eniId: assignment.eni.id,
      deviceNumber: assignment.eni.deviceNumber,
    });
  }

  delPodNetwork(pod: Pod, at: Micros): void {
    this.#releaseIp(pod, at, 'PodDeleted');
  }

  /** Registers a pod without writing kubelet lines. */
  registerPod(spec: PodSpec, at: Micros): Pod {
    const pod: Pod = {
      spec,
      uid: this.random.uuid(),
      sandboxId: this.newContainerId(),
      netns: `/proc/${this.random.int(4_000, 30_000)}/ns/net`,
      containerIds: new Map(spec.containers.map((container) => [container.name, this.newContainerId()])),
      restarts: new Map(spec.containers.map((container) => [container.name, 0])),
      containerStartedAt: new Map(spec.containers.map((container) => [container.name, at])),
      apiVolume: `default-token-${this.random.kubeSuffix(5)}`,
      admittedAt: at,
      startedAt: at,
    };
    this.pods.push(pod);
    return pod;
  }

  isIpamdDown(at: Micros): boolean {
    return this.ipamdDown.some((window) => at >= window.from && at < window.to);
  }

  // ---------------------------------------------------------------- kubelet lines

  klog(at: Micros, severity: 'I' | 'W' | 'E', source: string, message: string): void {
    // The journal ends when the collector read it.
    if (at >= this.node.collectedAt) return;
    this.journal.klog(at, this.node.kubeletPid, severity, source, message);
  }

  #podRef(pod: Pod): string {
    return `${pod.spec.namespace}/${pod.spec.name}`;
  }

  #volumeUnique(pod: Pod, volume: { name: string; plugin: string }): string {
    return `kubernetes.io/${volume.plugin}/${pod.uid}-${volume.name}`;
  }

  #volumes(pod: Pod): { name: string; plugin: string }[] {
    return [...(pod.spec.volumes ?? []), { name: pod.apiVolume, plugin: 'projected' }];
  }

  newContainerId(): string {
    return this.random.hex(64);
  }

  /** Creates the pod object and logs its admission (`SyncLoop ADD`), volume mounts and sandbox creation. */
  admit(spec: PodSpec, at: Micros): Pod {
    const pod: Pod = {
      spec,
      uid: this.random.uuid(),
      sandboxId: this.newContainerId(),
      netns: `/var/run/netns/cni-${this.random.uuid()}`,
      containerIds: new Map(),
      restarts: new Map(),
      containerStartedAt: new Map(),
      apiVolume: `kube-api-access-${this.random.kubeSuffix(5)}`,
      admittedAt: at,
      startedAt: at,
    };
    this.pods.push(pod);
    const ref = this.#podRef(pod);
    let t = at;
    this.klog(t, 'I', SRC.syncAdd, `"SyncLoop ADD" source="api" pods=[${quote(ref)}]`);
    // kubelet forgets CPU and memory manager state of removed pods when the next pod is admitted.
    for (const stale of this.#pendingStaleState.splice(0)) {
      for (const container of stale.containers) {
        t += this.random.int(20, 90);
        this.klog(
          t,
          'I',
          SRC.cpuStale,
          `"RemoveStaleState: removing container" podUID=${quote(stale.uid)} containerName=${quote(container)}`,
        );
        this.klog(
          t + 9,
          'I',
          SRC.cpuStateDeleted,
          `"Deleted CPUSet assignment" podUID=${quote(stale.uid)} containerName=${quote(container)}`,
        );
        this.klog(
          t + 31,
          'I',
          SRC.memStale,
          `"RemoveStaleState removing state" podUID=${quote(stale.uid)} containerName=${quote(container)}`,
        );
      }
    }
    t = at + this.random.int(40_000, 120_000);
    for (const volume of this.#volumes(pod)) {
      this.klog(
        t,
        'I',
        SRC.verify,
        `"operationExecutor.VerifyControllerAttachedVolume started for volume \\"${volume.name}\\" (UniqueName: \\"${this.#volumeUnique(pod, volume)}\\") pod \\"${spec.name}\\" (UID: \\"${pod.uid}\\") " pod=${quote(ref)}`,
      );
      t += this.random.int(300, 4000);
    }
    t += this.random.int(60_000, 110_000);
    for (const volume of this.#volumes(pod)) {
      this.klog(
        t,
        'I',
        SRC.mountStarted,
        `"operationExecutor.MountVolume started for volume \\"${volume.name}\\" (UniqueName: \\"${this.#volumeUnique(pod, volume)}\\") pod \\"${spec.name}\\" (UID: \\"${pod.uid}\\") " pod=${quote(ref)}`,
      );
      t += this.random.int(200, 3000);
    }
    for (const volume of this.#volumes(pod)) {
      t += this.random.int(2_000, 30_000);
      this.klog(
        t,
        'I',
        SRC.mountOk,
        `"MountVolume.SetUp succeeded for volume \\"${volume.name}\\" (UniqueName: \\"${this.#volumeUnique(pod, volume)}\\") pod \\"${spec.name}\\" (UID: \\"${pod.uid}\\") " pod=${quote(ref)}`,
      );
    }
    t += this.random.int(40_000, 90_000);
    this.klog(t, 'I', SRC.noSandbox, `"No sandbox for pod can be found. Need to start a new one" pod=${quote(ref)}`);
    pod.startedAt = t;
    return pod;
  }

  /**
   * Runs the sandbox (CNI ADD for pod-network pods) and starts the containers. Returns false when the CNI ADD failed
   * because ipamd was down; kubelet then logs the sandbox failure and retries later.
   */
  start(pod: Pod, at: Micros, options: { readyAfterSeconds?: number } = {}): boolean {
    const ref = this.#podRef(pod);
    let t = Math.max(at, pod.startedAt) + this.random.int(120_000, 450_000);
    if (!pod.spec.hostNetwork) {
      if (this.isIpamdDown(t)) {
        this.#sandboxFailed(pod, t);
        return false;
      }
      const assignment = this.#assignIp(pod, t);
      pod.ip = assignment.ip;
      this.cni.push({
        kind: 'add',
        at: t,
        pod,
        ip: assignment.ip,
        eniId: assignment.eni.id,
        deviceNumber: assignment.eni.deviceNumber,
      });
    }
    t += this.random.int(350_000, 900_000);
    const started: string[] = [];
    if (pod.spec.initContainers) {
      this.klog(
        t,
        'I',
        SRC.pleg,
        `"SyncLoop (PLEG): event for pod" pod=${quote(ref)} event={"ID":"${pod.uid}","Type":"ContainerStarted","Data":"${pod.sandboxId}"}`,
      );
      for (const _init of pod.spec.initContainers) {
        t += this.random.int(800_000, 2_500_000);
        this.klog(
          t,
          'I',
          SRC.pleg,
          `"SyncLoop (PLEG): event for pod" pod=${quote(ref)} event={"ID":"${pod.uid}","Type":"ContainerDied","Data":"${this.newContainerId()}"}`,
        );
      }
      t += this.random.int(300_000, 900_000);
    }
    for (const container of pod.spec.containers) {
      const id = this.newContainerId();
      pod.containerIds.set(container.name, id);
      pod.restarts.set(container.name, 0);
      pod.containerStartedAt.set(container.name, t);
      started.push(id);
    }
    for (const id of [...started, ...(pod.spec.initContainers ? [] : [pod.sandboxId])]) {
      this.klog(
        t,
        'I',
        SRC.pleg,
        `"SyncLoop (PLEG): event for pod" pod=${quote(ref)} event={"ID":"${pod.uid}","Type":"ContainerStarted","Data":"${id}"}`,
      );
      t += this.random.int(30, 400);
    }
    const created = pod.admittedAt - this.random.int(200_000, 900_000);
    const e2e = (t - created) / SECOND;
    this.klog(
      t + this.random.int(2000, 9000),
      'I',
      SRC.latency,
      `"Observed pod startup duration" pod=${quote(ref)} podStartSLOduration=${e2e.toFixed(9).replace(/0+$/, '')} podStartE2EDuration=${quote(`${e2e.toFixed(9).replace(/0+$/, '')}s`)} podCreationTimestamp=${quote(goTime(Math.floor(created / SECOND) * SECOND, false))} firstStartedPulling="0001-01-01 00:00:00 +0000 UTC" lastFinishedPulling="0001-01-01 00:00:00 +0000 UTC" observedRunningTime=${quote(goTime(t))} watchObservedRunningTime=${quote(goTime(t + 3_400))}`,
    );
    pod.startedAt = t;
    if (options.readyAfterSeconds !== undefined) {
      this.klog(t + 40_000, 'I', SRC.probeSync, `"SyncLoop (probe)" probe="readiness" status="" pod=${quote(ref)}`);
      this.readiness(pod, t + options.readyAfterSeconds * SECOND, true);
    }
    return true;
  }

  #sandboxFailed(pod: Pod, at: Micros): void {
    const ref = this.#podRef(pod);
    const sandboxId = this.newContainerId();
    const error =
      'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:50051: connect: connection refused"';
    this.cni.push({ kind: 'add-failed', at, pod, sandboxId, netns: `/var/run/netns/cni-${this.random.uuid()}`, error });
    const runtimeError = `rpc error: code = Unknown desc = failed to setup network for sandbox "${sandboxId}": plugin type="aws-cni" name="aws-cni" failed (add): add cmd: Error received from AddNetwork gRPC call: ${error}`;
    const t = at + this.random.int(1_500_000, 3_000_000);
    this.klog(t, 'E', SRC.sandboxFailedLog, `"RunPodSandbox from runtime service failed" err=${quote(runtimeError)}`);
    this.klog(
      t + 61,
      'E',
      SRC.sandboxFailed,
      `"Failed to create sandbox for pod" err=${quote(runtimeError)} pod=${quote(ref)}`,
    );
    this.klog(
      t + 97,
      'E',
      SRC.createSandboxFailed,
      `"CreatePodSandbox for pod failed" err=${quote(runtimeError)} pod=${quote(ref)}`,
    );
    const podKey = `${pod.spec.name}_${pod.spec.namespace}(${pod.uid})`;
    const workerError = `failed to "CreatePodSandbox" for "${podKey}" with CreatePodSandboxError: "Failed to create sandbox for pod \\"${podKey}\\": ${runtimeError.replaceAll('"', '\\"')}"`;
    this.klog(
      t + 133,
      'E',
      SRC.podWorkers,
      `"Error syncing pod, skipping" err=${quote(workerError)} pod=${quote(ref)} podUID=${quote(pod.uid)}`,
    );
  }

  readiness(pod: Pod, at: Micros, ready: boolean): void {
    this.klog(
      at,
      'I',
      SRC.probeSync,
      `"SyncLoop (probe)" probe="readiness" status=${ready ? '"ready"' : '""'} pod=${quote(this.#podRef(pod))}`,
    );
  }

  probeFailed(pod: Pod, container: string, probeType: ProbeType, output: string, at: Micros): void {
    this.klog(
      at,
      'I',
      SRC.probeFailed,
      `"Probe failed" probeType=${quote(probeType)} pod=${quote(this.#podRef(pod))} podUID=${quote(pod.uid)} containerName=${quote(container)} probeResult="failure" ${kv('output', output)}`,
    );
  }

  /** Liveness threshold reached: kubelet kills the container; it is started again after `restartDelaySeconds`. */
  livenessKill(pod: Pod, container: string, at: Micros, restartDelaySeconds: number): Micros {
    const ref = this.#podRef(pod);
    const oldId = pod.containerIds.get(container) ?? this.newContainerId();
    this.klog(at + 61, 'I', SRC.probeSync, `"SyncLoop (probe)" probe="liveness" status="unhealthy" pod=${quote(ref)}`);
    this.klog(
      at + 350,
      'I',
      SRC.message,
      `"Message for Container of pod" containerName=${quote(container)} containerStatusID={"Type":"containerd","ID":"${oldId}"} pod=${quote(ref)} containerMessage=${quote(`Container ${container} failed liveness probe, will be restarted`)}`,
    );
    const grace = pod.spec.terminationGracePeriodSeconds ?? 30;
    this.klog(
      at + 402,
      'I',
      SRC.killing,
      `"Killing container with a grace period" pod=${quote(ref)} podUID=${quote(pod.uid)} containerName=${quote(container)} containerID=${quote(`containerd://${oldId}`)} gracePeriod=${grace}`,
    );
    const died = at + this.random.int(400_000, 2_600_000);
    this.klog(
      died,
      'I',
      SRC.pleg,
      `"SyncLoop (PLEG): event for pod" pod=${quote(ref)} event={"ID":"${pod.uid}","Type":"ContainerDied","Data":"${oldId}"}`,
    );
    const restarts = (pod.restarts.get(container) ?? 0) + 1;
    pod.restarts.set(container, restarts);
    if (restarts > 1)
      this.klog(
        died + 1_200,
        'I',
        SRC.removeContainer,
        `"RemoveContainer" containerID=${quote(this.newContainerId())}`,
      );
    let t = died + 900_000;
    // While the restart back-off runs, every pod sync says so.
    let waited = 0;
    while (restartDelaySeconds > 0 && waited + 10 < restartDelaySeconds) {
      const step = this.random.int(8, 14);
      waited += step;
      t += step * SECOND;
      if (waited >= restartDelaySeconds) break;
      const podKey = `${pod.spec.name}_${pod.spec.namespace}(${pod.uid})`;
      this.klog(
        t,
        'E',
        SRC.podWorkers,
        `"Error syncing pod, skipping" err=${quote(`failed to "StartContainer" for "${container}" with CrashLoopBackOff: "back-off ${restartDelaySeconds}s restarting failed container=${container} pod=${podKey}"`)} pod=${quote(ref)} podUID=${quote(pod.uid)}`,
      );
    }
    const newId = this.newContainerId();
    pod.containerIds.set(container, newId);
    const startedAt = died + restartDelaySeconds * SECOND + this.random.int(600_000, 1_800_000);
    this.klog(
      startedAt,
      'I',
      SRC.pleg,
      `"SyncLoop (PLEG): event for pod" pod=${quote(ref)} event={"ID":"${pod.uid}","Type":"ContainerStarted","Data":"${newId}"}`,
    );
    pod.containerStartedAt.set(container, startedAt);
    return startedAt;
  }

  /** A run-to-completion pod (Job) finished: containers exit, the sandbox is stopped and its IP released. */
  complete(pod: Pod, at: Micros): void {
    const ref = this.#podRef(pod);
    for (const id of pod.containerIds.values()) {
      this.klog(
        at,
        'I',
        SRC.pleg,
        `"SyncLoop (PLEG): event for pod" pod=${quote(ref)} event={"ID":"${pod.uid}","Type":"ContainerDied","Data":"${id}"}`,
      );
    }
    const stop = at + this.random.int(900_000, 1_400_000);
    this.#releaseIp(pod, stop, 'PodDeleted');
    this.klog(
      stop + 30_000,
      'I',
      SRC.pleg,
      `"SyncLoop (PLEG): event for pod" pod=${quote(ref)} event={"ID":"${pod.uid}","Type":"ContainerDied","Data":"${pod.sandboxId}"}`,
    );
    this.klog(stop + 31_000, 'I', SRC.syncUpdate, `"SyncLoop UPDATE" source="api" pods=[${quote(ref)}]`);
    pod.stoppedAt = stop;
  }

  #releaseIp(pod: Pod, at: Micros, reason: string): void {
    if (!pod.ip) return;
    // While ipamd is down the DEL fails and kubelet retries it; it goes through once ipamd answers again.
    const down = this.ipamdDown.find((window) => at >= window.from && at < window.to);
    const when = down ? down.to + this.random.int(2_000_000, 9_000_000) : at;
    this.cni.push({ kind: 'del', at: when, pod, ip: pod.ip, reason });
    const assignment = this.assignments.get(pod.ip);
    if (assignment?.pod === pod) this.assignments.delete(pod.ip);
  }

  /** Graceful deletion of a running pod (rollout, scale-down). */
  terminate(pod: Pod, at: Micros): Micros {
    const ref = this.#podRef(pod);
    this.klog(at, 'I', SRC.syncDelete, `"SyncLoop DELETE" source="api" pods=[${quote(ref)}]`);
    let t = at + 900;
    for (const [name, id] of pod.containerIds) {
      this.klog(
        t,
        'I',
        SRC.killing,
        `"Killing container with a grace period" pod=${quote(ref)} podUID=${quote(pod.uid)} containerName=${quote(name)} containerID=${quote(`containerd://${id}`)} gracePeriod=${pod.spec.terminationGracePeriodSeconds ?? 30}`,
      );
      t += this.random.int(50, 300);
    }
    t += this.random.int(1_100_000, 4_000_000);
    for (const id of pod.containerIds.values()) {
      this.klog(
        t,
        'I',
        SRC.pleg,
        `"SyncLoop (PLEG): event for pod" pod=${quote(ref)} event={"ID":"${pod.uid}","Type":"ContainerDied","Data":"${id}"}`,
      );
      t += this.random.int(30, 200);
    }
    this.#releaseIp(pod, t + 200_000, 'PodDeleted');
    this.klog(
      t + 700_000,
      'I',
      SRC.pleg,
      `"SyncLoop (PLEG): event for pod" pod=${quote(ref)} event={"ID":"${pod.uid}","Type":"ContainerDied","Data":"${pod.sandboxId}"}`,
    );
    pod.stoppedAt = t;
    return this.remove(pod, t + 1_400_000);
  }

  /** The API object is gone: kubelet forgets the pod, unmounts volumes and cleans up its directories. */
  remove(pod: Pod, at: Micros): Micros {
    const ref = this.#podRef(pod);
    let t = at;
    this.klog(t, 'I', SRC.syncDelete, `"SyncLoop DELETE" source="api" pods=[${quote(ref)}]`);
    t += this.random.int(8_000, 40_000);
    this.klog(t, 'I', SRC.syncRemove, `"SyncLoop REMOVE" source="api" pods=[${quote(ref)}]`);
    t += this.random.int(60_000, 140_000);
    for (const volume of this.#volumes(pod)) {
      this.klog(
        t,
        'I',
        SRC.unmountStarted,
        `"operationExecutor.UnmountVolume started for volume \\"${volume.name}\\" (UniqueName: \\"${this.#volumeUnique(pod, volume)}\\") pod \\"${pod.uid}\\" (UID: \\"${pod.uid}\\") "`,
      );
      t += this.random.int(1_000, 9_000);
      this.klog(
        t,
        'I',
        SRC.teardownOk,
        `"UnmountVolume.TearDown succeeded for volume \\"${this.#volumeUnique(pod, volume)}\\" (OuterVolumeSpecName: \\"${volume.name}\\") pod \\"${pod.uid}\\" (UID: \\"${pod.uid}\\"). InnerVolumeSpecName \\"${volume.name}\\". PluginName \\"kubernetes.io/${volume.plugin}\\", VolumeGidValue \\"\\""`,
      );
    }
    t += this.random.int(80_000, 120_000);
    for (const volume of this.#volumes(pod)) {
      this.klog(
        t,
        'I',
        SRC.detached,
        `"Volume detached for volume \\"${volume.name}\\" (UniqueName: \\"${this.#volumeUnique(pod, volume)}\\") on node \\"${this.hostname}\\" DevicePath \\"\\""`,
      );
      t += this.random.int(100, 900);
    }
    for (const id of pod.containerIds.values()) {
      t += this.random.int(300_000, 700_000);
      this.klog(t, 'I', SRC.removeContainer, `"RemoveContainer" containerID=${quote(id)}`);
    }
    t += this.random.int(1_500_000, 2_500_000);
    this.klog(
      t,
      'I',
      SRC.orphans,
      `"Cleaned up orphaned pod volumes dir" podUID=${quote(pod.uid)} path=${quote(`/var/lib/kubelet/pods/${pod.uid}/volumes`)}`,
    );
    pod.removedAt = at;
    this.#pendingStaleState.push({ uid: pod.uid, containers: [...pod.containerIds.keys()] });
    return t;
  }

  pullSecretMissing(pod: Pod, at: Micros, secret: string): void {
    this.klog(
      at,
      'W',
      SRC.pullSecret,
      `"Unable to retrieve pull secret, the image pull may not succeed." pod=${quote(this.#podRef(pod))} secret="" err=${quote(`secret "${secret}" not found`)}`,
    );
  }

  housekeepingSlow(at: Micros, actualSeconds: number): void {
    this.klog(
      at,
      'I',
      SRC.housekeeping,
      `"Housekeeping took longer than expected" err="housekeeping took too long" expected="1s" actual=${quote(`${actualSeconds.toFixed(3)}s`)}`,
    );
  }

  syncUpdate(pod: Pod, at: Micros): void {
    this.klog(at, 'I', SRC.syncUpdate, `"SyncLoop UPDATE" source="api" pods=[${quote(this.#podRef(pod))}]`);
  }

  /** Pods running (admitted, not stopped) at a moment. */
  runningAt(at: Micros): Pod[] {
    return this.pods.filter((pod) => pod.startedAt <= at && (pod.stoppedAt === undefined || pod.stoppedAt > at));
  }
}
