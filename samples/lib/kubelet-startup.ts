/**
 * What kubelet v1.29–v1.31 writes when its unit starts on an EKS node at `--v=2`: the systemd start lines, flag
 * deprecations, the FLAG dump, manager start-up, node registration, and "cni plugin not initialized" every few
 * seconds until aws-node has written the CNI config.
 */
import { quote } from './journal.ts';
import type { NodeProfile } from './node.ts';
import type { NodeSimulation } from './simulation.ts';
import { type Micros, SECOND } from './time.ts';

export interface KubeletStartOptions {
  at: Micros;
  /** When aws-node wrote 10-aws.conflist; until then kubelet reports the network as not ready. */
  cniReadyAt: Micros;
  flags: Record<string, string>;
  /** Flags given on the command line that kubelet warns are deprecated. */
  deprecatedFlags: string[];
  kubeReserved: { cpu: string; memory: string };
  /** AL2023 units carry `kubelet.service - Kubernetes Kubelet` in systemd 252's messages. */
  systemdVersion: 219 | 252;
  cgroupVersion: 1 | 2;
}

const DEPRECATION: Record<string, string> = {
  'container-runtime-endpoint':
    "This parameter should be set via the config file specified by the Kubelet's --config flag. See https://kubernetes.io/docs/tasks/administer-cluster/kubelet-config-file/ for more information.",
  'pod-infra-container-image':
    'will be removed in a future release. Image garbage collector will get sandbox image information from CRI.',
};

/** The common kubelet flags and their defaults, as the FLAG dump prints them (sorted, quoted). */
const DEFAULT_FLAGS: Record<string, string> = {
  address: '0.0.0.0',
  'allowed-unsafe-sysctls': '[]',
  'anonymous-auth': 'true',
  'application-metrics-count-limit': '100',
  'authentication-token-webhook': 'false',
  'authorization-mode': 'AlwaysAllow',
  'bootstrap-kubeconfig': '',
  'cert-dir': '/var/lib/kubelet/pki',
  'cgroup-driver': 'cgroupfs',
  'cgroup-root': '',
  'cgroups-per-qos': 'true',
  'client-ca-file': '',
  'cloud-config': '',
  'cloud-provider': '',
  'cluster-dns': '[]',
  'cluster-domain': '',
  config: '',
  'config-dir': '',
  'container-hints': '/etc/cadvisor/container_hints.json',
  'container-log-max-files': '5',
  'container-log-max-size': '10Mi',
  'container-runtime-endpoint': 'unix:///run/containerd/containerd.sock',
  containerd: '/run/containerd/containerd.sock',
  'containerd-namespace': 'k8s.io',
  'cpu-cfs-quota': 'true',
  'cpu-cfs-quota-period': '100ms',
  'cpu-manager-policy': 'none',
  'cpu-manager-reconcile-period': '10s',
  'enable-controller-attach-detach': 'true',
  'enable-debugging-handlers': 'true',
  'enable-load-reader': 'false',
  'enable-server': 'true',
  'enforce-node-allocatable': '[pods]',
  'event-burst': '100',
  'event-qps': '50',
  'eviction-hard': '',
  'eviction-max-pod-grace-period': '0',
  'eviction-minimum-reclaim': '',
  'eviction-pressure-transition-period': '5m0s',
  'eviction-soft': '',
  'fail-swap-on': 'true',
  'feature-gates': '',
  'file-check-frequency': '20s',
  'hairpin-mode': 'promiscuous-bridge',
  'healthz-bind-address': '127.0.0.1',
  'healthz-port': '10248',
  help: 'false',
  'hostname-override': '',
  'http-check-frequency': '20s',
  'image-credential-provider-bin-dir': '',
  'image-credential-provider-config': '',
  'image-gc-high-threshold': '85',
  'image-gc-low-threshold': '80',
  'image-service-endpoint': '',
  'kernel-memcg-notification': 'false',
  'kube-api-burst': '100',
  'kube-api-content-type': 'application/vnd.kubernetes.protobuf',
  'kube-api-qps': '50',
  'kube-reserved': '',
  kubeconfig: '',
  'kubelet-cgroups': '',
  'local-storage-capacity-isolation': 'true',
  'lock-file': '',
  'log-flush-frequency': '5s',
  'make-iptables-util-chains': 'true',
  'manifest-url': '',
  'max-open-files': '1000000',
  'max-pods': '110',
  'maximum-dead-containers': '-1',
  'maximum-dead-containers-per-container': '1',
  'minimum-container-ttl-duration': '0s',
  'minimum-image-ttl-duration': '2m0s',
  'node-ip': '',
  'node-labels': '',
  'node-status-max-images': '50',
  'node-status-update-frequency': '10s',
  'oom-score-adj': '-999',
  'pod-cidr': '',
  'pod-infra-container-image': 'registry.k8s.io/pause:3.10',
  'pod-manifest-path': '',
  'pod-max-pids': '-1',
  'pods-per-core': '0',
  port: '10250',
  'protect-kernel-defaults': 'false',
  'provider-id': '',
  'qos-reserved': '',
  'read-only-port': '10255',
  'register-node': 'true',
  'register-schedulable': 'true',
  'register-with-taints': '',
  'registry-burst': '10',
  'registry-qps': '5',
  'reserved-cpus': '',
  'resolv-conf': '/etc/resolv.conf',
  'root-dir': '/var/lib/kubelet',
  'rotate-certificates': 'false',
  'rotate-server-certificates': 'false',
  runonce: 'false',
  'runtime-cgroups': '',
  'runtime-request-timeout': '2m0s',
  'seccomp-default': 'false',
  'serialize-image-pulls': 'true',
  'storage-driver-buffer-duration': '1m0s',
  'storage-driver-db': 'cadvisor',
  'sync-frequency': '1m0s',
  'system-cgroups': '',
  'system-reserved': '',
  'tls-cert-file': '',
  'tls-cipher-suites': '[]',
  'tls-min-version': '',
  'tls-private-key-file': '',
  'topology-manager-policy': 'none',
  'topology-manager-scope': 'container',
  v: '2',
  version: 'false',
  vmodule: '',
  'volume-plugin-dir': '/usr/libexec/kubernetes/kubelet-plugins/volume/exec/',
  'volume-stats-agg-period': '1m0s',
};

export function kubeletStartup(sim: NodeSimulation, options: KubeletStartOptions): void {
  const node: NodeProfile = sim.node;
  const pid = node.kubeletPid;
  const host = sim.hostname;
  let t = options.at;
  const systemd = (text: string): void => sim.journal.add(t, 'systemd', 1, text);
  if (options.systemdVersion === 252) {
    systemd('Starting kubelet.service - Kubernetes Kubelet...');
    t += 83_000;
    systemd('Started kubelet.service - Kubernetes Kubelet.');
  } else {
    systemd('Starting Kubernetes Kubelet...');
    t += 61_000;
    systemd('Started Kubernetes Kubelet.');
  }
  t += 120_000;
  for (const flag of options.deprecatedFlags) {
    sim.journal.add(
      t,
      'kubelet',
      pid,
      `Flag --${flag} has been deprecated, ${DEPRECATION[flag] ?? 'will be removed in a future release.'}`,
    );
    t += 40;
  }
  const flags = { ...DEFAULT_FLAGS, ...options.flags };
  t += 9_000;
  for (const name of Object.keys(flags).sort()) {
    sim.klog(t, 'I', 'flags.go:64', `FLAG: --${name}=${quote(flags[name] ?? '')}`);
    t += sim.random.int(3, 18);
  }
  const step = (
    severity: 'I' | 'W' | 'E',
    source: string,
    message: string,
    gap: [number, number] = [40, 3_000],
  ): void => {
    t += sim.random.int(gap[0], gap[1]);
    sim.klog(t, severity, source, message);
  };
  step('I', 'server.go:486', `"Kubelet version" kubeletVersion=${quote(node.kubeletVersion)}`);
  step('I', 'server.go:488', '"Golang settings" GOGC="" GOMAXPROCS="" GOTRACEBACK=""');
  step(
    'I',
    'dynamic_cafile_content.go:160',
    '"Starting controller" name="client-ca-bundle::/etc/kubernetes/pki/ca.crt"',
    [2_000, 9_000],
  );
  step(
    'I',
    'server.go:1389',
    '"Using cgroup driver setting received from the CRI runtime" cgroupDriver="systemd"',
    [20_000, 60_000],
  );
  step('I', 'server.go:746', '"--cgroups-per-qos enabled, but --cgroup-root was not specified.  defaulting to /"');
  step(
    'I',
    'container_manager_linux.go:264',
    '"Container manager verified user specified cgroup-root exists" cgroupRoot=[]',
  );
  step(
    'I',
    'container_manager_linux.go:269',
    `"Creating Container Manager object based on Node Config" nodeConfig={"NodeName":"${host}","RuntimeCgroupsName":"/runtime.slice/containerd.service","SystemCgroupsName":"","KubeletCgroupsName":"","KubeletOOMScoreAdj":-999,"ContainerRuntime":"","CgroupsPerQOS":true,"CgroupRoot":"/","CgroupDriver":"systemd","KubeletRootDir":"/var/lib/kubelet","ProtectKernelDefaults":true,"KubeReservedCgroupName":"","SystemReservedCgroupName":"","ReservedSystemCPUs":{},"EnforceNodeAllocatable":{"pods":{}},"KubeReserved":{"cpu":"${options.kubeReserved.cpu}","ephemeral-storage":"1Gi","memory":"${options.kubeReserved.memory}"},"SystemReserved":null,"HardEvictionThresholds":[{"Signal":"memory.available","Operator":"LessThan","Value":{"Quantity":"100Mi","Percentage":0},"GracePeriod":0,"MinReclaim":null},{"Signal":"nodefs.available","Operator":"LessThan","Value":{"Quantity":null,"Percentage":0.1},"GracePeriod":0,"MinReclaim":null},{"Signal":"nodefs.inodesFree","Operator":"LessThan","Value":{"Quantity":null,"Percentage":0.05},"GracePeriod":0,"MinReclaim":null}],"QOSReserved":{},"CPUManagerPolicy":"none","CPUManagerPolicyOptions":null,"TopologyManagerScope":"container","CPUManagerReconcilePeriod":10000000000,"ExperimentalMemoryManagerPolicy":"None","ExperimentalMemoryManagerReservedMemory":null,"PodPidsLimit":-1,"EnforceCPULimits":true,"CPUCFSQuotaPeriod":100000000,"TopologyManagerPolicy":"none","TopologyManagerPolicyOptions":null,"CgroupVersion":${options.cgroupVersion}}`,
  );
  step('I', 'topology_manager.go:138', '"Creating topology manager with none policy"');
  step('I', 'container_manager_linux.go:300', '"Creating device plugin manager"');
  step('I', 'state_mem.go:36', '"Initialized new in-memory state store"');
  step('I', 'kubelet.go:408', '"Attempting to sync node with API server"', [9_000, 30_000]);
  step('I', 'kubelet.go:303', '"Adding static pod path" path="/etc/kubernetes/manifests"');
  step('I', 'file.go:69', '"Watching path" path="/etc/kubernetes/manifests"');
  step('I', 'kubelet.go:314', '"Adding apiserver pod source"');
  step('I', 'apiserver.go:42', '"Waiting for node sync before watching apiserver pods"');
  step(
    'I',
    'kuberuntime_manager.go:262',
    `"Container runtime initialized" containerRuntime="containerd" version=${quote(node.containerdVersion)} apiVersion="v1"`,
    [30_000, 80_000],
  );
  step('I', 'kubelet.go:837', '"Not starting ClusterTrustBundle informer because we are in static kubelet mode"');
  for (const plugin of [
    'kubernetes.io/portworx-volume',
    'kubernetes.io/empty-dir',
    'kubernetes.io/git-repo',
    'kubernetes.io/host-path',
    'kubernetes.io/nfs',
    'kubernetes.io/secret',
    'kubernetes.io/iscsi',
    'kubernetes.io/cephfs',
    'kubernetes.io/downward-api',
    'kubernetes.io/fc',
    'kubernetes.io/configmap',
    'kubernetes.io/projected',
    'kubernetes.io/local-volume',
    'kubernetes.io/csi',
  ]) {
    step('I', 'plugins.go:642', `"Loaded volume plugin" pluginName=${quote(plugin)}`, [5, 60]);
  }
  step('I', 'server.go:1269', '"Started kubelet"', [4_000, 12_000]);
  step('I', 'server.go:163', '"Starting to listen" address="0.0.0.0" port=10250');
  step('I', 'server.go:460', '"Adding debug handlers to kubelet server"');
  step('I', 'ratelimit.go:55', '"Setting rate limiting for endpoint" service="podresources" qps=100 burstTokens=10');
  step(
    'I',
    'server.go:243',
    '"Starting to serve the podresources API" endpoint="unix:/var/lib/kubelet/pod-resources/kubelet.sock"',
  );
  step('I', 'fs_resource_analyzer.go:67', '"Starting FS ResourceAnalyzer"');
  step('I', 'volume_manager.go:289', '"Starting Kubelet Volume Manager"');
  step('I', 'desired_state_of_world_populator.go:146', '"Desired state populator starts to run"');
  step('I', 'reconciler.go:26', '"Reconciler: start to sync state"');
  step(
    'E',
    'kubelet.go:1478',
    '"Image garbage collection failed once. Stats initialization may not have completed yet" err="invalid capacity 0 on image filesystem"',
  );
  step('I', 'factory.go:221', 'Registration of the systemd container factory successfully');
  step(
    'I',
    'factory.go:219',
    'Registration of the crio container factory failed: Get "http://%2Fvar%2Frun%2Fcrio%2Fcrio.sock/info": dial unix /var/run/crio/crio.sock: connect: no such file or directory',
  );
  step('I', 'factory.go:221', 'Registration of the containerd container factory successfully', [10_000, 30_000]);
  step('I', 'kubelet_network_linux.go:50', '"Initialized iptables rules." protocol="IPv4"');
  step('I', 'kubelet_network_linux.go:50', '"Initialized iptables rules." protocol="IPv6"');
  step('I', 'status_manager.go:217', '"Starting to sync pod status with apiserver"');
  step('I', 'kubelet.go:2321', '"Starting kubelet main sync loop"');
  step(
    'E',
    'kubelet.go:2345',
    '"Skipping pod synchronization" err="[container runtime status check may not have completed yet, PLEG is not healthy: pleg has yet to be successful]"',
  );
  step('I', 'cpu_manager.go:214', '"Starting CPU manager" policy="none"', [20_000, 60_000]);
  step('I', 'cpu_manager.go:215', '"Reconciling" reconcilePeriod="10s"');
  step('I', 'state_mem.go:36', '"Initialized new in-memory state store"');
  step('I', 'state_mem.go:88', '"Updated default CPUSet" cpuSet=""');
  step('I', 'state_mem.go:96', '"Updated CPUSet assignments" assignments={}');
  step('I', 'policy_none.go:49', '"None policy: Start"');
  step('I', 'memory_manager.go:170', '"Starting memorymanager" policy="None"');
  step('I', 'state_mem.go:35', '"Initializing new in-memory state store"');
  step('I', 'state_mem.go:75', '"Updated machine memory state"');
  step('I', 'eviction_manager.go:189', '"Eviction manager: starting control loop"');
  step(
    'I',
    'container_log_manager.go:189',
    '"Initializing container log rotate workers" workers=1 monitorPeriod="10s"',
  );
  step('I', 'plugin_manager.go:118', '"Starting Kubelet Plugin Manager"');
  step(
    'E',
    'eviction_manager.go:285',
    `"Eviction manager: failed to get summary stats" err=${quote(`failed to get node info: node "${host}" not found`)}`,
  );
  step('I', 'kubelet_node_status.go:72', `"Attempting to register node" node=${quote(host)}`, [60_000, 200_000]);
  step('I', 'kubelet_node_status.go:75', `"Successfully registered node" node=${quote(host)}`, [150_000, 400_000]);
  step('I', 'kubelet_node_status.go:488', '"Fast updating node status as it just became ready"');
  for (const event of ['NodeHasSufficientMemory', 'NodeHasNoDiskPressure', 'NodeHasSufficientPID']) {
    step('I', 'kubelet_node_status.go:679', `"Recording event message for node" node=${quote(host)} event="${event}"`);
  }
  // Until aws-node installs 10-aws.conflist the runtime reports the pod network as not ready, every 5 s.
  for (let at = t + 2 * SECOND; at < options.cniReadyAt; at += 5 * SECOND + sim.random.int(-30_000, 30_000)) {
    sim.klog(
      at,
      'E',
      'kubelet.go:2902',
      '"Container runtime network not ready" networkReady="NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"',
    );
  }
}
