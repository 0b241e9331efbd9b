/**
 * Our agent's `manifest.json` for a sample: one record per collected file (status ok, size and sha256 of the
 * content), plus the records a scenario adds for items that produced no file.
 */
import { createHash } from 'node:crypto';
import {
  BUNDLE_SCHEMA,
  type BundleManifest,
  bundlePaths,
  type ItemId,
  MANIFEST_PATH,
  type ManifestItem,
} from '../../contract/bundle.ts';
import type { ManifestOverrides, ScenarioDefinition } from '../scenarios/types.ts';
import { createRandom } from './random.ts';

export const SAMPLE_TOOL_VERSION = '0.1.0';

/** What our agent records as missing on a stock AL2023 node: journal-only logging, nft-only iptables. */
export const AL2023_ABSENT_ITEMS: NonNullable<ManifestOverrides['items']> = [
  {
    id: 'system-messages',
    status: 'skipped',
    reason: 'not present: /var/log/messages (AL2023 logs to the journal only)',
  },
  { id: 'system-syslog', status: 'skipped', reason: 'not present: /var/log/syslog' },
  { id: 'iptables-legacy-save', status: 'skipped', reason: 'not installed' },
  { id: 'nftables-ruleset', status: 'skipped', reason: 'not installed' },
];

/** Where each item comes from on the node, as the agent records it. */
export const ITEM_SOURCES: Partial<Record<ItemId, string>> = {
  'kubelet-log': 'journalctl --unit=kubelet --since=-10d --output=short-iso-precise --no-pager',
  'kubelet-unit': 'systemctl cat kubelet',
  'kubelet-config': '/etc/kubernetes/kubelet/config.json',
  'kubelet-kubeconfig': '/var/lib/kubelet/kubeconfig',
  'containerd-log': 'journalctl --unit=containerd --since=-10d --output=short-iso-precise --no-pager',
  'containerd-config': 'containerd config dump',
  'system-messages': '/var/log/messages',
  'system-syslog': '/var/log/syslog',
  'ipamd-log': '/var/log/aws-routed-eni/ipamd.log',
  'plugin-log': '/var/log/aws-routed-eni/plugin.log',
  'network-policy-agent-log': '/var/log/aws-routed-eni/network-policy-agent.log',
  'cni-conflist': '/etc/cni/net.d/10-aws.conflist',
  'cni-env-containerd': 'ctr --namespace k8s.io container info <amazon-k8s-cni container>',
  'ipamd-enis': 'http://localhost:61679/v1/enis',
  'ipamd-eni-configs': 'http://localhost:61679/v1/eni-configs',
  'ipamd-networkutils-env': 'http://localhost:61679/v1/networkutils-env-settings',
  'ipamd-env': 'http://localhost:61679/v1/ipamd-env-settings',
  'ipamd-metrics': 'http://localhost:61678/metrics',
  'ipamd-checkpoint': '/var/run/aws-node/ipam.json',
  'iptables-save': 'iptables-save',
  'ip6tables-save': 'ip6tables-save',
  'iptables-list': 'iptables --wait 1 --numeric --verbose --list',
  'iptables-list-filter': 'iptables --wait 1 --numeric --verbose --list --table filter',
  'iptables-list-nat': 'iptables --wait 1 --numeric --verbose --list --table nat',
  'iptables-list-mangle': 'iptables --wait 1 --numeric --verbose --list --table mangle',
  'iptables-legacy-save': 'iptables-legacy-save',
  'iptables-backend': 'iptables --version',
  'nftables-ruleset': 'nft list ruleset',
  'ip-rule': 'ip rule show',
  'ip-route': 'ip route show table all',
  'conntrack-stats': 'conntrack -S',
  'sysctl-all': 'sysctl --all',
  'proc-loadavg': '/proc/loadavg',
  'proc-meminfo': '/proc/meminfo',
  'proc-stat': '/proc/stat',
  'psi-cpu': '/proc/pressure/cpu',
  'psi-memory': '/proc/pressure/memory',
  'psi-io': '/proc/pressure/io',
  'cpu-throttling': '/sys/fs/cgroup/**/cpu.stat with nr_throttled > 0, and the processes in cgroup.procs',
  'cgroup-kubepods-cpu-stat': '/sys/fs/cgroup/kubepods.slice/cpu.stat',
  'cgroup-aws-node-cpu-stat': '/sys/fs/cgroup/kubepods.slice/…/cri-containerd-<aws-node container>.scope/cpu.stat',
  top: 'top -b -n 1',
  ps: 'ps fauxwww --headers',
  'instance-id': 'http://169.254.169.254/latest/meta-data/instance-id',
  region: 'http://169.254.169.254/latest/meta-data/placement/region',
  'availability-zone': 'http://169.254.169.254/latest/meta-data/placement/availability-zone',
  'instance-type': 'http://169.254.169.254/latest/meta-data/instance-type',
  uname: 'uname -a',
  dmesg: 'dmesg',
  'os-release': '/etc/os-release',
  'kubelet-environment': '/etc/eks/kubelet/environment',
  'containerd-version': 'ctr version',
  'ip6tables-list': 'ip6tables --wait 1 --numeric --verbose --list',
  'ip6tables-list-filter': 'ip6tables --wait 1 --numeric --verbose --list --table filter',
  'ip6tables-list-nat': 'ip6tables --wait 1 --numeric --verbose --list --table nat',
  'ip6tables-list-mangle': 'ip6tables --wait 1 --numeric --verbose --list --table mangle',
  'ip6-rule': 'ip -6 rule show',
  'ip6-route': 'ip -6 route show table all',
  'ip-addr': 'ip -d addr show',
  'resolv-conf': '/etc/resolv.conf',
  'conntrack-count': '/proc/sys/net/netfilter/nf_conntrack_count, /proc/sys/net/netfilter/nf_conntrack_max',
  'cgroup-kubepods-memory-stat': '/sys/fs/cgroup/kubepods.slice/memory.stat',
  'cgroup-kubepods-memory-events': '/sys/fs/cgroup/kubepods.slice/memory.events',
  'aws-node-container-log': '/var/log/containers/aws-node-*_kube-system_aws-node-*.log',
  'imds-network-interfaces': 'http://169.254.169.254/latest/meta-data/network/interfaces/macs/ (allowlisted keys)',
};

/** Collection order: highest diagnostic value first, as the agent writes entries. */
const PRIORITY: ItemId[] = [
  'kubelet-log',
  'iptables-save',
  'proc-loadavg',
  'psi-cpu',
  'cpu-throttling',
  'top',
  'kubelet-unit',
  'ipamd-log',
  'ipamd-enis',
  'ipamd-metrics',
  'cgroup-aws-node-cpu-stat',
  'cgroup-kubepods-cpu-stat',
  'proc-stat',
  'proc-meminfo',
  'psi-memory',
  'psi-io',
  'ps',
  'iptables-list',
  'iptables-list-filter',
  'iptables-list-nat',
  'iptables-list-mangle',
  'ip6tables-save',
  'ip6tables-list',
  'ip6tables-list-filter',
  'ip6tables-list-nat',
  'ip6tables-list-mangle',
  'iptables-backend',
  'iptables-legacy-save',
  'nftables-ruleset',
  'plugin-log',
  'network-policy-agent-log',
  'aws-node-container-log',
  'ipamd-checkpoint',
  'ipamd-networkutils-env',
  'ipamd-env',
  'ipamd-eni-configs',
  'cni-conflist',
  'cni-env-containerd',
  'kubelet-config',
  'kubelet-environment',
  'kubelet-kubeconfig',
  'containerd-log',
  'containerd-config',
  'containerd-version',
  'ip-rule',
  'ip-route',
  'ip6-rule',
  'ip6-route',
  'ip-addr',
  'resolv-conf',
  'conntrack-count',
  'conntrack-stats',
  'cgroup-kubepods-memory-stat',
  'cgroup-kubepods-memory-events',
  'sysctl-all',
  'system-messages',
  'system-syslog',
  'instance-id',
  'region',
  'availability-zone',
  'instance-type',
  'imds-network-interfaces',
  'uname',
  'dmesg',
  'os-release',
];

const ITEM_BY_PATH = new Map<string, ItemId>(Object.entries(bundlePaths).map(([id, path]) => [path, id as ItemId]));

export function sha256(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('hex');
}

/** How long an item plausibly takes to collect, in ms (journals and listings are slow, /proc reads fast). */
function durationFor(id: ItemId, bytes: number, seed: string): number {
  const random = createRandom(`duration/${seed}/${id}`);
  if (id.endsWith('-log') && id !== 'ipamd-log' && id !== 'plugin-log')
    return random.int(900, 2_400) + Math.round(bytes / 2_000);
  if (id.startsWith('ipamd-')) return random.int(4, 40);
  if (id.startsWith('iptables') || id.startsWith('ip6tables')) return random.int(30, 260);
  if (id === 'top' || id === 'ps' || id === 'sysctl-all' || id === 'containerd-config') return random.int(80, 420);
  if (id === 'instance-id' || id === 'region' || id === 'availability-zone' || id === 'instance-type')
    return random.int(2, 9);
  return random.int(1, 12) + Math.round(bytes / 50_000);
}

export class ManifestError extends Error {
  override name = 'ManifestError';
}

/** Builds the manifest for an `eks-node-diag` scenario from its files and overrides. */
export function buildManifest(scenario: ScenarioDefinition): BundleManifest {
  const byId = new Map<ItemId, ManifestItem>();
  for (const [path, content] of Object.entries(scenario.files)) {
    if (path === MANIFEST_PATH)
      throw new ManifestError(`${scenario.name}: manifest.json is generated; remove it from files`);
    const id = ITEM_BY_PATH.get(path);
    if (!id) throw new ManifestError(`${scenario.name}: ${path} is not a canonical item path of the bundle contract`);
    const bytes = Buffer.byteLength(content, 'utf8');
    const source = ITEM_SOURCES[id] ?? bundlePaths[id];
    // Only commands (and journalctl) have an exit code; file copies and HTTP reads do not.
    const isCommand = !source.startsWith('/') && !source.startsWith('http');
    byId.set(id, {
      id,
      path,
      source,
      status: 'ok',
      ...(isCommand ? { exitCode: 0 } : {}),
      durationMs: durationFor(id, bytes, scenario.name),
      bytes,
      sha256: sha256(content),
      ...(id === 'ps' || id === 'cni-env-containerd' || id === 'kubelet-kubeconfig' ? { redactions: 0 } : {}),
    });
  }
  for (const override of scenario.manifestOverrides?.items ?? []) {
    const existing = byId.get(override.id);
    if (!existing && override.status === 'ok')
      throw new ManifestError(`${scenario.name}: ${override.id} is ok in the overrides but has no file`);
    if (existing && override.status !== 'ok' && override.status !== 'truncated') {
      throw new ManifestError(`${scenario.name}: ${override.id} is ${override.status} but its file is in the bundle`);
    }
    const { id, ...changes } = override;
    const { id: _existingId, ...kept } = existing ?? { id };
    byId.set(id, {
      id,
      path: bundlePaths[id],
      source: ITEM_SOURCES[id] ?? bundlePaths[id],
      ...kept,
      ...changes,
    } as ManifestItem);
  }
  // Items outside the priority list (added to the contract later) go last, in contract order.
  const order = [...PRIORITY, ...(Object.keys(bundlePaths) as ItemId[]).filter((id) => !PRIORITY.includes(id))];
  const items = order.filter((id) => byId.has(id)).map((id) => byId.get(id) as ManifestItem);
  const started = Date.parse(scenario.createdAt);
  // Items run two at a time; the run lasts about half the summed durations plus packing.
  const total = items.reduce((sum, item) => sum + (item.durationMs ?? 0), 0);
  return {
    schema: BUNDLE_SCHEMA,
    tool: { name: 'eks-node-diag', version: SAMPLE_TOOL_VERSION },
    createdAt: scenario.createdAt,
    finishedAt: new Date(started + Math.round(total / 2) + 640).toISOString(),
    ...(scenario.manifestOverrides?.interrupted ? { interrupted: true } : {}),
    node: scenario.node,
    parameters: scenario.manifestOverrides?.parameters ?? {
      since: '10d',
      only: [],
      skip: [],
      itemTimeoutSeconds: 60,
      deadlineSeconds: 600,
      maxItemBytes: 268_435_456,
      maxBundleBytes: 1_073_741_824,
      concurrency: 2,
      redact: true,
    },
    items,
  };
}

export function renderManifest(manifest: BundleManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
