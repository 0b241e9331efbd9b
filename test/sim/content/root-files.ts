/**
 * The `--root` file tree of a simulated node: configs and units, the CNI's logs and checkpoint, container logs,
 * and the /proc and cgroup v2 files the agent reads from the root in tests. Paths are relative to the root.
 * The journal is built separately (journal.ts) because it needs systemd-journal-remote.
 */
import { gzipSync } from 'node:zlib';
import { createRandom } from '../random.ts';
import type { NodeScenario } from '../scenarios.ts';
import { MINUTE, type NodeStory, SECOND } from './story.ts';
import { criTime, lumberjackStamp, zapTime } from './time.ts';
import { checkpoint, ipamdLog, networkPolicyAgentLog, pluginLog, rotatedIpamdLog } from './vpc-cni.ts';

export interface RootFile {
  path: string;
  content: string | Buffer;
  /** Modification time; defaults to when the world is built. */
  mtimeMs?: number;
}

export interface RootLink {
  path: string;
  /** Written as is: kubelet's /var/log/containers links are absolute, pointing into /var/log/pods. */
  target: string;
}

export interface RootTree {
  files: RootFile[];
  links: RootLink[];
}

function osRelease(scenario: NodeScenario): string {
  const version = scenario.node.osPrettyName.replace(/^Amazon Linux /, '');
  return `NAME="Amazon Linux"
VERSION="2023"
ID="amzn"
ID_LIKE="fedora"
VERSION_ID="2023"
PLATFORM_ID="platform:al2023"
PRETTY_NAME="Amazon Linux ${version}"
ANSI_COLOR="0;33"
CPE_NAME="cpe:2.3:o:amazon:amazon_linux:2023"
HOME_URL="https://aws.amazon.com/linux/amazon-linux-2023/"
DOCUMENTATION_URL="https://docs.aws.amazon.com/linux/"
SUPPORT_URL="https://aws.amazon.com/premiumsupport/"
BUG_REPORT_URL="https://github.com/amazonlinux/amazon-linux-2023"
VENDOR_NAME="AWS"
VENDOR_URL="https://aws.amazon.com/"
SUPPORT_END="2029-06-30"
`;
}

function conflist(scenario: NodeScenario): string {
  return `${JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'aws-cni',
      disableCheck: true,
      plugins: [
        {
          name: 'aws-cni',
          type: 'aws-cni',
          vethPrefix: 'eni',
          mtu: '9001',
          podSGEnforcingMode: 'strict',
          pluginLogFile: '/var/log/aws-routed-eni/plugin.log',
          pluginLogLevel: 'DEBUG',
        },
        {
          name: 'egress-cni',
          type: 'egress-cni',
          mtu: '9001',
          enabled: 'false',
          randomizeSNAT: 'prng',
          nodeIP: scenario.node.privateIp,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: 'fd00::ac:00/118' }]],
            routes: [{ dst: '::/0' }],
            dataDir: '/run/cni/v4pd/egress-v6-ipam',
          },
          pluginLogFile: '/var/log/aws-routed-eni/egress-v6-plugin.log',
          pluginLogLevel: 'DEBUG',
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    },
    null,
    2,
  )}\n`;
}

/** The EKS AL2023 unit (amazon-eks-ami nodeadm templates): ExecStartPre sets FORWARD ACCEPT before kubelet runs. */
const EKS_KUBELET_UNIT = `[Unit]
Description=Kubernetes Kubelet
Documentation=https://github.com/kubernetes/kubernetes
After=containerd.service sandbox-image.service
Requires=containerd.service sandbox-image.service

[Service]
Slice=runtime.slice
EnvironmentFile=/etc/eks/kubelet/environment
ExecStartPre=/sbin/iptables -P FORWARD ACCEPT -w 5
ExecStart=/usr/bin/kubelet \\
    --config /etc/kubernetes/kubelet/config.json \\
    --kubeconfig /var/lib/kubelet/kubeconfig \\
    --container-runtime-endpoint unix:///run/containerd/containerd.sock \\
    $NODEADM_KUBELET_ARGS \\
    $KUBELET_EXTRA_ARGS

Restart=on-failure
RestartForceExitStatus=SIGPIPE
RestartSec=5
KillMode=process
CPUAccounting=true
MemoryAccounting=true

[Install]
WantedBy=multi-user.target
`;

/** A hardened custom AMI's own unit: same kubelet, but nothing resets the FORWARD policy its firewall set. */
const CUSTOM_KUBELET_UNIT = `# Managed by platform-images (CIS level 2 baseline). Do not edit on the host.
[Unit]
Description=Kubernetes Kubelet
Documentation=https://github.com/kubernetes/kubernetes
After=containerd.service iptables.service
Requires=containerd.service

[Service]
Slice=runtime.slice
ExecStartPre=/usr/bin/mkdir -p /etc/kubernetes/manifests
ExecStart=/usr/bin/kubelet \\
    --config /etc/kubernetes/kubelet/config.json \\
    --kubeconfig /var/lib/kubelet/kubeconfig \\
    --container-runtime-endpoint unix:///run/containerd/containerd.sock \\
    $KUBELET_ARGS \\
    $KUBELET_EXTRA_ARGS

Restart=always
RestartSec=5
KillMode=process
CPUAccounting=true
MemoryAccounting=true

[Install]
WantedBy=multi-user.target
`;

function kubeletUnitFiles(scenario: NodeScenario): RootFile[] {
  const { node } = scenario;
  const args = `--hostname-override=${node.hostname} --cloud-provider=external --node-ip=${node.privateIp} --node-labels=eks.amazonaws.com/nodegroup=shop-general,eks.amazonaws.com/capacityType=ON_DEMAND --v=2`;
  if (scenario.kubeletUnit === 'eks-al2023') {
    return [
      { path: 'etc/systemd/system/kubelet.service', content: EKS_KUBELET_UNIT },
      { path: 'etc/eks/kubelet/environment', content: `NODEADM_KUBELET_ARGS="${args}"\n` },
      {
        path: 'etc/systemd/system/kubelet.service.d/20-kubelet-extra-args.conf',
        content:
          "[Service]\nEnvironment='KUBELET_EXTRA_ARGS=--image-gc-high-threshold=80 --image-gc-low-threshold=70'\n",
      },
    ];
  }
  return [
    { path: 'etc/systemd/system/kubelet.service', content: CUSTOM_KUBELET_UNIT },
    {
      path: 'etc/systemd/system/kubelet.service.d/10-kubelet-args.conf',
      content: `[Service]\nEnvironment='KUBELET_ARGS=${args}'\n`,
    },
    {
      path: 'etc/systemd/system/kubelet.service.d/30-kubelet-extra-args.conf',
      content: "[Service]\nEnvironment='KUBELET_EXTRA_ARGS=--protect-kernel-defaults=true --event-qps=0'\n",
    },
  ];
}

function kubeletConfig(scenario: NodeScenario): string {
  const { node, ipam } = scenario;
  return `${JSON.stringify(
    {
      kind: 'KubeletConfiguration',
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      address: '0.0.0.0',
      authentication: {
        anonymous: { enabled: false },
        webhook: { cacheTTL: '2m0s', enabled: true },
        x509: { clientCAFile: '/etc/kubernetes/pki/ca.crt' },
      },
      authorization: { mode: 'Webhook', webhook: { cacheAuthorizedTTL: '5m0s', cacheUnauthorizedTTL: '30s' } },
      cgroupDriver: 'systemd',
      cgroupRoot: '/',
      clusterDNS: [node.clusterDnsIp],
      clusterDomain: 'cluster.local',
      containerRuntimeEndpoint: 'unix:///run/containerd/containerd.sock',
      evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '10%', 'nodefs.inodesFree': '5%' },
      featureGates: { RotateKubeletServerCertificate: true },
      hairpinMode: 'hairpin-veth',
      kubeReserved: { cpu: '70m', 'ephemeral-storage': '1Gi', memory: '574Mi' },
      kubeReservedCgroup: '/runtime',
      logging: { verbosity: 2 },
      maxPods: ipam.maxEnis * (ipam.ipv4PerEni - 1) + 2,
      protectKernelDefaults: true,
      providerID: `aws:///${node.availabilityZone}/${node.instanceId}`,
      readOnlyPort: 0,
      serializeImagePulls: false,
      serverTLSBootstrap: true,
      shutdownGracePeriod: '2m30s',
      shutdownGracePeriodCriticalPods: '30s',
      systemReservedCgroup: '/system',
      tlsCipherSuites: [
        'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
        'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
        'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
        'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
      ],
    },
    null,
    4,
  )}\n`;
}

/** nodeadm's kubeconfig: credentials come from `aws eks get-token` at run time, so nothing secret is stored. */
function kubeconfig(scenario: NodeScenario): string {
  const { node } = scenario;
  return `---
apiVersion: v1
kind: Config
clusters:
  - name: kubernetes
    cluster:
      certificate-authority: /etc/kubernetes/pki/ca.crt
      server: ${node.apiServerEndpoint}
current-context: kubelet
contexts:
  - name: kubelet
    context:
      cluster: kubernetes
      user: kubelet
users:
  - name: kubelet
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1beta1
        command: aws
        args:
          - "eks"
          - "get-token"
          - "--cluster-name"
          - "${node.clusterName}"
          - "--region"
          - "${node.region}"
`;
}

function psiFile(psi: { some: number[]; full: number[] }, uptimeSeconds: number): string {
  const line = (scope: string, [a10 = 0, a60 = 0, a300 = 0]: number[]) =>
    `${scope} avg10=${a10.toFixed(2)} avg60=${a60.toFixed(2)} avg300=${a300.toFixed(2)} total=${Math.round(uptimeSeconds * 1e6 * (a300 / 100))}`;
  return `${line('some', psi.some)}\n${line('full', psi.full)}\n`;
}

function procStat(scenario: NodeScenario, story: NodeStory): string {
  const { cpu, node } = scenario;
  const uptimeSeconds = (story.now - story.bootAt) / 1000;
  const random = createRandom(`procstat/${scenario.name}`);
  const perCpu = Array.from({ length: node.cpuCount }, () => {
    const total = Math.round(uptimeSeconds * 100);
    const idleShare = Math.min(0.99, Math.max(0, cpu.idleShare + (random.next() - 0.5) * 0.04));
    const busy = total * (1 - idleShare);
    return [
      Math.round(busy * 0.62),
      Math.round(busy * 0.01),
      Math.round(busy * 0.27),
      Math.round(total * idleShare),
      Math.round(busy * 0.02),
      0,
      Math.round(busy * 0.05),
      Math.round(busy * 0.03),
      0,
      0,
    ];
  });
  const sum = perCpu.reduce((acc, row) => acc.map((value, i) => value + (row[i] ?? 0)), new Array(10).fill(0));
  const interrupts = Math.round(uptimeSeconds * 2100 * node.cpuCount);
  return [
    `cpu  ${sum.join(' ')}`,
    ...perCpu.map((row, i) => `cpu${i} ${row.join(' ')}`),
    `intr ${interrupts} 0 9 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 ${Math.round(interrupts * 0.4)} 0 0 0`,
    `ctxt ${Math.round(uptimeSeconds * 5300 * node.cpuCount * (cpu.idleShare < 0.2 ? 4 : 1))}`,
    `btime ${Math.floor(story.bootAt / 1000)}`,
    `processes ${48_000 + random.int(0, 9000)}`,
    `procs_running ${cpu.runnable}`,
    'procs_blocked 0',
    `softirq ${Math.round(interrupts * 0.9)} 12 ${Math.round(interrupts * 0.3)} 41 ${Math.round(interrupts * 0.2)} 0 0 ${Math.round(interrupts * 0.01)} ${Math.round(interrupts * 0.3)} 0 ${Math.round(interrupts * 0.09)}`,
    '',
  ].join('\n');
}

function meminfo(scenario: NodeScenario): string {
  const total = scenario.node.memTotalKb;
  const busy = scenario.cpu.idleShare < 0.2;
  const free = Math.round(total * (busy ? 0.06 : 0.21));
  const available = Math.round(total * (busy ? 0.31 : 0.63));
  const cached = Math.round(total * 0.27);
  const anon = Math.round(total * (busy ? 0.58 : 0.24));
  const rows: [string, number][] = [
    ['MemTotal', total],
    ['MemFree', free],
    ['MemAvailable', available],
    ['Buffers', 4_212],
    ['Cached', cached],
    ['SwapCached', 0],
    ['Active', Math.round(anon * 0.9 + cached * 0.4)],
    ['Inactive', Math.round(anon * 0.1 + cached * 0.6)],
    ['Active(anon)', Math.round(anon * 0.9)],
    ['Inactive(anon)', Math.round(anon * 0.1)],
    ['Active(file)', Math.round(cached * 0.4)],
    ['Inactive(file)', Math.round(cached * 0.6)],
    ['Unevictable', 0],
    ['Mlocked', 0],
    ['SwapTotal', 0],
    ['SwapFree', 0],
    ['Zswap', 0],
    ['Zswapped', 0],
    ['Dirty', 1_044],
    ['Writeback', 0],
    ['AnonPages', anon],
    ['Mapped', Math.round(total * 0.05)],
    ['Shmem', 2_964],
    ['KReclaimable', 112_488],
    ['Slab', 214_772],
    ['SReclaimable', 112_488],
    ['SUnreclaim', 102_284],
    ['KernelStack', 12_736],
    ['PageTables', 9_816],
    ['SecPageTables', 0],
    ['NFS_Unstable', 0],
    ['Bounce', 0],
    ['WritebackTmp', 0],
    ['CommitLimit', Math.round(total / 2)],
    ['Committed_AS', Math.round(total * (busy ? 1.3 : 0.45))],
    ['VmallocTotal', 34_359_738_367],
    ['VmallocUsed', 24_068],
    ['VmallocChunk', 0],
    ['Percpu', 2_496],
    ['HardwareCorrupted', 0],
    ['AnonHugePages', 0],
    ['ShmemHugePages', 0],
    ['ShmemPmdMapped', 0],
    ['FileHugePages', 0],
    ['FilePmdMapped', 0],
  ];
  const lines = rows.map(([key, kb]) => `${`${key}:`.padEnd(16)}${String(kb).padStart(8)} kB`);
  lines.push(
    'HugePages_Total:       0',
    'HugePages_Free:        0',
    'HugePages_Rsvd:        0',
    'HugePages_Surp:        0',
    'Hugepagesize:       2048 kB',
    'Hugetlb:               0 kB',
    `DirectMap4k:     ${String(180_224).padStart(8)} kB`,
    `DirectMap2M:     ${String(Math.round(total * 0.6)).padStart(8)} kB`,
    `DirectMap1G:     ${String(Math.round(total * 0.4)).padStart(8)} kB`,
  );
  return `${lines.join('\n')}\n`;
}

function cpuStat(stats: { usage: number; periods: number; throttled: number; throttledUsec: number }): string {
  const user = Math.round(stats.usage * 0.71);
  return [
    `usage_usec ${stats.usage}`,
    `user_usec ${user}`,
    `system_usec ${stats.usage - user}`,
    `nr_periods ${stats.periods}`,
    `nr_throttled ${stats.throttled}`,
    `throttled_usec ${stats.throttledUsec}`,
    'nr_bursts 0',
    'burst_usec 0',
    '',
  ].join('\n');
}

function memoryStat(anonBytes: number, fileBytes: number): string {
  const rows: [string, number][] = [
    ['anon', anonBytes],
    ['file', fileBytes],
    ['kernel', Math.round(anonBytes * 0.04)],
    ['kernel_stack', 1_622_016],
    ['pagetables', 3_584_000],
    ['sec_pagetables', 0],
    ['percpu', 1_152],
    ['sock', 8_192],
    ['vmalloc', 0],
    ['shmem', 0],
    ['zswap', 0],
    ['zswapped', 0],
    ['file_mapped', Math.round(fileBytes * 0.3)],
    ['file_dirty', 4_096],
    ['file_writeback', 0],
    ['swapcached', 0],
    ['anon_thp', 0],
    ['file_thp', 0],
    ['shmem_thp', 0],
    ['inactive_anon', Math.round(anonBytes * 0.98)],
    ['active_anon', Math.round(anonBytes * 0.02)],
    ['inactive_file', Math.round(fileBytes * 0.55)],
    ['active_file', Math.round(fileBytes * 0.45)],
    ['unevictable', 0],
    ['slab_reclaimable', 2_197_840],
    ['slab_unreclaimable', 1_204_712],
    ['slab', 3_402_552],
    ['workingset_refault_anon', 0],
    ['workingset_refault_file', 411],
    ['workingset_activate_anon', 0],
    ['workingset_activate_file', 37],
    ['workingset_restore_anon', 0],
    ['workingset_restore_file', 9],
    ['workingset_nodereclaim', 0],
    ['pgscan', 0],
    ['pgsteal', 0],
    ['pgfault', 7_329_114],
    ['pgmajfault', 412],
    ['pgrefill', 0],
    ['pgactivate', 20_133],
    ['pgdeactivate', 0],
    ['thp_fault_alloc', 0],
    ['thp_collapse_alloc', 0],
  ];
  return `${rows.map(([key, value]) => `${key} ${value}`).join('\n')}\n`;
}

/** systemd cgroup driver naming: pod UID dashes become underscores in the slice name. */
function podSlice(qos: 'burstable' | 'besteffort', uid: string): string {
  return `kubepods.slice/kubepods-${qos}.slice/kubepods-${qos}-pod${uid.replace(/-/g, '_')}.slice`;
}

export function awsNodeScopePath(story: NodeStory): string {
  const containerId = story.awsNode.containerIds.at(-1) ?? '';
  return `${podSlice('burstable', story.awsNode.uid)}/cri-containerd-${containerId}.scope`;
}

function cgroupFiles(scenario: NodeScenario, story: NodeStory): RootFile[] {
  const { cpu, node } = scenario;
  const uptimeUsec = (story.now - story.bootAt) * 1000;
  const busy = 1 - cpu.idleShare;
  const kubepodsUsage = Math.round(uptimeUsec * node.cpuCount * busy * 0.8);
  const scope = `sys/fs/cgroup/${awsNodeScopePath(story)}`;
  const aws = cpu.awsNode;
  const procs = [story.awsNode.entrypointPid, story.awsNode.agentPid];
  const nodeAgentScope = `sys/fs/cgroup/${podSlice('burstable', story.awsNode.uid)}/cri-containerd-${story.awsNode.nodeAgentContainerId}.scope`;
  const memTotal = node.memTotalKb * 1024;
  return [
    { path: 'sys/fs/cgroup/cgroup.controllers', content: 'cpuset cpu io memory hugetlb pids rdma misc\n' },
    { path: 'sys/fs/cgroup/kubepods.slice/cpu.max', content: 'max 100000\n' },
    {
      path: 'sys/fs/cgroup/kubepods.slice/cpu.stat',
      content: cpuStat({ usage: kubepodsUsage, periods: 0, throttled: 0, throttledUsec: 0 }),
    },
    { path: 'sys/fs/cgroup/kubepods.slice/cpu.weight', content: `${Math.round(node.cpuCount * 39.4)}\n` },
    {
      path: 'sys/fs/cgroup/kubepods.slice/memory.stat',
      content: memoryStat(Math.round(memTotal * (busy > 0.8 ? 0.55 : 0.2)), Math.round(memTotal * 0.12)),
    },
    {
      path: 'sys/fs/cgroup/kubepods.slice/memory.current',
      content: `${Math.round(memTotal * (busy > 0.8 ? 0.69 : 0.34))}\n`,
    },
    { path: 'sys/fs/cgroup/kubepods.slice/memory.max', content: `${Math.round(memTotal * 0.9)}\n` },
    { path: `${scope}/cpu.max`, content: `${aws.cpuMax}\n` },
    {
      path: `${scope}/cpu.stat`,
      content: cpuStat({
        usage: aws.usageUsec,
        periods: aws.nrPeriods,
        throttled: aws.nrThrottled,
        throttledUsec: aws.throttledUsec,
      }),
    },
    {
      path: `${scope}/cpu.pressure`,
      content: psiFile(
        busy > 0.8
          ? { some: [61.2, 57.9, 44.1], full: [58.3, 55.0, 41.7] }
          : { some: [0, 0.02, 0.01], full: [0, 0.01, 0] },
        uptimeUsec / 1e6,
      ),
    },
    { path: `${scope}/memory.stat`, content: memoryStat(48_230_400, 21_504_000) },
    { path: `${scope}/memory.current`, content: '72417280\n' },
    { path: `${scope}/cgroup.procs`, content: `${procs.join('\n')}\n` },
    {
      path: `${nodeAgentScope}/cpu.stat`,
      content: cpuStat({ usage: 91_220_183, periods: 0, throttled: 0, throttledUsec: 0 }),
    },
    { path: `${nodeAgentScope}/cgroup.procs`, content: `${story.awsNode.nodeAgentPid}\n` },
  ];
}

function procFiles(scenario: NodeScenario, story: NodeStory): RootFile[] {
  const { cpu, node } = scenario;
  const uptimeSeconds = (story.now - story.bootAt) / 1000;
  const lastPid = 48_000 + createRandom(`lastpid/${scenario.name}`).int(0, 900);
  const processes: { pid: number; comm: string; argv: string[]; cgroup: string }[] = [
    {
      pid: node.containerdPid,
      comm: 'containerd',
      argv: ['/usr/bin/containerd'],
      cgroup: '/runtime.slice/containerd.service',
    },
    {
      pid: node.kubeletPid,
      comm: 'kubelet',
      argv: [
        '/usr/bin/kubelet',
        '--config',
        '/etc/kubernetes/kubelet/config.json',
        '--kubeconfig',
        '/var/lib/kubelet/kubeconfig',
        '--container-runtime-endpoint',
        'unix:///run/containerd/containerd.sock',
      ],
      cgroup: '/runtime.slice/kubelet.service',
    },
    {
      pid: story.awsNode.entrypointPid,
      comm: 'aws-vpc-cni',
      argv: ['/app/aws-vpc-cni'],
      cgroup: `/${awsNodeScopePath(story)}`,
    },
    {
      pid: story.awsNode.agentPid,
      comm: 'aws-k8s-agent',
      argv: ['/app/aws-k8s-agent'],
      cgroup: `/${awsNodeScopePath(story)}`,
    },
    {
      pid: story.awsNode.nodeAgentPid,
      comm: 'controller',
      argv: [
        '/controller',
        '--enable-ipv6=false',
        '--enable-network-policy=false',
        '--enable-cloudwatch-logs=false',
        '--enable-policy-event-logs=false',
        '--log-file=/var/log/aws-routed-eni/network-policy-agent.log',
        '--metrics-bind-addr=:8162',
        '--health-probe-bind-addr=:8163',
        '--conntrack-cache-cleanup-period=300',
      ],
      cgroup: `/${podSlice('burstable', story.awsNode.uid)}/cri-containerd-${story.awsNode.nodeAgentContainerId}.scope`,
    },
  ];
  return [
    {
      path: 'proc/loadavg',
      content: `${cpu.loadavg.map((n) => n.toFixed(2)).join(' ')} ${cpu.runnable}/${cpu.threads} ${lastPid}\n`,
    },
    {
      path: 'proc/uptime',
      content: `${uptimeSeconds.toFixed(2)} ${(uptimeSeconds * node.cpuCount * cpu.idleShare).toFixed(2)}\n`,
    },
    { path: 'proc/meminfo', content: meminfo(scenario) },
    { path: 'proc/stat', content: procStat(scenario, story) },
    { path: 'proc/pressure/cpu', content: psiFile(cpu.psiCpu, uptimeSeconds) },
    { path: 'proc/pressure/memory', content: psiFile(cpu.psiMemory, uptimeSeconds) },
    { path: 'proc/pressure/io', content: psiFile(cpu.psiIo, uptimeSeconds) },
    ...processes.flatMap((process) => [
      { path: `proc/${process.pid}/comm`, content: `${process.comm}\n` },
      { path: `proc/${process.pid}/cmdline`, content: `${process.argv.join('\0')}\0` },
      { path: `proc/${process.pid}/cgroup`, content: `0::${process.cgroup}\n` },
    ]),
  ];
}

function criLines(lines: { at: number; stream: 'stdout' | 'stderr'; text: string }[], seed: string): string {
  const random = createRandom(seed);
  return lines
    .map((line) => `${criTime(line.at, random.int(0, 999_999))} ${line.stream} F ${line.text}`)
    .join('\n')
    .concat('\n');
}

function awsNodeContainerLog(startedAt: number, seed: string): string {
  const step = (n: number) => startedAt + n * 37;
  const zap = (at: number, caller: string, msg: string) =>
    JSON.stringify({ level: 'info', ts: zapTime(at), caller, msg });
  return criLines(
    [
      { at: step(0), stream: 'stdout', text: zap(step(0), 'logger/logger.go:52', 'Constructed new logger instance') },
      { at: step(1), stream: 'stdout', text: zap(step(1), 'aws-vpc-cni/main.go:364', 'Validating env variables ...') },
      { at: step(2), stream: 'stdout', text: zap(step(2), 'aws-vpc-cni/main.go:365', 'Install CNI binaries..') },
      { at: step(9), stream: 'stdout', text: zap(step(9), 'aws-vpc-cni/main.go:382', 'Starting IPAM daemon... ') },
      {
        at: step(10),
        stream: 'stdout',
        text: zap(step(10), 'aws-vpc-cni/main.go:389', 'Checking for IPAM connectivity... '),
      },
      { at: step(60), stream: 'stdout', text: zap(step(60), 'aws-vpc-cni/main.go:422', 'Copying config file... ') },
      {
        at: step(61),
        stream: 'stdout',
        text: zap(step(61), 'aws-vpc-cni/main.go:435', 'Successfully copied CNI plugin binary and config file.'),
      },
    ],
    seed,
  );
}

function containerLogs(scenario: NodeScenario, story: NodeStory): RootTree {
  const { awsNode } = story;
  const podDir = `var/log/pods/kube-system_${awsNode.name}_${awsNode.uid}`;
  const files: RootFile[] = [];
  const links: RootLink[] = [];
  const restarts = awsNode.startedAt.length - 1;
  // kubelet keeps the running container's log and the one before it.
  for (const attempt of [restarts - 1, restarts].filter((n) => n >= 0)) {
    const startedAt = awsNode.startedAt[attempt] ?? story.bootAt;
    const endedAt = awsNode.startedAt[attempt + 1] ?? story.now;
    files.push({
      path: `${podDir}/aws-node/${attempt}.log`,
      content: awsNodeContainerLog(startedAt, `cri/${scenario.name}/${attempt}`),
      mtimeMs: Math.min(endedAt, startedAt + 3 * SECOND),
    });
  }
  const nodeAgentStart = story.kubeletStartAt + 10 * SECOND;
  files.push({
    path: `${podDir}/aws-eks-nodeagent/0.log`,
    content: criLines(
      [
        {
          at: nodeAgentStart,
          stream: 'stderr',
          text: JSON.stringify({
            level: 'info',
            ts: zapTime(nodeAgentStart),
            logger: 'setup',
            caller: 'runtime/proc.go:283',
            msg: 'version',
            GitVersion: 'v1.2.7',
          }),
        },
        {
          at: nodeAgentStart + 51,
          stream: 'stderr',
          text: JSON.stringify({
            level: 'info',
            ts: zapTime(nodeAgentStart + 51),
            logger: 'setup',
            caller: 'manager/internal.go:469',
            msg: 'Starting manager',
          }),
        },
      ],
      `cri/${scenario.name}/nodeagent`,
    ),
    mtimeMs: nodeAgentStart + 51,
  });
  const current = awsNode.containerIds.at(-1) ?? '';
  links.push(
    {
      path: `var/log/containers/${awsNode.name}_kube-system_aws-node-${current}.log`,
      target: `/${podDir}/aws-node/${restarts}.log`,
    },
    {
      path: `var/log/containers/${awsNode.name}_kube-system_aws-eks-nodeagent-${awsNode.nodeAgentContainerId}.log`,
      target: `/${podDir}/aws-eks-nodeagent/0.log`,
    },
  );
  return { files, links };
}

function cniLogs(scenario: NodeScenario, story: NodeStory): RootFile[] {
  const dir = 'var/log/aws-routed-eni';
  const previousBoot = story.bootAt - 31 * 60 * MINUTE;
  const rotatedAt = [previousBoot + 18 * 60 * MINUTE, story.bootAt - 6 * MINUTE];
  return [
    { path: `${dir}/ipamd.log`, content: ipamdLog(scenario, story), mtimeMs: story.now - 4 * SECOND },
    { path: `${dir}/plugin.log`, content: pluginLog(scenario, story), mtimeMs: story.pods.at(-1)?.startedAt },
    {
      path: `${dir}/network-policy-agent.log`,
      content: networkPolicyAgentLog(story),
      mtimeMs: story.kubeletStartAt + 11 * SECOND,
    },
    // lumberjack names a rotated file after the moment of rotation and gzips it (Compress: true).
    ...rotatedAt.map((at, index) => ({
      path: `${dir}/ipamd-${lumberjackStamp(at)}.log.gz`,
      content: gzipSync(rotatedIpamdLog(scenario, index === 0 ? previousBoot : (rotatedAt[0] ?? previousBoot), at)),
      mtimeMs: at,
    })),
  ];
}

export function rootTree(scenario: NodeScenario, story: NodeStory): RootTree {
  const containers = containerLogs(scenario, story);
  const files: RootFile[] = [
    { path: 'etc/os-release', content: osRelease(scenario) },
    { path: 'etc/machine-id', content: `${scenario.node.machineId}\n` },
    { path: 'etc/hostname', content: `${scenario.node.hostname}\n` },
    { path: 'etc/cni/net.d/10-aws.conflist', content: conflist(scenario) },
    ...kubeletUnitFiles(scenario),
    { path: 'etc/kubernetes/kubelet/config.json', content: kubeletConfig(scenario) },
    { path: 'var/lib/kubelet/kubeconfig', content: kubeconfig(scenario) },
    { path: 'var/run/aws-node/ipam.json', content: checkpoint(story), mtimeMs: story.pods.at(-1)?.startedAt },
    ...cniLogs(scenario, story),
    ...containers.files,
    ...procFiles(scenario, story),
    ...cgroupFiles(scenario, story),
  ];
  return { files, links: containers.links };
}
