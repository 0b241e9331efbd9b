/**
 * The files our agent writes, at the contract's canonical paths.
 */
import { bundlePaths, type ItemId } from '../../contract/bundle.ts';
import type { ServicePort } from './eks-iptables.ts';
import { type KubeletUnitKind, kubeconfigYaml, kubeletConfigJson, kubeletUnit } from './kubelet-files.ts';
import { hostnameOf, osRelease, unameLine } from './node.ts';
import {
  awsNodeContainerLog,
  ctrVersion,
  imdsNetworkInterfaces,
  ip6Route,
  ip6Rule,
  ipAddr,
  kubeletEnvironment,
  kubepodsMemoryEvents,
  macOf,
  resolvConf,
} from './node-extras.ts';
import type { NodePicture } from './picture.ts';
import { cgroupV2CpuStat, cgroupV2MemoryStat } from './procfs.ts';
import { createRandom } from './random.ts';
import { iptablesFiles, procFiles, psText, throttlingText, topText } from './render-common.ts';
import {
  conntrackCount,
  conntrackStats,
  containerdConfig,
  containerdJournal,
  dmesg,
  ipRoute,
  ipRule,
  renderJournalFile,
  sysctlAll,
} from './system-files.ts';
import { isoMillis, SECOND } from './time.ts';
import {
  renderCheckpoint,
  renderConflist,
  renderEnisJson,
  renderIpamdEnv,
  renderIpamdLog,
  renderMetrics,
  renderNetworkutilsEnv,
  renderPluginLog,
} from './vpc-cni.ts';

export interface OurLayoutOptions {
  unit: KubeletUnitKind;
  maxPods: number;
  kubeReserved: { cpu: string; memory: string };
  services: ServicePort[];
  forwardPolicy: 'ACCEPT' | 'DROP';
  forwardPolicyCounters?: { packets: number; bytes: number };
  clusterVersion: string;
  goVersion: string;
  /** Items whose collection did not produce a file (timed out, skipped). */
  absent: ItemId[];
  /** How long the current aws-node container waited for ipamd before writing the CNI config. */
  ipamdWaitSeconds?: number;
}

export function networkPolicyAgentLog(picture: NodePicture): string {
  const lines: string[] = [];
  // The agent runs in its own container (aws-eks-nodeagent): it starts with the pod, not when aws-node restarts.
  for (const start of picture.sim.ipamdStarts.filter((entry) => !entry.restart)) {
    let t = start.at + 600_000;
    const log = (
      level: string,
      logger: string,
      caller: string,
      msg: string,
      extra: Record<string, unknown> = {},
    ): void => {
      t += 3_000 + (t % 7_000);
      lines.push(JSON.stringify({ level, ts: isoMillis(t), logger, caller, msg, ...extra }));
    };
    log('info', 'setup', 'runtime/proc.go:272', 'version', { GitVersion: '', GitCommit: '', BuildDate: '' });
    log('info', 'setup', 'runtime/proc.go:272', 'Network Policy is disabled, skipping bpf fs mount and eBPF setup');
    log('info', 'setup', 'runtime/proc.go:272', 'Serving metrics on ', { port: 8162 });
    log('info', 'controller-runtime.metrics', 'metrics/server.go:208', 'Starting metrics server');
    log('info', 'setup', 'runtime/proc.go:272', 'starting manager');
    log('info', 'controller-runtime.metrics', 'metrics/server.go:247', 'Serving metrics server', {
      bindAddress: ':8162',
      secure: false,
    });
    log('info', 'manager', 'manager/internal.go:538', 'starting server', { name: 'health probe', addr: '[::]:8163' });
  }
  return `${lines.join('\n')}\n`;
}

export function cniEnvContainerd(picture: NodePicture): string {
  const node = picture.sim.node;
  const awsNode = picture.booted.awsNode;
  const id = awsNode.containerIds.get('aws-node') ?? '';
  const env = [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'ADDITIONAL_ENI_TAGS={}',
    'ANNOTATE_POD_IP=false',
    'AWS_VPC_CNI_NODE_PORT_SUPPORT=true',
    'AWS_VPC_ENI_MTU=9001',
    'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=false',
    'AWS_VPC_K8S_CNI_EXTERNALSNAT=false',
    'AWS_VPC_K8S_CNI_LOGLEVEL=DEBUG',
    'AWS_VPC_K8S_CNI_LOG_FILE=/host/var/log/aws-routed-eni/ipamd.log',
    'AWS_VPC_K8S_CNI_RANDOMIZESNAT=prng',
    'AWS_VPC_K8S_CNI_VETHPREFIX=eni',
    'AWS_VPC_K8S_PLUGIN_LOG_FILE=/var/log/aws-routed-eni/plugin.log',
    'AWS_VPC_K8S_PLUGIN_LOG_LEVEL=DEBUG',
    `CLUSTER_ENDPOINT=${node.apiServerEndpoint}`,
    `CLUSTER_NAME=${node.clusterName}`,
    'DISABLE_INTROSPECTION=false',
    'DISABLE_METRICS=false',
    'DISABLE_NETWORK_RESOURCE_PROVISIONING=false',
    'ENABLE_IPv4=true',
    'ENABLE_IPv6=false',
    'ENABLE_POD_ENI=false',
    'ENABLE_PREFIX_DELEGATION=false',
    'ENABLE_SUBNET_DISCOVERY=true',
    'NETWORK_POLICY_ENFORCING_MODE=standard',
    `VPC_CNI_VERSION=${node.vpcCniVersion}`,
    `VPC_ID=vpc-0${createRandom(node.seed).hex(16)}`,
    'WARM_ENI_TARGET=1',
    'WARM_PREFIX_TARGET=1',
    `MY_NODE_NAME=${hostnameOf(node)}`,
    `MY_POD_NAME=${awsNode.spec.name}`,
  ];
  return `${JSON.stringify(
    {
      ID: id,
      Labels: {
        'io.cri-containerd.kind': 'container',
        'io.kubernetes.container.name': 'aws-node',
        'io.kubernetes.pod.name': awsNode.spec.name,
        'io.kubernetes.pod.namespace': 'kube-system',
        'io.kubernetes.pod.uid': awsNode.uid,
      },
      Image: `602401143452.dkr.ecr.${node.region}.amazonaws.com/amazon-k8s-cni:${node.vpcCniVersion}`,
      Runtime: {
        Name: 'io.containerd.runc.v2',
        Options: { type_url: 'containerd.runc.v1.Options', value: 'SAEqDi91c3Ivc2Jpbi9ydW5j' },
      },
      SnapshotKey: id,
      Snapshotter: 'overlayfs',
      CreatedAt: isoMillis(awsNode.containerStartedAt.get('aws-node') ?? awsNode.startedAt),
      Spec: {
        ociVersion: '1.1.0',
        process: {
          user: { uid: 0, gid: 0 },
          args: ['/app/aws-vpc-cni'],
          env,
          cwd: '/app',
          capabilities: { bounding: ['CAP_NET_ADMIN', 'CAP_NET_RAW'] },
        },
        hostname: hostnameOf(node),
      },
    },
    null,
    4,
  )}\n`;
}

/** Every file our agent collects; items listed in `absent` are left out (the manifest says why). */
export function renderOurLayout(picture: NodePicture, options: OurLayoutOptions): Record<string, string> {
  const { sim } = picture;
  const node = sim.node;
  const random = createRandom(`ours/${node.seed}`);
  const proc = procFiles(picture);
  const iptables = iptablesFiles(
    picture,
    {
      era: 'modern',
      program: 'iptables-nft-save v1.8.8 (nf_tables)',
      services: options.services,
      forwardPolicy: options.forwardPolicy,
      forwardPolicyCounters: options.forwardPolicyCounters,
      nfacctInvalid: true,
    },
    'ours',
  );
  const mac = macOf(node, 0);
  const awsNodeStart = sim.ipamdStarts.at(-1)?.at ?? node.bootAt;
  const files: Partial<Record<ItemId, string>> = {
    'kubelet-log': renderJournalFile(sim.journal, node, 'short-iso-precise'),
    'kubelet-unit': kubeletUnit(options.unit, node),
    'kubelet-config': kubeletConfigJson(node, options.maxPods, options.kubeReserved),
    'kubelet-kubeconfig': kubeconfigYaml(node),
    'containerd-log': renderJournalFile(containerdJournal(sim, 2_601), node, 'short-iso-precise'),
    'containerd-config': containerdConfig(node),
    'ipamd-log': renderIpamdLog(sim, { statsEverySeconds: 30, clusterVersion: options.clusterVersion, mac }),
    'plugin-log': renderPluginLog(sim, 'zap'),
    'network-policy-agent-log': networkPolicyAgentLog(picture),
    'cni-conflist': renderConflist('modern'),
    'cni-env-containerd': cniEnvContainerd(picture),
    'ipamd-enis': renderEnisJson(sim),
    'ipamd-eni-configs': '"default"',
    'ipamd-networkutils-env': renderNetworkutilsEnv(),
    'ipamd-env': renderIpamdEnv(),
    'ipamd-metrics': renderMetrics(sim, {
      addRequests: sim.cni.filter((event) => event.kind === 'add').length,
      delRequests: sim.cni.filter((event) => event.kind === 'del').length,
      goVersion: options.goVersion,
      processStart: awsNodeStart,
      residentBytes: 64_012_288,
      cpuSeconds:
        ((node.collectedAt - awsNodeStart) / SECOND) * (picture.processLoad['aws-k8s-agent']?.average ?? 0.004),
    }),
    'ipamd-checkpoint': renderCheckpoint(sim),
    'iptables-save': iptables.save,
    'ip6tables-save': iptables.save6,
    'iptables-list': iptables.filter,
    'iptables-list-filter': iptables.filter,
    'iptables-list-nat': iptables.nat,
    'iptables-list-mangle': iptables.mangle,
    'iptables-backend': 'iptables v1.8.8 (nf_tables)\n',
    'ip-rule': ipRule(sim),
    'ip-route': ipRoute(sim),
    'conntrack-stats': conntrackStats(node),
    'conntrack-count': conntrackCount(node, 1_100 + random.int(0, 900)),
    'ip6tables-list': iptables.filter6,
    'ip6tables-list-filter': iptables.filter6,
    'ip6tables-list-nat': iptables.nat6,
    'ip6tables-list-mangle': iptables.mangle6,
    'ip6-rule': ip6Rule(),
    'ip6-route': ip6Route(node, sim),
    'ip-addr': ipAddr(node, sim),
    'resolv-conf': resolvConf(node),
    'kubelet-environment': kubeletEnvironment(node, options.maxPods),
    'containerd-version': ctrVersion(node),
    'cgroup-kubepods-memory-stat': cgroupV2MemoryStat(
      picture.memory.anonKb - 600_000,
      Math.round(picture.memory.cachedKb * 0.4),
    ),
    'cgroup-kubepods-memory-events': kubepodsMemoryEvents(),
    'aws-node-container-log': awsNodeContainerLog(
      picture.booted.awsNode.containerStartedAt.get('aws-node') ?? picture.booted.awsNode.startedAt,
      options.ipamdWaitSeconds ?? 6,
    ),
    'imds-network-interfaces': imdsNetworkInterfaces(node, sim),
    'sysctl-all': sysctlAll(node, sim),
    'proc-loadavg': proc.loadavg,
    'proc-meminfo': proc.meminfo,
    'proc-stat': proc.stat,
    'psi-cpu': proc.psiCpu,
    'psi-memory': proc.psiMemory,
    'psi-io': proc.psiIo,
    'cpu-throttling': throttlingText(picture, 'ours'),
    'cgroup-kubepods-cpu-stat': cgroupV2CpuStat(picture.kubepodsCpuStat),
    'cgroup-aws-node-cpu-stat': cgroupV2CpuStat(picture.awsNodeCpuStat),
    top: topText(picture),
    ps: psText(picture),
    'instance-id': `${node.instanceId}\n`,
    region: `${node.region}\n`,
    'availability-zone': `${node.availabilityZone}\n`,
    'instance-type': `${node.instanceType}\n`,
    uname: `${unameLine(node)}\n`,
    dmesg: dmesg(node, sim),
    'os-release': osRelease(node),
  };
  const out: Record<string, string> = {};
  for (const [id, content] of Object.entries(files) as [ItemId, string][]) {
    if (options.absent.includes(id)) continue;
    out[bundlePaths[id]] = content;
  }
  return out;
}
