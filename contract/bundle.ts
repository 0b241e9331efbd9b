/**
 * The bundle contract: the one place that says where each item lives inside a node bundle and what the
 * manifest looks like. The agent writes these paths, the analyzer reads them; nothing else crosses between them.
 *
 * Paths are those of AWS's eks-log-collector.sh (= /opt/cni/bin/aws-cni-support.sh) wherever that script
 * collects the same thing, so engineers find things where they already look and one analyzer reads both.
 * Items the stock script does not collect get new paths in the same folders.
 */

export const BUNDLE_SCHEMA = 'eks-node-diag/bundle@1';

/** The folders eks-log-collector.sh always creates at the top of its bundle; ours uses the same ones. */
export const BUNDLE_FOLDERS = [
  'kernel',
  'modinfo',
  'system',
  'docker',
  'containerd',
  'storage',
  'var_log',
  'networking',
  'sandbox-image',
  'ipamd',
  'sysctls',
  'kubelet',
  'nodeadm',
  'cni',
  'gpu',
] as const;
export const MANIFEST_PATH = 'manifest.json';

/** Canonical bundle paths, keyed by item id. Ids are stable: rules, the manifest and `--only` refer to them. */
export const bundlePaths = {
  // kubelet and runtime
  'kubelet-log': 'kubelet/kubelet.log',
  'kubelet-unit': 'kubelet/kubelet_service.txt',
  'kubelet-config': 'kubelet/config.json',
  'kubelet-kubeconfig': 'kubelet/kubeconfig.yaml',
  'kubelet-config-legacy': 'kubelet/kubelet-config.json',
  /** The node's own pods from the API server (the legacy script's `kubectl get --raw /api/v1/pods`). */
  'kubelet-pods': 'kubelet/pods.json',
  /** `EnvironmentFile=`s the kubelet unit names (e.g. /etc/eks/kubelet/environment, /etc/eksctl/kubelet.env). */
  'kubelet-environment': 'kubelet/kubelet-environment.txt',
  'kubelet-config-dropins': 'kubelet/config.json.d',
  'nodeadm-config-log': 'nodeadm/nodeadm-config.log',
  'nodeadm-run-log': 'nodeadm/nodeadm-run.log',
  'containerd-version': 'containerd/containerd-version.txt',
  'containerd-containers': 'containerd/containerd-containers.txt',
  'containerd-log': 'containerd/containerd-log.txt',
  'containerd-config': 'containerd/containerd-config.txt',
  'containerd-unit': 'containerd/containerd-service.txt',
  'crictl-pods': 'containerd/crictl-pods.txt',
  'crictl-containers': 'containerd/crictl-containers.txt',
  'sandbox-image-log': 'sandbox-image/sandbox-image-log.txt',
  /** Copied folders, each file under its own name (as the stock collector lays them out). */
  'aws-routed-eni-logs': 'var_log/aws-routed-eni',
  'pod-logs': 'var_log',
  'cni-config-dir': 'cni',
  'aws-node-run-dir': 'ipamd',
  'cloud-init-log': 'var_log/cloud-init.log',
  'cloud-init-output-log': 'var_log/cloud-init-output.log',
  'user-data-log': 'var_log/user-data.log',
  // system logs
  'system-messages': 'var_log/messages',
  'system-syslog': 'var_log/syslog',
  // VPC CNI logs, config and state
  'ipamd-log': 'var_log/aws-routed-eni/ipamd.log',
  'plugin-log': 'var_log/aws-routed-eni/plugin.log',
  'network-policy-agent-log': 'var_log/aws-routed-eni/network-policy-agent.log',
  'egress-v4-plugin-log': 'var_log/aws-routed-eni/egress-v4-plugin.log',
  'ebpf-sdk-log': 'var_log/aws-routed-eni/ebpf-sdk.log',
  /** aws-node's container log (stock bundles hold it flattened from /var/log/containers or under var_log/<pod dir>/). */
  'aws-node-container-log': 'var_log/containers/aws-node.log',
  'network-policy-agent-container-log': 'var_log/containers/aws-eks-nodeagent.log',
  'cni-conflist': 'cni/10-aws.conflist',
  'cni-env-containerd': 'cni/cni-configuration-variables-containerd.json',
  'cni-env-dockerd': 'cni/cni-configuration-variables-dockerd.txt',
  'ipamd-enis': 'ipamd/enis.json',
  'ipamd-eni-configs': 'ipamd/eni-configs.json',
  'ipamd-networkutils-env': 'ipamd/networkutils-env-settings.json',
  'ipamd-env': 'ipamd/ipamd-env-settings.json',
  'ipamd-metrics': 'ipamd/metrics.json',
  'ipamd-checkpoint': 'ipamd/ipam.json',
  /** Obsolete since VPC CNI 1.7: newer ipamd answers with its `AvailableCommands` fallback. */
  'ipamd-pods': 'ipamd/pods.json',
  'ipamd-introspection-ignored': 'ipamd/ipam_introspection_ignore.txt',
  'ipamd-metrics-ignored': 'ipamd/ipam_metrics_ignore.txt',
  'network-policy-ebpf-data': 'networking/ebpf-data.txt',
  // networking
  'iptables-save': 'networking/iptables-save.txt',
  'ip6tables-save': 'networking/ip6tables-save.txt',
  'iptables-list': 'networking/iptables.txt',
  'iptables-list-filter': 'networking/iptables-filter.txt',
  'iptables-list-nat': 'networking/iptables-nat.txt',
  'iptables-list-mangle': 'networking/iptables-mangle.txt',
  'ip6tables-list': 'networking/ip6tables.txt',
  'ip6tables-list-filter': 'networking/ip6tables-filter.txt',
  'ip6tables-list-nat': 'networking/ip6tables-nat.txt',
  'ip6tables-list-mangle': 'networking/ip6tables-mangle.txt',
  'iptables-legacy-save': 'networking/iptables-legacy-save.txt',
  'iptables-backend': 'networking/iptables-backend.txt',
  'nftables-ruleset': 'networking/nftables.txt',
  'ip-rule': 'networking/iprule.txt',
  'ip-route': 'networking/iproute.txt',
  'ip6-rule': 'networking/ip6rule.txt',
  'ip6-route': 'networking/ip6route.txt',
  'ip-addr': 'networking/ip-addr.txt',
  'ip-link': 'networking/ip-link.txt',
  'ip-link-stats': 'networking/ip-link-stats.txt',
  'ip-neigh': 'networking/ip-neigh.txt',
  ifconfig: 'networking/ifconfig.txt',
  'resolv-conf': 'networking/resolv.conf',
  'ethtool-stats': 'networking/ethtool.txt',
  sockets: 'system/ss.txt',
  'multicard-log': 'networking/configure-multicard-interfaces.txt',
  'conntrack-count': 'networking/conntrack-count.txt',
  ipvsadm: 'networking/ipvsadm.txt',
  ipset: 'networking/ipset.txt',
  'conntrack-stats': 'networking/conntrack.txt',
  'sysctl-all': 'sysctls/sysctl_all.txt',
  /** Legacy aws-cni-support.sh `sysctls.out`: `/proc/sys/net/ipv4/conf/<if>/rp_filter = <n>` per interface. */
  'sysctl-rp-filter': 'sysctls/rp_filter.txt',
  // CPU, memory, processes
  'proc-loadavg': 'system/loadavg.txt',
  'proc-meminfo': 'system/meminfo.txt',
  'proc-stat': 'system/procstat.txt',
  'psi-cpu': 'system/pressure_cpu.txt',
  'psi-memory': 'system/pressure_memory.txt',
  'psi-io': 'system/pressure_io.txt',
  'cpu-throttling': 'system/cpu_throttling.txt',
  'cgroup-kubepods-cpu-stat': 'system/cgroup/kubepods.slice/cpu.stat',
  'cgroup-aws-node-cpu-stat': 'system/cgroup/aws-node/cpu.stat',
  'cgroup-kubepods-memory-stat': 'system/cgroup/kubepods.slice/memory.stat',
  'cgroup-kubepods-memory-events': 'system/cgroup/kubepods.slice/memory.events',
  top: 'system/top.txt',
  ps: 'system/ps.txt',
  'ps-threads': 'system/ps-threads.txt',
  pkglist: 'system/pkglist.txt',
  'last-reboot': 'system/last_reboot.txt',
  selinux: 'system/selinux.txt',
  uptime: 'system/uptime.txt',
  lsmod: 'modinfo/lsmod.txt',
  lsblk: 'storage/lsblk.txt',
  fstab: 'storage/fstab.txt',
  services: 'system/services.txt',
  mounts: 'storage/mounts.txt',
  inodes: 'storage/inodes.txt',
  // identity and kernel
  'instance-id': 'system/instance-id.txt',
  region: 'system/region.txt',
  'availability-zone': 'system/availability-zone.txt',
  'instance-type': 'system/instance-type.txt',
  uname: 'kernel/uname.txt',
  dmesg: 'kernel/dmesg.current',
  'dmesg-human': 'kernel/dmesg.human.current',
  'dmesg-boot': 'kernel/dmesg.boot',
  /** Instance metadata (IMDSv2, allowlisted paths only) for the instance and every network interface. */
  'imds-network-interfaces': 'system/imds-network-interfaces.json',
  'os-release': 'system/os-release.txt',
} as const satisfies Record<string, string>;

export type ItemId = keyof typeof bundlePaths;

const ITEM_BY_PATH = new Map<string, ItemId>(Object.entries(bundlePaths).map(([id, path]) => [path, id as ItemId]));

/** The item id whose canonical path this is, if any (exact paths; rotated siblings have none). */
export function itemIdForPath(path: string): ItemId | undefined {
  return ITEM_BY_PATH.get(path);
}

/** How one item's collection ended. `truncated` means the agent kept only part (the tail) within its budget. */
export type ItemStatus = 'ok' | 'truncated' | 'error' | 'timeout' | 'skipped';

export interface ManifestItem {
  id: string;
  path: string;
  /** The command line, file or URL the item came from. */
  source: string;
  status: ItemStatus;
  /** Why an item was skipped or failed, in words: `not installed`, `--skip`, the error text. */
  reason?: string;
  exitCode?: number | null;
  durationMs?: number;
  bytes?: number;
  sha256?: string;
  redactions?: number;
}

export interface NodeIdentity {
  instanceId?: string;
  hostname?: string;
  region?: string;
  availabilityZone?: string;
  instanceType?: string;
  amiId?: string;
  kernel?: string;
  os?: string;
  architecture?: string;
  cpuCount?: number;
  kubeletVersion?: string;
  containerdVersion?: string;
  vpcCniVersion?: string;
  /** The aws-eks-nodeagent container's image tag or the agent's own startup line, e.g. `v1.2.0-eksbuild.1`. */
  networkPolicyAgentVersion?: string;
}

export interface BundleManifest {
  schema: typeof BUNDLE_SCHEMA;
  tool: { name: string; version: string };
  createdAt: string;
  finishedAt?: string;
  /** True when the run was cut short (deadline, SIGTERM): items not listed were never collected. */
  interrupted?: boolean;
  node: NodeIdentity;
  parameters: Record<string, unknown>;
  items: ManifestItem[];
}
