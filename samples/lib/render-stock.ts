/**
 * The bundle eks-log-collector.sh v0.7.8 builds, keyed by canonical path (the builder adds `./`). It follows the
 * script function by function: what each writes, including its quirks (iptables listings with a rule count
 * appended, `metrics.json` holding Prometheus text, `pods.json` holding ipamd's `AvailableCommands` fallback, the
 * `ps ax | grep "^$pid"` in cpu_throttling.txt that loses most rows, journals with `-- No entries --`).
 */
import { BUNDLE_FOLDERS } from '../../contract/bundle.ts';
import type { ServicePort } from './eks-iptables.ts';
import { Journal, type JournalEntry, renderEntries, stampInOrder } from './journal.ts';
import {
  al2KubeletConfigJson,
  type KubeletUnitKind,
  kubeconfigYaml,
  kubeletConfigJson,
  kubeletUnit,
} from './kubelet-files.ts';
import { type NodeProfile, shortHostnameOf, unameLine } from './node.ts';
import { ip6Route, ip6Rule, macOf } from './node-extras.ts';
import { buildProcesses, type NodePicture } from './picture.ts';
import { type ProcessTableView, renderAllProcStat, renderIoThrottling, renderPsThreads } from './processes.ts';
import { createRandom } from './random.ts';
import { iptablesFiles, procFiles, procps, psText, throttlingText, topText } from './render-common.ts';
import { cniEnvContainerd, networkPolicyAgentLog } from './render-ours.ts';
import type { Pod } from './simulation.ts';
import {
  cloudInitLog,
  cloudInitOutput,
  criLines,
  cronLog,
  ctrListings,
  curlApiServer,
  ethtoolTxt,
  ifconfigTxt,
  lastReboot,
  modinfoIpVs,
  netstat,
  noEntriesJournal,
  pingTxt,
  pkglist,
  sandboxImageLog,
  scriptParams,
  selinuxTxt,
  servicesTxt,
  stockConntrack,
  storageFiles,
  systemdAnalyzeSvg,
} from './stock-files.ts';
import {
  conntrackStats,
  containerdConfig,
  containerdJournal,
  dmesg,
  ipRoute,
  ipRule,
  renderJournalFile,
  sysctlAll,
} from './system-files.ts';
import { ctime, type Micros, SECOND } from './time.ts';
import {
  renderAvailableCommands,
  renderCheckpoint,
  renderConflist,
  renderEnisJson,
  renderIpamdEnv,
  renderIpamdLog,
  renderMetrics,
  renderNetworkutilsEnv,
  renderPluginLog,
} from './vpc-cni.ts';

/** Folders the script always creates, even when nothing is written into them. */
export const STOCK_DIRECTORIES: readonly string[] = BUNDLE_FOLDERS;

export interface ContainerLog {
  pod: Pod;
  container: string;
  stream: 'stdout' | 'stderr';
  start: Micros;
  lines: string[];
  stepMs: number;
}

export interface StockLayoutOptions {
  unit: KubeletUnitKind;
  services: ServicePort[];
  forwardPolicy: 'ACCEPT' | 'DROP';
  clusterVersion: string;
  goVersion: string;
  maxPods: number;
  /** `iptables-save v1.8.4` (AL2, legacy backend) or `iptables-nft-save v1.8.8 (nf_tables)`. */
  iptablesProgram: string;
  containerLogs: ContainerLog[];
  /** Canonical paths the scenario leaves out (tools missing on the node). */
  omit: string[];
  /** Extra lines for /var/log/messages besides kubelet's and containerd's (AL2 only). */
  messagesNoise?: (journal: Journal) => void;
}

function containerLogFiles(logs: ContainerLog[]): Record<string, string> {
  const files: Record<string, string> = {};
  for (const log of logs) {
    const id = log.pod.containerIds.get(log.container) ?? '';
    const text = criLines(log.start, log.lines, log.stepMs).replaceAll(' stdout F ', ` ${log.stream} F `);
    // /var/log/containers/<pod>_<ns>_<container>-<id>.log, copied flat (the symlink dereferenced) ...
    files[`var_log/${log.pod.spec.name}_${log.pod.spec.namespace}_${log.container}-${id}.log`] = text;
    // ... and the pod's folder under /var/log/pods, copied whole.
    files[
      `var_log/${log.pod.spec.namespace}_${log.pod.spec.name}_${log.pod.uid}/${log.container}/${log.pod.restarts.get(log.container) ?? 0}.log`
    ] = text;
  }
  return files;
}

function messagesFile(picture: NodePicture, options: StockLayoutOptions, containerd: Journal): string {
  const node = picture.sim.node;
  const noise = new Journal(`messages/${node.seed}`);
  options.messagesNoise?.(noise);
  const random = createRandom(`messages/${node.seed}`);
  for (let at = node.bootAt + 1_800 * SECOND; at < node.collectedAt; at += random.int(1_500, 1_900) * SECOND) {
    noise.add(
      at,
      'dhclient',
      2_857,
      `DHCPREQUEST on eth0 to 10.${node.privateIp.split('.')[1]}.0.1 port 67 (xid=0x${random.hex(8)})`,
      true,
    );
    noise.add(
      at + 2_100,
      'dhclient',
      2_857,
      `DHCPACK from 10.${node.privateIp.split('.')[1]}.0.1 (xid=0x${random.hex(8)})`,
      true,
    );
    noise.add(
      at + 9_000,
      'dhclient',
      2_857,
      `bound to ${node.privateIp} -- renewal in ${random.int(1_500, 1_900)} seconds.`,
      true,
    );
    noise.add(
      at + 11_000,
      'ec2net',
      0,
      `[get_meta] Querying IMDS for meta-data/network/interfaces/macs/${macOf(node, 0)}/local-ipv4s`,
    );
  }
  const entries: JournalEntry[] = stampInOrder([
    ...picture.sim.journal.entries,
    ...containerd.entries,
    ...noise.entries,
  ]);
  return renderEntries(entries, { style: 'syslog', hostname: shortHostnameOf(node), stripStreamWhitespace: true });
}

/** nodeadm's own journal on AL2023 (zap JSON on stderr, so each entry is one line). */
function nodeadmJournal(node: NodeProfile, phase: 'config' | 'run'): string {
  const journal = new Journal(`nodeadm/${node.seed}/${phase}`);
  const start = node.bootAt + (phase === 'config' ? 3 : 9) * SECOND;
  const unit = `nodeadm-${phase}.service`;
  journal.add(start, 'systemd', 1, `Starting ${unit} - EKS Nodeadm ${phase === 'config' ? 'Config' : 'Run'}...`);
  // Both phases load and validate the configuration before they do their own part.
  const loading = [
    'Checking user is root..',
    'Loading configuration..',
    'Loaded configuration',
    'Enriching configuration..',
    'Validating configuration..',
    'Creating daemon manager..',
  ];
  const messages =
    phase === 'config'
      ? [...loading, 'Configuring daemons...', 'Configuring daemon...', 'Configured daemon', 'done!']
      : [...loading, 'Ensuring daemon is running..', 'Daemon is running', 'done!'];
  messages.forEach((msg, index) => {
    const at = start + 120_000 + index * 90_000;
    journal.add(
      at,
      'nodeadm',
      1_611 + (phase === 'run' ? 400 : 0),
      JSON.stringify({
        level: 'info',
        ts: new Date(Math.floor(at / 1000)).toISOString(),
        caller: `init/init.go:${41 + index * 7}`,
        msg,
      }),
    );
  });
  journal.add(
    start + 1_100_000,
    'systemd',
    1,
    `Finished ${unit} - EKS Nodeadm ${phase === 'config' ? 'Config' : 'Run'}.`,
  );
  return renderJournalFile(journal, node, 'short');
}

export function renderStockLayout(picture: NodePicture, options: StockLayoutOptions): Record<string, string> {
  const { sim } = picture;
  const node: NodeProfile = sim.node;
  const al2 = node.os !== 'al2023';
  const random = createRandom(`stock/${node.seed}`);
  const proc = procFiles(picture);
  const iptables = iptablesFiles(
    picture,
    {
      era: 'modern',
      program: options.iptablesProgram,
      services: options.services,
      forwardPolicy: options.forwardPolicy,
      nfacctInvalid: !al2,
    },
    'stock',
  );
  const { procs, byContainer } = buildProcesses(picture, 'ps');
  const view: ProcessTableView = { node, now: node.collectedAt, procs, procps: procps(picture) };
  const pidOfComm = (comm: string): number => procs.find((p) => p.comm === comm)?.pid ?? 0;
  const pidOfContainer = (id: string): number | undefined => byContainer.get(id)?.[0]?.pid;
  const containerd = containerdJournal(sim, pidOfComm('containerd'));
  const storage = storageFiles(node, sim);
  const ctr = ctrListings(node, sim, pidOfContainer);
  const awsNode = picture.booted.awsNode;
  const conntrack = stockConntrack(node, sim, conntrackStats(node));
  const mac = macOf(node, 0);
  const collectedAt = node.collectedAt;
  const files: Record<string, string> = {
    // get_instance_id, get_region
    'system/instance-id.txt': `${node.instanceId}\n`,
    'system/region.txt': `${node.region}\n`,
    'system/availability-zone.txt': `${node.availabilityZone}\n`,
    'system/script-params.txt': scriptParams(),
    // get_common_logs
    'var_log/aws-routed-eni/ipamd.log': renderIpamdLog(sim, {
      statsEverySeconds: 30,
      clusterVersion: options.clusterVersion,
      mac,
    }),
    'var_log/aws-routed-eni/plugin.log': renderPluginLog(sim, 'zap'),
    'var_log/aws-routed-eni/network-policy-agent.log': networkPolicyAgentLog(picture),
    'var_log/aws-routed-eni/ebpf-sdk.log': '',
    'var_log/cloud-init.log': cloudInitLog(node),
    'var_log/cloud-init-output.log': cloudInitOutput(node),
    ...(al2 ? { 'var_log/messages': messagesFile(picture, options, containerd), 'var_log/cron': cronLog(node) } : {}),
    ...containerLogFiles(options.containerLogs),
    // get_kernel_info, get_modinfo
    ...(al2 ? { 'kernel/dmesg.boot': dmesg(node, sim, { bootOnly: true }) } : {}),
    'kernel/dmesg.current': dmesg(node, sim),
    'kernel/dmesg.human.current': dmesg(node, sim).replace(
      /^\[\s*(\d+)\.\d+\]/gm,
      (_m, seconds: string) => `[${ctime(node.bootAt + Number(seconds) * SECOND)}]`,
    ),
    'kernel/uname.txt': `${unameLine(node)}\n`,
    'modinfo/lustre': '',
    'modinfo/ip_vs': modinfoIpVs(),
    // get_mounts_info, get_selinux_info
    'storage/mounts.txt': storage.mounts,
    'storage/inodes.txt': storage.inodes,
    'storage/lsblk.txt': storage.lsblk,
    ...(al2 ? { 'storage/lvs.txt': '', 'storage/pvs.txt': '', 'storage/vgs.txt': '' } : {}),
    'storage/fstab.txt': storage.fstab,
    'storage/xfs.txt': storage.xfs,
    'storage/pod_local_storage.txt': storage.podLocal,
    'system/selinux.txt': selinuxTxt(node),
    // get_iptables_info
    'networking/iptables-mangle.txt': iptables.mangle,
    'networking/ip6tables-mangle.txt': iptables.mangle6,
    'networking/iptables-filter.txt': iptables.filter,
    'networking/ip6tables-filter.txt': iptables.filter6,
    'networking/iptables-nat.txt': iptables.nat,
    'networking/ip6tables-nat.txt': iptables.nat6,
    'networking/iptables.txt': iptables.filter,
    'networking/ip6tables.txt': iptables.filter6,
    'networking/iptables-save.txt': iptables.save,
    'networking/ip6tables-save.txt': iptables.save6,
    // get_pkglist, get_system_services
    'system/pkglist.txt': pkglist(node),
    'system/services.txt': servicesTxt(node),
    'system/systemd-analyze.svg': systemdAnalyzeSvg(node),
    'system/top.txt': topText(picture),
    'system/ps.txt': psText(picture),
    'system/ps-threads.txt': renderPsThreads(view, random),
    'system/netstat.txt': netstat(node, node.kubeletPid, pidOfComm),
    'system/procstat.txt': proc.stat,
    'system/allprocstat.txt': renderAllProcStat(view, random),
    'system/large_environments.txt': 'PID\tCount\n',
    // get_containerd_info
    'containerd/containerd-config.txt': containerdConfig(node),
    // `journalctl -u containerd` without --since: systemd 219 still prints its `-- Logs begin at` header.
    'containerd/containerd-log.txt': renderJournalFile(containerd, node, 'short'),
    'containerd/containerd-version.txt': `Client:\n  Version:  ${node.containerdVersion}\n  Revision: ${random.hex(40)}\n  Go version: go1.22.8\n\nServer:\n  Version:  ${node.containerdVersion}\n  Revision: ${random.hex(40)}\n  UUID: ${random.uuid()}\n`,
    'containerd/containerd-namespaces.txt': ctr.namespaces,
    'containerd/containerd-images.txt': ctr.images,
    'containerd/containerd-containers.txt': ctr.containers,
    'containerd/containerd-tasks.txt': ctr.tasks,
    'containerd/containerd-plugins.txt': ctr.plugins,
    // get_k8s_info
    'kubelet/kubeconfig.yaml': kubeconfigYaml(node),
    'kubelet/kubelet.log': renderJournalFile(sim.journal, node, 'short'),
    'kubelet/kubelet_service.txt': kubeletUnit(options.unit, node, {
      nodegroup: `${node.clusterName}-ng`,
      amiId: node.amiId,
      maxPods: options.maxPods,
    }),
    ...(al2
      ? { 'kubelet/kubelet-config.json': al2KubeletConfigJson(node, options.maxPods) }
      : { 'kubelet/config.json': kubeletConfigJson(node, options.maxPods, { cpu: '70m', memory: '574Mi' }) }),
    // get_nodeadm_info
    'nodeadm/nodeadm-config.log': al2 ? noEntriesJournal(node) : nodeadmJournal(node, 'config'),
    'nodeadm/nodeadm-run.log': al2 ? noEntriesJournal(node) : nodeadmJournal(node, 'run'),
    // get_ipamd_info
    'ipamd/enis.json': renderEnisJson(sim),
    'ipamd/pods.json': renderAvailableCommands(),
    'ipamd/networkutils-env-settings.json': renderNetworkutilsEnv(),
    'ipamd/ipamd-env-settings.json': renderIpamdEnv(),
    'ipamd/eni-configs.json': '"default"',
    'ipamd/metrics.json': renderMetrics(sim, {
      addRequests: sim.cni.filter((event) => event.kind === 'add').length,
      delRequests: sim.cni.filter((event) => event.kind === 'del').length,
      goVersion: options.goVersion,
      processStart: awsNode.containerStartedAt.get('aws-node') ?? awsNode.startedAt,
      residentBytes: 58_982_400,
      cpuSeconds: ((collectedAt - awsNode.startedAt) / SECOND) * 0.0035,
    }),
    'ipamd/ipam.json': renderCheckpoint(sim),
    // get_sysctls_info, get_networking_info
    'sysctls/sysctl_all.txt': sysctlAll(node, sim),
    'networking/conntrack.txt': conntrack.v4,
    'networking/conntrack6.txt': conntrack.v6,
    'networking/ifconfig.txt': ifconfigTxt(node, sim),
    'networking/iprule.txt': ipRule(sim),
    'networking/ip6rule.txt': ip6Rule(),
    'networking/iproute.txt': ipRoute(sim),
    'networking/ip6route.txt': ip6Route(node, sim),
    'networking/configure-multicard-interfaces.txt': noEntriesJournal(node),
    'networking/ping_amazon.com.txt': pingTxt(
      'amazon.com',
      '205.251.242.103',
      node.region === 'us-east-1' ? 1.8 : 71.9,
      node.seed,
    ),
    'networking/ping_public.ecr.aws.txt': pingTxt('public.ecr.aws', '99.84.66.12', 1.2, node.seed),
    'networking/curl_api_server.txt': curlApiServer(node, collectedAt + 31 * SECOND),
    'networking/resolv.conf': al2
      ? `; generated by /usr/sbin/dhclient-script\nsearch ${node.region === 'us-east-1' ? 'ec2.internal' : `${node.region}.compute.internal`}\noptions timeout:2 attempts:5\nnameserver ${node.vpcCidr.replace(/\.0\/\d+$/, '.2')}\n`
      : `nameserver ${node.vpcCidr.replace(/\.0\/\d+$/, '.2')}\n`,
    'networking/ethtool.txt': ethtoolTxt(node, sim),
    'networking/ebpf-data.txt': '*** EBPF loaded data ***\n',
    // get_cni_config, get_cni_configuration_variables
    'cni/10-aws.conflist': renderConflist('modern'),
    'cni/cni-configuration-variables-containerd.json': cniEnvContainerd(picture),
    // get_docker_logs, get_sandboxImage_info
    'docker/docker.log': noEntriesJournal(node),
    'sandbox-image/sandbox-image-log.txt': al2 ? sandboxImageLog(node) : noEntriesJournal(node),
    // get_cpu_throttled_processes, get_io_throttled_processes, get_reboot_history
    'system/cpu_throttling.txt': throttlingText(picture, 'stock'),
    'system/io_throttling.txt': renderIoThrottling(view),
    'system/last_reboot.txt': lastReboot(node),
  };
  for (const path of options.omit) delete files[path];
  return files;
}
