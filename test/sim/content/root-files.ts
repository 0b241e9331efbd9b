/**
 * The `--root` file tree of a simulated node: configs and units, the CNI's logs and checkpoint, container logs,
 * and the /proc and cgroup v2 files the agent reads from the root in tests. Paths are relative to the root.
 * The journal is built separately (journal.ts) because it needs systemd-journal-remote.
 */
import { gzipSync } from 'node:zlib';
import { kubeconfigYaml, kubeletConfigJson, kubeletUnitFiles } from '../../../samples/lib/kubelet-files.ts';
import { osRelease } from '../../../samples/lib/node.ts';
import {
  type CpuTicks,
  cgroupV2CpuStat,
  cgroupV2MemoryStat,
  type PressureLine,
  procLoadavg,
  procMeminfo,
  procPressure,
  procStat,
} from '../../../samples/lib/procfs.ts';
import { renderConflist } from '../../../samples/lib/vpc-cni.ts';
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

/** ipamd's max pods for the instance type: every secondary address of every ENI, plus two host-network pods. */
function maxPods(scenario: NodeScenario): number {
  return scenario.ipam.maxEnis * (scenario.ipam.ipv4PerEni - 1) + 2;
}

/** kubelet.service as the scenario's AMI ships it, and the nodeadm environment file its ExecStart reads flags from. */
function kubeletServiceFiles(scenario: NodeScenario): RootFile[] {
  const { node } = scenario;
  const args = `--hostname-override=${node.hostname} --cloud-provider=external --node-ip=${node.privateIp} --config=/etc/kubernetes/kubelet/config.json --kubeconfig=/var/lib/kubelet/kubeconfig --node-labels=eks.amazonaws.com/nodegroup=shop-general,eks.amazonaws.com/capacityType=ON_DEMAND --v=2`;
  return [
    ...kubeletUnitFiles(scenario.kubeletUnit, { ...node, seed: scenario.name }).map((file) => ({
      path: file.path.slice(1),
      content: file.content,
    })),
    { path: 'etc/eks/kubelet/environment', content: `NODEADM_KUBELET_ARGS="${args}"\n` },
  ];
}

/** A PSI file from the scenario's averages; `total` is the stall time they imply since boot. */
function psiFile(psi: { some: number[]; full: number[] }, uptimeSeconds: number): string {
  const line = ([avg10 = 0, avg60 = 0, avg300 = 0]: number[]): PressureLine => ({
    avg10,
    avg60,
    avg300,
    total: uptimeSeconds * 1e6 * (avg300 / 100),
  });
  return procPressure(line(psi.some), line(psi.full));
}

function procStatFile(scenario: NodeScenario, story: NodeStory): string {
  const { cpu, node } = scenario;
  const uptimeSeconds = (story.now - story.bootAt) / 1000;
  const random = createRandom(`procstat/${scenario.name}`);
  const perCpu = Array.from({ length: node.cpuCount }, (): CpuTicks => {
    const total = Math.round(uptimeSeconds * 100);
    const idleShare = Math.min(0.99, Math.max(0, cpu.idleShare + (random.next() - 0.5) * 0.04));
    const busy = total * (1 - idleShare);
    return {
      user: Math.round(busy * 0.62),
      nice: Math.round(busy * 0.01),
      system: Math.round(busy * 0.27),
      idle: Math.round(total * idleShare),
      iowait: Math.round(busy * 0.02),
      irq: 0,
      softirq: Math.round(busy * 0.05),
      steal: Math.round(busy * 0.03),
    };
  });
  const interrupts = Math.round(uptimeSeconds * 2100 * node.cpuCount);
  const share = (fraction: number) => Math.round(interrupts * fraction);
  return procStat({
    perCpu,
    // The timer and ENA queues take nearly all interrupts; the rest of the lines are allocated and idle.
    interrupts: [0, 9, ...new Array<number>(22).fill(0), share(0.6), share(0.4), 0, 0, 0],
    softirqs: [12, share(0.3), 41, share(0.2), 0, 0, share(0.01), share(0.3), 0, share(0.09)],
    contextSwitches: Math.round(uptimeSeconds * 5300 * node.cpuCount * (cpu.idleShare < 0.2 ? 4 : 1)),
    bootTime: Math.floor(story.bootAt / 1000),
    processesForked: 48_000 + random.int(0, 9000),
    running: cpu.runnable,
    blocked: 0,
  });
}

function meminfo(scenario: NodeScenario): string {
  const { memTotalKb, kernel } = scenario.node;
  const busy = scenario.cpu.idleShare < 0.2;
  return procMeminfo({
    totalKb: memTotalKb,
    anonKb: Math.round(memTotalKb * (busy ? 0.58 : 0.24)),
    cachedKb: Math.round(memTotalKb * 0.27),
    freeKb: Math.round(memTotalKb * (busy ? 0.06 : 0.21)),
    slabKb: 214_772,
    kernel6: kernel.startsWith('6.'),
  });
}

function cpuStat(stats: { usage: number; periods: number; throttled: number; throttledUsec: number }): string {
  return cgroupV2CpuStat({ usageUsec: stats.usage, userShare: 0.71, ...stats });
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
      content: cgroupV2MemoryStat(
        Math.round(node.memTotalKb * (busy > 0.8 ? 0.55 : 0.2)),
        Math.round(node.memTotalKb * 0.12),
      ),
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
    { path: `${scope}/memory.stat`, content: cgroupV2MemoryStat(47_100, 21_000) },
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
      content: procLoadavg(cpu.loadavg, cpu.runnable, cpu.threads, lastPid),
    },
    {
      path: 'proc/uptime',
      content: `${uptimeSeconds.toFixed(2)} ${(uptimeSeconds * node.cpuCount * cpu.idleShare).toFixed(2)}\n`,
    },
    { path: 'proc/meminfo', content: meminfo(scenario) },
    { path: 'proc/stat', content: procStatFile(scenario, story) },
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
    { path: 'etc/os-release', content: osRelease({ os: 'al2023' }, scenario.node.osPrettyName) },
    { path: 'etc/machine-id', content: `${scenario.node.machineId}\n` },
    { path: 'etc/hostname', content: `${scenario.node.hostname}\n` },
    { path: 'etc/cni/net.d/10-aws.conflist', content: renderConflist('modern', scenario.node.privateIp) },
    ...kubeletServiceFiles(scenario),
    {
      path: 'etc/kubernetes/kubelet/config.json',
      content: kubeletConfigJson(scenario.node, maxPods(scenario), { cpu: '70m', memory: '574Mi' }),
    },
    { path: 'var/lib/kubelet/kubeconfig', content: kubeconfigYaml({ ...scenario.node, os: 'al2023' }) },
    { path: 'var/run/aws-node/ipam.json', content: checkpoint(story), mtimeMs: story.pods.at(-1)?.startedAt },
    ...cniLogs(scenario, story),
    ...containers.files,
    ...procFiles(scenario, story),
    ...cgroupFiles(scenario, story),
  ];
  return { files, links: containers.links };
}
