/**
 * The state of a node at the moment of collection beyond its logs: CPU and memory pressure, throttled cgroups and
 * the process table. Scenarios describe it in a few numbers; this module turns it into processes.
 */
import { hostnameOf, type NodeProfile } from './node.ts';
import { kernelThreads, kworkers, type Proc } from './processes.ts';
import type { CfsStats, PressureLine } from './procfs.ts';
import { createRandom, type Random } from './random.ts';
import type { NodeSimulation, Pod } from './simulation.ts';
import { type Micros, SECOND } from './time.ts';
import type { BootedNode } from './workloads.ts';

export interface CpuPicture {
  load: [number, number, number];
  /** Runnable tasks in /proc/loadavg and procs_running. */
  running: number;
  /** Scheduling entities (threads) in /proc/loadavg. */
  threads: number;
  lastPid: number;
  top: { us: number; sy: number; ni: number; id: number; wa: number; hi: number; si: number; st: number };
  /** Average CPU shares since boot, for /proc/stat. */
  lifetime: { user: number; system: number; iowait: number; steal: number };
  psiCpu: PressureLine;
  psiMemory: { some: PressureLine; full: PressureLine };
  psiIo: { some: PressureLine; full: PressureLine };
  contextSwitchesPerSecond: number;
}

export interface MemoryPicture {
  anonKb: number;
  cachedKb: number;
  freeKb: number;
  slabKb: number;
}

export interface ThrottledContainer {
  pod: Pod;
  container: string;
  stats: CfsStats;
}

export interface NodePicture {
  sim: NodeSimulation;
  booted: BootedNode;
  cpu: CpuPicture;
  memory: MemoryPicture;
  throttled: ThrottledContainer[];
  kubepodsCpuStat: CfsStats;
  awsNodeCpuStat: CfsStats;
  /** Current %CPU (top's sample) and average CPU share since start, by process name. */
  processLoad: Record<string, { now: number; average: number }>;
  /** Extra long-running host processes in the collector's own tree (e.g. the collector and its `ps`). */
  collector: 'eks-node-diag' | 'eks-log-collector';
}

/**
 * cpu.stat of a cgroup without a CFS quota: its average share of one CPU over `runningSeconds`, never throttled.
 */
export function unthrottledCpuStat(runningSeconds: number, cpuShare: number, userShare: number): CfsStats {
  return {
    usageUsec: Math.round(runningSeconds * 1_000_000 * cpuShare),
    userShare,
    periods: 0,
    throttled: 0,
    throttledUsec: 0,
  };
}

/** PIDs handed out over time: fast during boot, then at the steady fork rate that ends at `lastPid`. */
export function pidClock(node: NodeProfile, lastPid: number): (at: Micros) => number {
  const bootSpan = 90 * SECOND;
  return (at: Micros) => {
    const since = at - node.bootAt;
    if (since <= bootSpan) return Math.round(300 + (since / bootSpan) * 2_600);
    const rest = (since - bootSpan) / Math.max(1, node.collectedAt - node.bootAt - bootSpan);
    return Math.round(2_900 + rest * (lastPid - 2_900));
  };
}

/** cgroup v2 path of a container's scope under the systemd cgroup driver. */
export function containerCgroup(pod: Pod, containerId: string, cgroupVersion: 1 | 2): string {
  const qos = pod.spec.qos;
  const uid = pod.uid.replaceAll('-', '_');
  const slice =
    qos === 'guaranteed' ? `kubepods-pod${uid}.slice` : `kubepods-${qos}.slice/kubepods-${qos}-pod${uid}.slice`;
  const root = cgroupVersion === 2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/cpu,cpuacct';
  return `${root}/kubepods.slice/${slice}/cri-containerd-${containerId}.scope`;
}

interface ProcInput {
  pid: number;
  ppid: number;
  user: string;
  uid: number;
  comm: string;
  args: string;
  stat: string;
  startedAt: Micros;
  rssKb: number;
  vszKb: number;
  threads: number;
  nice?: number;
}

/** The process table at collection; `tool` is the command the collector is running at that moment. */
export function buildProcesses(
  picture: NodePicture,
  tool: 'top' | 'ps',
): { procs: Proc[]; byContainer: Map<string, Proc[]> } {
  const { sim } = picture;
  const node = sim.node;
  const random: Random = createRandom(`procs/${node.seed}`);
  const pidAt = pidClock(node, picture.cpu.lastPid);
  const procs: Proc[] = [...kernelThreads(node, random)];
  const byContainer = new Map<string, Proc[]>();
  const load = (comm: string): { now: number; average: number } =>
    picture.processLoad[comm] ?? { now: 0, average: comm === 'pause' ? 0 : random.float(0.000002, 0.00012) };
  const used = new Set<number>(procs.map((proc) => proc.pid));
  const add = (input: ProcInput): Proc => {
    // Processes started in the same instant still get distinct pids.
    let pid = input.pid;
    while (used.has(pid)) pid += random.int(1, 7);
    used.add(pid);
    input = { ...input, pid };
    const { now, average } = load(input.comm);
    const elapsed = (node.collectedAt - input.startedAt) / SECOND;
    const proc: Proc = {
      ...input,
      nice: input.nice ?? 0,
      priority: 20 + (input.nice ?? 0),
      cpuNow: now,
      cpuSeconds: Math.round(elapsed * average * 100) / 100,
      shrKb: Math.round(input.rssKb * random.float(0.35, 0.65)),
      kernelThread: false,
      blkioTicks: random.chance(0.3) ? random.int(1, 400) : 0,
    };
    // Whatever top saw using CPU in its sample was on a run queue.
    if (now >= 6 && proc.stat.startsWith('S')) proc.stat = `R${proc.stat.slice(1)}`;
    procs.push(proc);
    return proc;
  };
  const t = (seconds: number): Micros => node.bootAt + seconds * SECOND;
  const al2023 = node.os === 'al2023';
  add({
    pid: 1,
    ppid: 0,
    user: 'root',
    uid: 0,
    comm: 'systemd',
    args: al2023
      ? '/usr/lib/systemd/systemd --switched-root --system --deserialize=32'
      : '/usr/lib/systemd/systemd --switched-root --system --deserialize 22',
    stat: 'Ss',
    startedAt: node.bootAt,
    rssKb: 16_496,
    vszKb: 171_680,
    threads: 1,
  });
  const daemon = (
    seconds: number,
    user: string,
    uid: number,
    comm: string,
    args: string,
    stat: string,
    rssKb: number,
    vszKb: number,
    threads = 1,
    ppid = 1,
    nice = 0,
  ): Proc =>
    add({
      pid: pidAt(t(seconds)),
      ppid,
      user,
      uid,
      comm,
      args,
      stat,
      startedAt: t(seconds),
      rssKb,
      vszKb,
      threads,
      nice,
    });
  daemon(1.2, 'root', 0, 'systemd-journal', '/usr/lib/systemd/systemd-journald', 'Ss', 38_412, 43_288);
  daemon(1.5, 'root', 0, 'systemd-udevd', '/usr/lib/systemd/systemd-udevd', 'Ss', 11_688, 35_576);
  daemon(2.1, 'root', 0, 'auditd', '/sbin/auditd', 'S<sl', 3_160, 90_560, 3, 1, -4);
  if (al2023) {
    daemon(2.4, 'systemd-network', 192, 'systemd-network', '/usr/lib/systemd/systemd-networkd', 'Ss', 9_352, 22_028);
    daemon(2.5, 'systemd-resolve', 193, 'systemd-resolve', '/usr/lib/systemd/systemd-resolved', 'Ss', 12_776, 22_808);
    const launch = daemon(
      2.7,
      'dbus',
      81,
      'dbus-broker-lau',
      '/usr/bin/dbus-broker-launch --scope system --audit',
      'Ss',
      3_980,
      11_092,
    );
    daemon(
      2.71,
      'dbus',
      81,
      'dbus-broker',
      'dbus-broker --log 4 --controller 9 --machine-id ec2f9a0c2b1c4d1e8d3f0a6b5c4d3e2f --max-bytes 536870912 --max-fds 4096 --max-matches 131072 --audit',
      'S',
      2_552,
      5_004,
      1,
      launch.pid,
    );
    daemon(2.8, 'root', 0, 'systemd-homed', '/usr/lib/systemd/systemd-homed', 'Ss', 8_100, 18_904);
    daemon(2.9, 'root', 0, 'systemd-logind', '/usr/lib/systemd/systemd-logind', 'Ss', 8_884, 18_900);
    daemon(3.0, 'chrony', 992, 'chronyd', '/usr/sbin/chronyd -F 2', 'S', 3_544, 84_228);
    daemon(3.1, 'root', 0, 'gssproxy', '/usr/sbin/gssproxy -D', 'Ssl', 2_404, 221_300, 6);
    daemon(3.3, 'root', 0, 'irqbalance', '/usr/sbin/irqbalance --foreground', 'Ss', 3_920, 9_204, 2);
    daemon(4.0, 'root', 0, 'agetty', '/sbin/agetty -o -p -- \\u --noclear - linux', 'Ss+', 1_656, 221_680);
    daemon(
      4.0,
      'root',
      0,
      'agetty',
      '/sbin/agetty -o -p -- \\u --keep-baud 115200,57600,38400,9600 - vt220',
      'Ss+',
      1_700,
      221_724,
    );
    daemon(4.2, 'root', 0, 'sshd', 'sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups', 'Ss', 7_744, 15_740);
  } else {
    daemon(2.2, 'root', 0, 'lvmetad', '/usr/sbin/lvmetad -f', 'Ss', 1_820, 115_388);
    daemon(2.6, 'root', 0, 'rngd', '/sbin/rngd -f --fill-watermark=0 --exclude=jitter', 'Ss', 2_240, 94_060);
    daemon(2.7, 'root', 0, 'irqbalance', '/usr/sbin/irqbalance --foreground', 'Ss', 1_132, 19_248);
    daemon(
      2.8,
      'dbus',
      81,
      'dbus-daemon',
      '/usr/bin/dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation',
      'Ss',
      2_464,
      58_208,
    );
    daemon(2.9, 'root', 0, 'systemd-logind', '/usr/lib/systemd/systemd-logind', 'Ss', 2_720, 26_444);
    daemon(3.0, 'chrony', 996, 'chronyd', '/usr/sbin/chronyd', 'S', 1_932, 117_844);
    daemon(3.1, 'root', 0, 'gssproxy', '/usr/sbin/gssproxy -D', 'Ssl', 1_980, 201_432, 6);
    daemon(
      3.5,
      'root',
      0,
      'dhclient',
      '/sbin/dhclient -q -lf /var/lib/dhclient/dhclient--eth0.lease -pf /var/run/dhclient-eth0.pid eth0',
      'Ss',
      5_880,
      102_884,
    );
    daemon(
      3.9,
      'root',
      0,
      'dhclient',
      '/sbin/dhclient -6 -nw -lf /var/lib/dhclient/dhclient6--eth0.lease -pf /var/run/dhclient6-eth0.pid eth0',
      'Ss',
      5_640,
      102_884,
    );
    const master = daemon(4.3, 'root', 0, 'master', '/usr/libexec/postfix/master -w', 'Ss', 2_160, 89_716);
    daemon(4.4, 'postfix', 89, 'qmgr', 'qmgr -l -t unix -u', 'S', 4_064, 89_992, 1, master.pid);
    daemon(4.5, 'root', 0, 'rsyslogd', '/usr/sbin/rsyslogd -n', 'Ssl', 5_308, 365_876, 3);
    daemon(4.6, 'root', 0, 'crond', '/usr/sbin/crond -n', 'Ss', 1_712, 126_388);
    daemon(4.6, 'root', 0, 'atd', '/usr/sbin/atd -f', 'Ss', 1_104, 25_956);
    daemon(4.7, 'root', 0, 'agetty', '/sbin/agetty --keep-baud 115200,38400,9600 ttyS0 vt220', 'Ss+', 860, 121_388);
    daemon(4.7, 'root', 0, 'agetty', '/sbin/agetty --noclear tty1 linux', 'Ss+', 852, 121_388);
    daemon(4.9, 'root', 0, 'sshd', '/usr/sbin/sshd -D', 'Ss', 4_496, 112_948);
  }
  const ssm = daemon(5.0, 'root', 0, 'amazon-ssm-agen', '/usr/bin/amazon-ssm-agent', 'Ssl', 25_032, 1_911_864, 9);
  const ssmWorker = daemon(
    5.6,
    'root',
    0,
    'ssm-agent-worke',
    '/usr/bin/ssm-agent-worker',
    'Sl',
    44_716,
    2_038_612,
    12,
    ssm.pid,
  );
  daemon(6.2, 'root', 0, 'containerd', '/usr/bin/containerd', 'Ssl', 71_328, 2_356_160, 14);
  const kubeletStarted = picture.booted.kubeletStartAt;
  const kubeletArgs = al2023
    ? `/usr/bin/kubelet --node-ip=${node.privateIp} --hostname-override=${hostnameOf(node)} --cloud-provider=external --config=/etc/kubernetes/kubelet/config.json --config-dir=/etc/kubernetes/kubelet/config.json.d --kubeconfig=/var/lib/kubelet/kubeconfig --image-credential-provider-bin-dir=/etc/eks/image-credential-provider --image-credential-provider-config=/etc/eks/image-credential-provider/config.json --node-labels=eks.amazonaws.com/nodegroup-image=${node.amiId},eks.amazonaws.com/capacityType=ON_DEMAND,eks.amazonaws.com/nodegroup=${node.clusterName}-ng`
    : `/usr/bin/kubelet --config /etc/kubernetes/kubelet/kubelet-config.json --kubeconfig /var/lib/kubelet/kubeconfig --container-runtime-endpoint unix:///run/containerd/containerd.sock --image-credential-provider-config /etc/eks/image-credential-provider/config.json --image-credential-provider-bin-dir /etc/eks/image-credential-provider --node-ip=${node.privateIp} --pod-infra-container-image=602401143452.dkr.ecr.${node.region}.amazonaws.com/eks/pause:3.5 --v=2 --hostname-override=${hostnameOf(node)} --cloud-provider=external --node-labels=eks.amazonaws.com/nodegroup-image=${node.amiId},eks.amazonaws.com/capacityType=ON_DEMAND,eks.amazonaws.com/nodegroup=${node.clusterName}-ng --max-pods=29`;
  add({
    pid: node.kubeletPid,
    ppid: 1,
    user: 'root',
    uid: 0,
    comm: 'kubelet',
    args: kubeletArgs,
    stat: 'Ssl',
    startedAt: kubeletStarted,
    rssKb: 108_932,
    vszKb: 1_957_636,
    threads: 17,
  });

  for (const pod of sim.runningAt(node.collectedAt)) {
    const shim = add({
      pid: pidAt(pod.startedAt - 900_000),
      ppid: 1,
      user: 'root',
      uid: 0,
      comm: 'containerd-shim',
      args: `/usr/bin/containerd-shim-runc-v2 -namespace k8s.io -id ${pod.sandboxId} -address /run/containerd/containerd.sock`,
      stat: 'Sl',
      startedAt: pod.startedAt - 900_000,
      rssKb: random.int(11_000, 14_000),
      vszKb: 1_238_392,
      threads: 11,
    });
    const pause = add({
      pid: shim.pid + random.int(2, 6),
      ppid: shim.pid,
      user: '65535',
      uid: 65535,
      comm: 'pause',
      args: '/pause',
      stat: 'Ss',
      startedAt: pod.startedAt - 700_000,
      rssKb: 4,
      vszKb: 972,
      threads: 1,
    });
    for (const container of pod.spec.containers) {
      const id = pod.containerIds.get(container.name);
      if (!id) continue;
      const started = pod.containerStartedAt.get(container.name) ?? pod.startedAt;
      const pid = Math.max(pidAt(started), pause.pid + random.int(3, 9));
      const rss =
        container.comm === 'python3' || container.comm === 'java'
          ? random.int(380_000, 720_000)
          : random.int(18_000, 70_000);
      const list: Proc[] = [];
      if (container.comm === 'aws-k8s-agent') {
        const wrapper = add({
          pid,
          ppid: shim.pid,
          user: 'root',
          uid: 0,
          comm: 'aws-vpc-cni',
          args: '/app/aws-vpc-cni',
          stat: 'Ssl',
          startedAt: started,
          rssKb: 38_216,
          vszKb: 1_241_976,
          threads: 8,
        });
        list.push(
          wrapper,
          add({
            pid: pid + 33,
            ppid: wrapper.pid,
            user: 'root',
            uid: 0,
            comm: 'aws-k8s-agent',
            args: './aws-k8s-agent',
            stat: 'Sl',
            startedAt: started + 400_000,
            rssKb: 62_412,
            vszKb: 1_283_516,
            threads: 12,
          }),
        );
      } else {
        const user = container.user ?? 'root';
        list.push(
          add({
            pid,
            ppid: shim.pid,
            user,
            uid: user === 'root' ? 0 : Number(user) || 1000,
            comm: container.comm,
            args: container.args,
            stat: 'Ssl',
            startedAt: started,
            rssKb: rss,
            vszKb: Math.round(rss * 3.1 + 700_000),
            threads: container.comm === 'python3' ? 4 : 11,
          }),
        );
      }
      byContainer.set(id, list);
    }
  }
  // The collector's own process tree at the time it ran top/ps.
  const documentWorker = add({
    pid: picture.cpu.lastPid - 40,
    ppid: ssmWorker.pid,
    user: 'root',
    uid: 0,
    comm: 'ssm-document-wo',
    args: `/usr/bin/ssm-document-worker ${random.uuid()} ${random.uuid()}`,
    stat: 'Sl',
    startedAt: node.collectedAt - 20 * SECOND,
    rssKb: 29_940,
    vszKb: 1_914_728,
    threads: 9,
  });
  const shell = add({
    pid: picture.cpu.lastPid - 31,
    ppid: documentWorker.pid,
    user: 'root',
    uid: 0,
    comm: 'sh',
    args: `sh -c /var/lib/amazon/ssm/${node.instanceId}/document/orchestration/${random.uuid()}/awsrunShellScript/0.awsrunShellScript/_script.sh`,
    stat: 'S',
    startedAt: node.collectedAt - 19 * SECOND,
    rssKb: 3_412,
    vszKb: 222_496,
    threads: 1,
  });
  if (picture.collector === 'eks-node-diag') {
    const agent = add({
      pid: picture.cpu.lastPid - 24,
      ppid: shell.pid,
      user: 'root',
      uid: 0,
      comm: 'eks-node-diag-a',
      args: `/tmp/eks-node-diag-agent collect --out /var/log/eks-node-diag_${node.instanceId}.tar.gz`,
      stat: 'Sl',
      startedAt: node.collectedAt - 18 * SECOND,
      rssKb: 61_208,
      vszKb: 1_184_220,
      threads: 11,
      nice: 10,
    });
    if (tool === 'top')
      add({
        pid: picture.cpu.lastPid - 2,
        ppid: agent.pid,
        user: 'root',
        uid: 0,
        comm: 'top',
        args: 'top -b -n 1',
        stat: 'R',
        startedAt: node.collectedAt,
        rssKb: 4_380,
        vszKb: 226_232,
        threads: 1,
        nice: 10,
      });
    else
      add({
        pid: picture.cpu.lastPid,
        ppid: agent.pid,
        user: 'root',
        uid: 0,
        comm: 'ps',
        args: 'ps fauxwww --headers',
        stat: 'R',
        startedAt: node.collectedAt,
        rssKb: 4_196,
        vszKb: 224_520,
        threads: 1,
        nice: 10,
      });
  } else {
    const script = add({
      pid: picture.cpu.lastPid - 24,
      ppid: shell.pid,
      user: 'root',
      uid: 0,
      comm: 'bash',
      args: 'bash /opt/cni/bin/aws-cni-support.sh',
      stat: 'S',
      startedAt: node.collectedAt - 18 * SECOND,
      rssKb: 4_332,
      vszKb: 222_884,
      threads: 1,
    });
    const last = tool === 'top' ? picture.cpu.lastPid - 3 : picture.cpu.lastPid;
    const command = tool === 'top' ? 'top -b -n 1' : 'ps fauxwww --headers';
    const timeout = add({
      pid: last - 1,
      ppid: script.pid,
      user: 'root',
      uid: 0,
      comm: 'timeout',
      args: `timeout 75 ${command}`,
      stat: 'S',
      startedAt: node.collectedAt,
      rssKb: 1_012,
      vszKb: 216_132,
      threads: 1,
    });
    add({
      pid: last,
      ppid: timeout.pid,
      user: 'root',
      uid: 0,
      comm: tool,
      args: command,
      stat: 'R',
      startedAt: node.collectedAt,
      rssKb: 4_380,
      vszKb: 226_232,
      threads: 1,
    });
  }
  for (const worker of kworkers(node, random, picture.cpu.lastPid, node.cpuCount * 3 + 2)) {
    if (used.has(worker.pid)) continue;
    used.add(worker.pid);
    procs.push(worker);
  }
  return { procs: procs.sort((a, b) => a.pid - b.pid), byContainer };
}
