/**
 * The files eks-log-collector.sh writes that our agent does not model in detail: storage, packages, units,
 * network tools (ifconfig, ethtool, ping, curl), containerd's ctr listings, cloud-init and cron logs, container logs.
 * Each mirrors the real command's text layout; volumes are kept modest.
 */
import { hostnameOf, type NodeProfile, primaryInterfaceOf, secondaryInterfaceOf, shortHostnameOf } from './node.ts';
import { macOf } from './node-extras.ts';
import { createRandom } from './random.ts';
import type { NodeSimulation } from './simulation.ts';
import { ctime, isoMillis, type Micros, SECOND, syslogTime } from './time.ts';
import { hostVeth } from './vpc-cni.ts';

const human = (bytes: number): string => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
};

export function selinuxTxt(node: NodeProfile): string {
  return `SELinux mode:\n\t ${node.os === 'al2023' ? 'Permissive' : 'Disabled'}\n`;
}

export function scriptParams(): string {
  return 'ignore_introspection: false\nignore_metrics: false\n';
}

const AL2_PACKAGES = [
  'kernel-5.10.234-225.910.amzn2',
  'glibc-2.26-64.amzn2.0.4',
  'bash-4.2.46-34.amzn2',
  'systemd-219-78.amzn2.0.22',
  'iptables-1.8.4-10.amzn2.1.2',
  'iptables-libs-1.8.4-10.amzn2.1.2',
  'iproute-5.10.0-2.amzn2.0.3',
  'procps-ng-3.3.10-26.amzn2.0.2',
  'containerd-1.7.22-1.amzn2.0.1',
  'runc-1.1.14-1.amzn2',
  'kubelet-1.29.10-1.amzn2',
  'amazon-ssm-agent-3.3.1142.0-1.amzn2',
  'aws-cfn-bootstrap-2.0-31.amzn2',
  'awscli-1.18.147-1.amzn2.0.1',
  'cloud-init-19.3-46.amzn2.0.4',
  'chrony-4.2-5.amzn2.0.2',
  'conntrack-tools-1.4.4-5.amzn2.2',
  'curl-8.3.0-1.amzn2.0.8',
  'libcurl-8.3.0-1.amzn2.0.8',
  'openssl-libs-1.0.2k-24.amzn2.0.14',
  'openssh-server-7.4p1-22.amzn2.0.10',
  'openssh-clients-7.4p1-22.amzn2.0.10',
  'rsyslog-8.24.0-57.amzn2.2.0.2',
  'postfix-2.10.1-6.amzn2.0.3',
  'cronie-1.4.11-23.amzn2',
  'lvm2-2.02.187-6.amzn2.5',
  'xfsprogs-5.0.0-10.amzn2.0.1',
  'ethtool-4.8-10.amzn2',
  'net-tools-2.0-0.22.20131004git.amzn2.0.2',
  'ipvsadm-1.27-8.amzn2',
  'ipset-7.1-1.amzn2.0.2',
  'nfs-utils-1.3.0-0.54.amzn2.0.2',
  'jq-1.5-1.amzn2.0.2',
  'socat-1.7.3.2-2.amzn2.0.1',
  'sudo-1.8.23-10.amzn2.3.3',
  'yum-3.4.3-158.amzn2.0.7',
  'rpm-4.11.3-48.amzn2.0.4',
  'python-2.7.18-1.amzn2.0.11',
  'python3-3.7.16-1.amzn2.0.9',
  'ec2-net-utils-1.7.3-1.amzn2',
  'ec2-instance-connect-1.1-19.amzn2',
  'amazon-linux-extras-2.0.3-1.amzn2',
  'dhclient-4.2.5-79.amzn2.1.5',
  'tar-1.26-35.amzn2.0.3',
  'gzip-1.5-10.amzn2.0.1',
  'util-linux-2.30.2-2.amzn2.0.11',
  'e2fsprogs-1.42.9-19.amzn2.0.1',
  'kmod-25-3.amzn2.0.2',
  'selinux-policy-3.13.1-192.amzn2.6.11',
  'libselinux-utils-2.5-12.amzn2.0.2',
  'ca-certificates-2023.2.64-1.amzn2.0.1',
  'tzdata-2025a-1.amzn2.0.1',
  'less-458-9.amzn2.0.2',
  'vim-minimal-9.0.2153-1.amzn2.0.1',
  'wget-1.14-18.amzn2.1',
];

export function pkglist(node: NodeProfile): string {
  const random = createRandom(`rpm/${node.seed}`);
  return `${[...AL2_PACKAGES]
    .sort(() => random.next() - 0.5)
    .map((name) => `${name}.${name.startsWith('ca-') || name.startsWith('tzdata') ? 'noarch' : 'x86_64'}`)
    .join('\n')}\n`;
}

export function servicesTxt(node: NodeProfile): string {
  const al2 = node.os !== 'al2023';
  const units: [string, string, string, string][] = [
    [
      'proc-sys-fs-binfmt_misc.automount',
      'active',
      'waiting',
      'Arbitrary Executable File Formats File System Automount Point',
    ],
    [
      'sys-devices-pci0000:00-0000:00:04.0-nvme-nvme0-nvme0n1-nvme0n1p1.device',
      'active',
      'plugged',
      'Amazon Elastic Block Store /',
    ],
    ['sys-subsystem-net-devices-eth0.device', 'active', 'plugged', 'Elastic Network Adapter (ENA)'],
    ['-.mount', 'active', 'mounted', '/'],
    ['dev-hugepages.mount', 'active', 'mounted', 'Huge Pages File System'],
    ['dev-mqueue.mount', 'active', 'mounted', 'POSIX Message Queue File System'],
    ['sys-kernel-debug.mount', 'active', 'mounted', 'Debug File System'],
    [
      'run-containerd-io.containerd.runtime.v2.task-k8s.io-0f2a…-rootfs.mount',
      'active',
      'mounted',
      '/run/containerd/io.containerd.runtime.v2.task/k8s.io/0f2a…/rootfs',
    ],
    ['acpid.service', 'active', 'running', 'ACPI Event Daemon'],
    ['amazon-ssm-agent.service', 'active', 'running', 'amazon-ssm-agent'],
    ['atd.service', 'active', 'running', 'Job spooling tools'],
    ['auditd.service', 'active', 'running', 'Security Auditing Service'],
    ['chronyd.service', 'active', 'running', 'NTP client/server'],
    ['cloud-config.service', 'active', 'exited', 'Apply the settings specified in cloud-config'],
    ['cloud-final.service', 'active', 'exited', 'Execute cloud user/final scripts'],
    ['cloud-init-local.service', 'active', 'exited', 'Initial cloud-init job (pre-networking)'],
    ['cloud-init.service', 'active', 'exited', 'Initial cloud-init job (metadata service crawler)'],
    ['containerd.service', 'active', 'running', 'containerd container runtime'],
    ['crond.service', 'active', 'running', 'Command Scheduler'],
    ['dbus.service', 'active', 'running', 'D-Bus System Message Bus'],
    ['getty@tty1.service', 'active', 'running', 'Getty on tty1'],
    ['gssproxy.service', 'active', 'running', 'GSSAPI Proxy Daemon'],
    ['irqbalance.service', 'active', 'running', 'irqbalance daemon'],
    ['kubelet.service', 'active', 'running', 'Kubernetes Kubelet'],
    ['network.service', 'active', 'exited', 'LSB: Bring up/down networking'],
    ['postfix.service', 'active', 'running', 'Postfix Mail Transport Agent'],
    ['rngd.service', 'active', 'running', 'Hardware RNG Entropy Gatherer Daemon'],
    ['rsyslog.service', 'active', 'running', 'System Logging Service'],
    ['sandbox-image.service', 'active', 'exited', 'pull sandbox image defined in containerd config.toml'],
    ['serial-getty@ttyS0.service', 'active', 'running', 'Serial Getty on ttyS0'],
    ['sshd.service', 'active', 'running', 'OpenSSH server daemon'],
    ['systemd-journald.service', 'active', 'running', 'Journal Service'],
    ['systemd-logind.service', 'active', 'running', 'Login Service'],
    ['systemd-udevd.service', 'active', 'running', 'udev Kernel Device Manager'],
    ['-.slice', 'active', 'active', 'Root Slice'],
    ['kubepods.slice', 'active', 'active', 'libcontainer container kubepods.slice'],
    ['kubepods-besteffort.slice', 'active', 'active', 'libcontainer container kubepods-besteffort.slice'],
    ['kubepods-burstable.slice', 'active', 'active', 'libcontainer container kubepods-burstable.slice'],
    ['runtime.slice', 'active', 'active', 'Kubernetes and container runtime slice'],
    ['system.slice', 'active', 'active', 'System Slice'],
    ['dbus.socket', 'active', 'running', 'D-Bus System Message Bus Socket'],
    ['systemd-journald.socket', 'active', 'running', 'Journal Socket'],
    ['basic.target', 'active', 'active', 'Basic System'],
    ['multi-user.target', 'active', 'active', 'Multi-User System'],
    ['network-online.target', 'active', 'active', 'Network is Online'],
    ['systemd-tmpfiles-clean.timer', 'active', 'waiting', 'Daily Cleanup of Temporary Directories'],
  ].filter(
    ([unit]) =>
      al2 ||
      ![
        'network.service',
        'postfix.service',
        'rngd.service',
        'rsyslog.service',
        'sandbox-image.service',
        'acpid.service',
        'atd.service',
      ].includes(unit as string),
  ) as [string, string, string, string][];
  const width = Math.max(...units.map(([unit]) => unit.length)) + 1;
  const lines = [`${'UNIT'.padEnd(width)} LOAD   ACTIVE SUB       DESCRIPTION`];
  for (const [unit, active, sub, description] of units)
    lines.push(`${unit.padEnd(width)} loaded ${active.padEnd(6)} ${sub.padEnd(9)} ${description}`);
  lines.push(
    '',
    'LOAD   = Reflects whether the unit definition was properly loaded.',
    'ACTIVE = The high-level unit activation state, i.e. generalization of SUB.',
    'SUB    = The low-level unit activation state, values depend on unit type.',
    '',
    `${units.length} loaded units listed. Pass --all to see loaded but inactive units, too.`,
    "To show all installed unit files use 'systemctl list-unit-files'.",
  );
  return `${lines.join('\n')}\n`;
}

export function systemdAnalyzeSvg(node: NodeProfile): string {
  return `<?xml version="1.0" standalone="no"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg width="1474px" height="2460px" version="1.1" xmlns="http://www.w3.org/2000/svg">
<!-- This file is a systemd-analyze SVG file. It is best rendered in a   -->
<!-- browser such as Chrome, Chromium or Firefox. Other applications     -->
<!-- that render these files properly but much slower are ImageMagick,   -->
<!-- gimp, inkscape, etc. To display the files on your system, just      -->
<!-- point your browser to this file.                                    -->
<defs><style type="text/css"><![CDATA[rect { stroke-width: 1; stroke-opacity: 0; } rect.kernel { fill: rgb(150,150,150); fill-opacity: 0.7; } text { font-family: Verdana, Helvetica; font-size: 14px; }]]></style></defs>
<rect class="background" width="100%" height="100%" />
<text x="20" y="50">Startup finished in 1.421s (kernel) + 2.905s (initrd) + 13.226s (userspace) = 17.553s</text><text x="20" y="30">${node.kernel} (${hostnameOf(node)})</text>
<g transform="translate(20.000,100)">
<rect class="kernel" x="0.000" y="0.000" width="142.100" height="19.000" /><text x="151.100" y="14.000">kernel</text>
<rect class="activating" x="1432.600" y="920.000" width="13.400" height="19.000" /><text x="1449.000" y="934.000">kubelet.service (134ms)</text>
</g>
</svg>
`;
}

export function lastReboot(node: NodeProfile): string {
  return `reboot   system boot  ${node.kernel.slice(0, 16).padEnd(16)} ${ctime(node.bootAt).slice(0, 16)}   still running\n\nwtmp begins ${ctime(node.bootAt)}\n`;
}

export function netstat(node: NodeProfile, kubeletPid: number, pidOf: (comm: string) => number): string {
  const random = createRandom(`netstat/${node.seed}`);
  const rows: [string, string, string, string, string][] = [
    ['tcp', '127.0.0.1:10248', '0.0.0.0:*', 'LISTEN', `${kubeletPid}/kubelet`],
    ['tcp', '127.0.0.1:10249', '0.0.0.0:*', 'LISTEN', `${pidOf('kube-proxy')}/kube-proxy`],
    ['tcp', '127.0.0.1:50051', '0.0.0.0:*', 'LISTEN', `${pidOf('aws-k8s-agent')}/./aws-k8s-agen`],
    ['tcp', '127.0.0.1:61679', '0.0.0.0:*', 'LISTEN', `${pidOf('aws-k8s-agent')}/./aws-k8s-agen`],
    ['tcp', `127.0.0.1:${random.int(35000, 45000)}`, '0.0.0.0:*', 'LISTEN', `${pidOf('containerd')}/containerd`],
    ['tcp', '0.0.0.0:22', '0.0.0.0:*', 'LISTEN', `${pidOf('sshd')}/sshd`],
    [
      'tcp',
      `${node.privateIp}:${random.int(40000, 60000)}`,
      `${node.vpcCidr.replace(/\.0\/\d+$/, '')}.${random.int(100, 200)}.${random.int(2, 250)}:443`,
      'ESTABLISHED',
      `${kubeletPid}/kubelet`,
    ],
    [
      'tcp',
      `${node.privateIp}:${random.int(40000, 60000)}`,
      `${node.vpcCidr.replace(/\.0\/\d+$/, '')}.${random.int(100, 200)}.${random.int(2, 250)}:443`,
      'ESTABLISHED',
      `${pidOf('kube-proxy')}/kube-proxy`,
    ],
    [
      'tcp',
      `${node.privateIp}:${random.int(40000, 60000)}`,
      `${node.vpcCidr.replace(/\.0\/\d+$/, '')}.${random.int(100, 200)}.${random.int(2, 250)}:443`,
      'ESTABLISHED',
      `${pidOf('aws-k8s-agent')}/./aws-k8s-agen`,
    ],
    [
      'tcp',
      `${node.privateIp}:${random.int(40000, 60000)}`,
      '52.94.177.16:443',
      'ESTABLISHED',
      `${pidOf('amazon-ssm-agen')}/amazon-ssm-agen`,
    ],
    ['tcp6', ':::10250', ':::*', 'LISTEN', `${kubeletPid}/kubelet`],
    ['tcp6', ':::10256', ':::*', 'LISTEN', `${pidOf('kube-proxy')}/kube-proxy`],
    ['tcp6', ':::61678', ':::*', 'LISTEN', `${pidOf('aws-k8s-agent')}/./aws-k8s-agen`],
    ['tcp6', ':::8162', ':::*', 'LISTEN', `${pidOf('controller')}/controller`],
    ['tcp6', ':::8163', ':::*', 'LISTEN', `${pidOf('controller')}/controller`],
    ['tcp6', ':::22', ':::*', 'LISTEN', `${pidOf('sshd')}/sshd`],
  ];
  const lines = [
    'Active Internet connections (servers and established)',
    'Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name    ',
    ...rows.map(
      ([proto, local, foreign, state, program]) =>
        `${proto.padEnd(5)} ${'0'.padStart(6)} ${'0'.padStart(6)} ${local.padEnd(23)} ${foreign.padEnd(23)} ${state.padEnd(11)} ${program.padEnd(20)}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

export function storageFiles(
  node: NodeProfile,
  sim: NodeSimulation,
): { mounts: string; inodes: string; lsblk: string; fstab: string; xfs: string; podLocal: string } {
  const random = createRandom(`storage/${node.seed}`);
  const running = sim.runningAt(node.collectedAt);
  const cgroupV1 = node.os !== 'al2023';
  const mounts = [
    'sysfs on /sys type sysfs (rw,nosuid,nodev,noexec,relatime)',
    'proc on /proc type proc (rw,nosuid,nodev,noexec,relatime)',
    `devtmpfs on /dev type devtmpfs (rw,nosuid,size=${Math.round(node.memTotalKb / 2)}k,nr_inodes=${Math.round(node.memTotalKb / 8)},mode=755)`,
    'securityfs on /sys/kernel/security type securityfs (rw,nosuid,nodev,noexec,relatime)',
    'tmpfs on /dev/shm type tmpfs (rw,nosuid,nodev)',
    'devpts on /dev/pts type devpts (rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=000)',
    'tmpfs on /run type tmpfs (rw,nosuid,nodev,mode=755)',
    ...(cgroupV1
      ? [
          'tmpfs on /sys/fs/cgroup type tmpfs (ro,nosuid,nodev,noexec,mode=755)',
          'cgroup on /sys/fs/cgroup/systemd type cgroup (rw,nosuid,nodev,noexec,relatime,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd)',
          'cgroup on /sys/fs/cgroup/cpu,cpuacct type cgroup (rw,nosuid,nodev,noexec,relatime,cpu,cpuacct)',
          'cgroup on /sys/fs/cgroup/memory type cgroup (rw,nosuid,nodev,noexec,relatime,memory)',
          'cgroup on /sys/fs/cgroup/pids type cgroup (rw,nosuid,nodev,noexec,relatime,pids)',
          'cgroup on /sys/fs/cgroup/blkio type cgroup (rw,nosuid,nodev,noexec,relatime,blkio)',
          'cgroup on /sys/fs/cgroup/cpuset type cgroup (rw,nosuid,nodev,noexec,relatime,cpuset)',
          'cgroup on /sys/fs/cgroup/net_cls,net_prio type cgroup (rw,nosuid,nodev,noexec,relatime,net_cls,net_prio)',
          'cgroup on /sys/fs/cgroup/devices type cgroup (rw,nosuid,nodev,noexec,relatime,devices)',
          'cgroup on /sys/fs/cgroup/freezer type cgroup (rw,nosuid,nodev,noexec,relatime,freezer)',
          'cgroup on /sys/fs/cgroup/hugetlb type cgroup (rw,nosuid,nodev,noexec,relatime,hugetlb)',
          'cgroup on /sys/fs/cgroup/perf_event type cgroup (rw,nosuid,nodev,noexec,relatime,perf_event)',
        ]
      : [
          'cgroup2 on /sys/fs/cgroup type cgroup2 (rw,nosuid,nodev,noexec,relatime,seclabel,nsdelegate,memory_recursiveprot)',
        ]),
    '/dev/nvme0n1p1 on / type xfs (rw,noatime,attr2,inode64,logbufs=8,logbsize=32k,sunit=1024,swidth=1024,noquota)',
    'mqueue on /dev/mqueue type mqueue (rw,relatime)',
    'hugetlbfs on /dev/hugepages type hugetlbfs (rw,relatime,pagesize=2M)',
    'debugfs on /sys/kernel/debug type debugfs (rw,relatime)',
    'binfmt_misc on /proc/sys/fs/binfmt_misc type binfmt_misc (rw,relatime)',
  ];
  const podLocal: string[] = [];
  let snapshot = random.int(80, 120);
  for (const pod of running) {
    mounts.push(
      `tmpfs on /var/lib/kubelet/pods/${pod.uid}/volumes/kubernetes.io~projected/${pod.apiVolume} type tmpfs (rw,relatime,size=${random.int(170, 2000) * 1024}k)`,
    );
    if (!pod.spec.hostNetwork) mounts.push(`nsfs on /run/netns/${pod.netns.split('/').at(-1)} type nsfs (rw)`);
    mounts.push(
      `shm on /run/containerd/io.containerd.grpc.v1.cri/sandboxes/${pod.sandboxId}/shm type tmpfs (rw,nosuid,nodev,noexec,relatime,size=65536k)`,
    );
    for (const id of [pod.sandboxId, ...pod.containerIds.values()]) {
      snapshot += random.int(1, 9);
      const upper = `/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/${snapshot}/fs`;
      mounts.push(
        `overlay on /run/containerd/io.containerd.runtime.v2.task/k8s.io/${id}/rootfs type overlay (rw,relatime,lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/${snapshot - 1}/fs,upperdir=${upper},workdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/${snapshot}/work)`,
      );
      if (id !== pod.sandboxId && random.chance(0.7))
        podLocal.push(`${random.pick(['4.0K', '8.0K', '12K', '20K', '36K', '112K', '1.4M', '3.2M'])}\t${upper}`);
    }
  }
  const usedGb = random.int(9, 19);
  const df = [
    'Filesystem      Size  Used Avail Use% Mounted on',
    `devtmpfs        ${(node.memTotalKb / 2 / 1048576).toFixed(1)}G     0  ${(node.memTotalKb / 2 / 1048576).toFixed(1)}G   0% /dev`,
    `tmpfs           ${(node.memTotalKb / 2 / 1048576).toFixed(1)}G     0  ${(node.memTotalKb / 2 / 1048576).toFixed(1)}G   0% /dev/shm`,
    `tmpfs           ${(node.memTotalKb / 2 / 1048576).toFixed(1)}G  1.4M  ${(node.memTotalKb / 2 / 1048576).toFixed(1)}G   1% /run`,
    `/dev/nvme0n1p1   80G   ${usedGb}G   ${80 - usedGb}G  ${Math.round((usedGb / 80) * 100)}% /`,
  ];
  const inodes = [
    'Filesystem       Inodes  IUsed    IFree IUse% Mounted on',
    `devtmpfs        ${String(Math.round(node.memTotalKb / 8)).padStart(7)}    ${random.int(300, 400)}  ${String(Math.round(node.memTotalKb / 8) - 350).padStart(7)}    1% /dev`,
    `/dev/nvme0n1p1 41942512 ${random.int(180000, 420000)} 41600000    1% /`,
  ];
  return {
    mounts: `${mounts.join('\n')}\n\n${df.join('\n')}\n`,
    inodes: `${inodes.join('\n')}\n`,
    lsblk:
      'NAME          MAJ:MIN RM SIZE RO TYPE MOUNTPOINT\nnvme0n1       259:0    0  80G  0 disk \n├─nvme0n1p1   259:1    0  80G  0 part /\n└─nvme0n1p128 259:2    0   1M  0 part \n',
    fstab: `#\nUUID=${random.uuid()}     /           xfs    defaults,noatime  1   1\n`,
    xfs: `meta-data=/dev/nvme0n1p1         isize=512    agcount=41, agsize=524159 blks
         =                       sectsz=512   attr=2, projid32bit=1
         =                       crc=1        finobt=1, sparse=1, rmapbt=0
         =                       reflink=0    bigtime=0 inobtcount=0
data     =                       bsize=4096   blocks=20971003, imaxpct=25
         =                       sunit=128    swidth=128 blks
naming   =version 2              bsize=4096   ascii-ci=0, ftype=1
log      =internal log           bsize=4096   blocks=2560, version=2
         =                       sectsz=512   sunit=0 blks, lazy-count=1
realtime =none                   extsz=4096   blocks=0, rtextents=0
   from      to extents  blocks    pct
      1       1    2214    2214   0.03
      2       3    1412    3319   0.05
      4       7     904    4781   0.07
      8      15     611    6670   0.10
     16      31     388    8520   0.13
     32      63     241   10402   0.16
     64     127     137   12011   0.18
    128     255      96   17402   0.27
    256     511      61   21994   0.34
    512    1023      40   29115   0.45
   1024    2047      28   40012   0.61
   2048    4095      23   66112   1.01
   4096    8191      19  109904   1.68
   8192   16383      14  166092   2.54
  16384   32767      11  257332   3.94
  32768   65535       9  412009   6.31
  65536  131071       7  660112  10.10
 131072  262143       6 1180445  18.06
 262144  524159       9 3511770  53.74
total free extents 6230
total free blocks 6535418
average free extent size 1049.02
`,
    podLocal: `${podLocal.join('\n')}${podLocal.length ? '\n' : ''}`,
  };
}

export function ifconfigTxt(node: NodeProfile, sim: NodeSimulation): string {
  const random = createRandom(`ifconfig/${node.seed}`);
  const [, bits] = node.subnetCidr.split('/') as [string, string];
  const maskBits = Number(bits);
  const mask = [24, 16, 8, 0].map((shift) => (((0xffffffff << (32 - maskBits)) >>> 0) >>> shift) & 255).join('.');
  const block = (
    name: string,
    flags: string,
    mtu: number,
    inet: string | undefined,
    ether: string,
    rx: number,
    tx: number,
  ): string[] => {
    const rxBytes = rx * random.int(300, 900);
    const txBytes = tx * random.int(150, 400);
    return [
      `${name}: flags=${flags}  mtu ${mtu}`,
      ...(inet ? [inet] : []),
      `        inet6 fe80::${random.hex(2)}:${random.hex(2)}ff:fe${random.hex(2)}:${random.hex(4)}  prefixlen 64  scopeid 0x20<link>`,
      `        ether ${ether}  txqueuelen ${name.startsWith('eni') ? 0 : 1000}  (Ethernet)`,
      `        RX packets ${rx}  bytes ${rxBytes} (${human(rxBytes)})`,
      '        RX errors 0  dropped 0  overruns 0  frame 0',
      `        TX packets ${tx}  bytes ${txBytes} (${human(txBytes)})`,
      '        TX errors 0  dropped 0 overruns 0  carrier 0  collisions 0',
      '',
    ];
  };
  const out: string[] = [];
  for (const eni of sim.enis) {
    const name = eni.deviceNumber === 0 ? primaryInterfaceOf(node) : secondaryInterfaceOf(node, eni.deviceNumber);
    out.push(
      ...block(
        name,
        '4163<UP,BROADCAST,RUNNING,MULTICAST>',
        9001,
        `        inet ${eni.primaryIp}  netmask ${mask}  broadcast ${node.subnetCidr.replace(/\.\d+\/\d+$/, '.255')}`,
        macOf(node, eni.deviceNumber),
        random.int(200_000, 4_000_000),
        random.int(150_000, 3_000_000),
      ),
    );
  }
  for (const pod of sim.runningAt(node.collectedAt)) {
    if (!pod.ip) continue;
    out.push(
      ...block(
        hostVeth(`${pod.spec.namespace}.${pod.spec.name}`),
        '4163<UP,BROADCAST,RUNNING,MULTICAST>',
        9001,
        undefined,
        `${random.hex(2)}:${random.hex(2)}:${random.hex(2)}:${random.hex(2)}:${random.hex(2)}:${random.hex(2)}`,
        random.int(1_000, 90_000),
        random.int(1_000, 90_000),
      ),
    );
  }
  out.push(
    'lo: flags=73<UP,LOOPBACK,RUNNING>  mtu 65536',
    '        inet 127.0.0.1  netmask 255.0.0.0',
    '        inet6 ::1  prefixlen 128  scopeid 0x10<host>',
    '        loop  txqueuelen 1000  (Local Loopback)',
  );
  const lo = random.int(100_000, 900_000);
  out.push(
    `        RX packets ${lo}  bytes ${lo * 140} (${human(lo * 140)})`,
    '        RX errors 0  dropped 0  overruns 0  frame 0',
    `        TX packets ${lo}  bytes ${lo * 140} (${human(lo * 140)})`,
    '        TX errors 0  dropped 0 overruns 0  carrier 0  collisions 0',
    '',
  );
  return `${out.join('\n')}\n`;
}

/** `ethtool -S` for every interface with an address, each preceded by `Interface <name>` and followed by two newlines. */
export function ethtoolTxt(node: NodeProfile, sim: NodeSimulation): string {
  const random = createRandom(`ethtool/${node.seed}`);
  const names = [
    'lo',
    ...sim.enis.map((eni) =>
      eni.deviceNumber === 0 ? primaryInterfaceOf(node) : secondaryInterfaceOf(node, eni.deviceNumber),
    ),
  ];
  for (const pod of sim.runningAt(node.collectedAt))
    if (pod.ip) names.push(hostVeth(`${pod.spec.namespace}.${pod.spec.name}`));
  const out: string[] = [];
  for (const name of [...names].sort()) {
    out.push(`Interface ${name}`);
    if (name === 'lo') out.push('no stats available');
    else if (name.startsWith('eni'))
      out.push(
        'NIC statistics:',
        `     peer_ifindex: 3`,
        '     rx_queue_0_xdp_packets: 0',
        '     rx_queue_0_xdp_bytes: 0',
        '     rx_queue_0_drops: 0',
        '     tx_queue_0_xdp_xmit: 0',
        '     tx_queue_0_xdp_xmit_err: 0',
      );
    else {
      out.push(
        'NIC statistics:',
        '     tx_timeout: 0',
        '     suspend: 0',
        '     resume: 0',
        '     wd_expired: 0',
        '     interface_up: 2',
        '     interface_down: 1',
        '     admin_q_pause: 0',
      );
      for (const counter of [
        'bw_in_allowance_exceeded',
        'bw_out_allowance_exceeded',
        'pps_allowance_exceeded',
        'conntrack_allowance_exceeded',
        'linklocal_allowance_exceeded',
      ])
        out.push(`     ${counter}: 0`);
      for (let queue = 0; queue < node.cpuCount; queue++) {
        out.push(
          `     queue_${queue}_tx_cnt: ${random.int(100_000, 4_000_000)}`,
          `     queue_${queue}_tx_bytes: ${random.int(50_000_000, 900_000_000)}`,
          `     queue_${queue}_tx_queue_stop: 0`,
          `     queue_${queue}_tx_queue_wakeup: 0`,
          `     queue_${queue}_rx_cnt: ${random.int(100_000, 4_000_000)}`,
          `     queue_${queue}_rx_bytes: ${random.int(50_000_000, 900_000_000)}`,
          `     queue_${queue}_rx_refil_partial: 0`,
          `     queue_${queue}_rx_bad_csum: 0`,
        );
      }
      out.push(
        '     ena_admin_q_aborted_cmd: 0',
        `     ena_admin_q_submitted_cmd: ${random.int(40, 400)}`,
        `     ena_admin_q_completed_cmd: ${random.int(40, 400)}`,
        '     ena_admin_q_out_of_space: 0',
        '     ena_admin_q_no_completion: 0',
      );
    }
    out.push('', '');
  }
  return `${out.join('\n')}\n`;
}

export function pingTxt(host: string, address: string, rttMs: number, seed: string): string {
  const random = createRandom(`ping/${seed}/${host}`);
  const lines = [`PING ${host} (${address}) 56(84) bytes of data.`];
  const times: number[] = [];
  for (let seq = 1; seq <= 10; seq++) {
    const time = rttMs + random.float(-0.2, 0.4);
    times.push(time);
    lines.push(
      `64 bytes from ${address} (${address}): icmp_seq=${seq} ttl=${host === 'amazon.com' ? 239 : 249} time=${time.toFixed(time < 10 ? 2 : 1)} ms`,
    );
  }
  const avg = times.reduce((a, b) => a + b, 0) / times.length;
  lines.push(
    '',
    `--- ${host} ping statistics ---`,
    `10 packets transmitted, 10 received, 0% packet loss, time ${Math.round(avg * 9 + 40)}ms`,
  );
  lines.push(
    `rtt min/avg/max/mdev = ${Math.min(...times).toFixed(3)}/${avg.toFixed(3)}/${Math.max(...times).toFixed(3)}/0.${random.int(80, 199)} ms, ipg/ewma ${(avg + 0.9).toFixed(3)}/${avg.toFixed(3)} ms`,
  );
  return `${lines.join('\n')}\n`;
}

/** Five `curl -v … /livez?verbose` calls against the API server, each announced by `curling <server> (i of 5) <time>`. */
export function curlApiServer(node: NodeProfile, at: Micros): string {
  const random = createRandom(`curl/${node.seed}`);
  const host = node.apiServerEndpoint.replace('https://', '');
  const ips = [
    `${node.vpcCidr.replace(/\.0\.0\/\d+$/, '')}.${random.int(100, 200)}.${random.int(2, 250)}`,
    `${node.vpcCidr.replace(/\.0\.0\/\d+$/, '')}.${random.int(100, 200)}.${random.int(2, 250)}`,
  ];
  const out: string[] = [];
  const checks = [
    'ping',
    'log',
    'etcd',
    'kms-providers',
    'poststarthook/start-apiserver-admission-initializer',
    'poststarthook/generic-apiserver-start-informers',
    'poststarthook/priority-and-fairness-config-consumer',
    'poststarthook/start-apiextensions-informers',
    'poststarthook/start-apiextensions-controllers',
    'poststarthook/crd-informer-synced',
    'poststarthook/rbac/bootstrap-roles',
    'poststarthook/scheduling/bootstrap-system-priority-classes',
    'poststarthook/apiservice-registration-controller',
    'poststarthook/apiservice-discovery-controller',
    'autoregister-completion',
  ];
  for (let index = 1; index <= 5; index++) {
    const ip = ips[index % 2] as string;
    const time = at + index * 410_000;
    out.push(`curling ${node.apiServerEndpoint} (${index} of 5) ${isoMillis(time).replace('Z', 'UTC')}`, '', '');
    out.push(
      `*   Trying ${ip}:443...`,
      `* Connected to ${host} (${ip}) port 443 (#0)`,
      '* ALPN: offers h2,http/1.1',
      '} [5 bytes data]',
      '* TLSv1.3 (OUT), TLS handshake, Client hello (1):',
      '} [512 bytes data]',
      '*  CAfile: /etc/kubernetes/pki/ca.crt',
      '*  CApath: none',
      '{ [5 bytes data]',
      '* TLSv1.3 (IN), TLS handshake, Server hello (2):',
      '* SSL connection using TLSv1.3 / TLS_AES_128_GCM_SHA256',
      '* ALPN: server accepted h2',
      '* Server certificate:',
      '*  subject: CN=kube-apiserver',
      `*  start date: ${ctime(node.bootAt - 86_400 * 200 * SECOND).slice(4)} GMT`,
      `*  expire date: ${ctime(node.bootAt + 86_400 * 165 * SECOND).slice(4)} GMT`,
      `*  subjectAltName: host "${host}" matched cert's "*.${host.split('.').slice(1).join('.')}"`,
      '*  issuer: CN=kubernetes',
      '*  SSL certificate verify ok.',
      '} [5 bytes data]',
      '* using HTTP/2',
      `* h2h3 [:method: GET]`,
      `* h2h3 [:path: /livez?verbose]`,
      `* h2h3 [:scheme: https]`,
      `* h2h3 [:authority: ${host}]`,
      '* h2h3 [user-agent: curl/8.3.0]',
      '* h2h3 [accept: */*]',
      `* Using Stream ID: 1 (easy handle 0x${random.hex(12)})`,
      '} [5 bytes data]',
      '> GET /livez?verbose HTTP/2',
      `> Host: ${host}`,
      '> User-Agent: curl/8.3.0',
      '> Accept: */*',
      '> ',
      '{ [5 bytes data]',
      '< HTTP/2 200 ',
      `< audit-id: ${random.uuid()}`,
      '< cache-control: no-cache, private',
      '< content-type: text/plain; charset=utf-8',
      '< x-content-type-options: nosniff',
      `< x-kubernetes-pf-flowschema-uid: ${random.uuid()}`,
      `< x-kubernetes-pf-prioritylevel-uid: ${random.uuid()}`,
      '< content-length: 807',
      `< date: ${new Date(Math.floor(time / 1000)).toUTCString()}`,
      '< ',
      '{ [807 bytes data]',
    );
    for (const check of checks) out.push(`[+]${check} ok`);
    out.push('livez check passed', `* Connection #0 to host ${host} left intact`);
  }
  return `${out.join('\n')}\n`;
}

/** `conntrack -S` and `conntrack -L` as the stock script appends them, with the header lines it echoes. */
export function stockConntrack(node: NodeProfile, sim: NodeSimulation, statsText: string): { v4: string; v6: string } {
  const random = createRandom(`conntrack-L/${node.seed}`);
  const entries: string[] = [];
  const pods = sim.runningAt(node.collectedAt).filter((pod) => pod.ip);
  for (let index = 0; index < 48; index++) {
    const pod = random.pick(pods);
    const dport = random.pick([443, 53, 8080, 5432, 6379]);
    const proto = dport === 53 ? 'udp' : 'tcp';
    const sport = random.int(32768, 60999);
    const dst = `${node.vpcCidr.replace(/\.0\.0\/\d+$/, '')}.${random.int(0, 255)}.${random.int(2, 250)}`;
    if (proto === 'udp')
      entries.push(
        `udp      17 ${random.int(2, 29)} src=${pod.ip} dst=${node.clusterDnsIp} sport=${sport} dport=53 src=${dst} dst=${pod.ip} sport=53 dport=${sport} mark=0 use=1`,
      );
    else
      entries.push(
        `tcp      6 ${random.int(60, 431999)} ESTABLISHED src=${pod.ip} dst=${dst} sport=${sport} dport=${dport} src=${dst} dst=${pod.ip} sport=${dport} dport=${sport} [ASSURED] mark=128 use=1`,
      );
  }
  return {
    v4: `*** Output of conntrack -S *** \n${statsText}*** Output of conntrack -L ***\n${entries.join('\n')}\n`,
    v6: '*** Output of conntrack -L -f ipv6 ***\n',
  };
}

export function ctrListings(
  node: NodeProfile,
  sim: NodeSimulation,
  pidOf: (containerId: string) => number | undefined,
): { namespaces: string; images: string; containers: string; tasks: string; plugins: string } {
  const random = createRandom(`ctr/${node.seed}`);
  const running = sim.runningAt(node.collectedAt);
  const images = new Map<string, string>();
  const pause = `602401143452.dkr.ecr.${node.region}.amazonaws.com/eks/pause:3.5`;
  images.set(pause, `sha256:${random.hex(64)}`);
  for (const pod of sim.pods)
    for (const container of pod.spec.containers)
      if (!images.has(container.image)) images.set(container.image, `sha256:${random.hex(64)}`);
  const imageLines = [
    'REF                                                                                   TYPE                                                      DIGEST                                                                  SIZE      PLATFORMS   LABELS ',
  ];
  for (const [ref, digest] of [...images].sort())
    imageLines.push(
      `${ref} application/vnd.docker.distribution.manifest.list.v2+json ${digest} ${random.int(3, 260)}.${random.int(0, 9)} MiB linux/amd64 io.cri-containerd.image=managed `,
    );
  const containerLines = [
    'CONTAINER                                                           IMAGE                                                                                RUNTIME                  ',
  ];
  const taskLines = ['TASK                                                                PID       STATUS    '];
  for (const pod of running) {
    containerLines.push(`${pod.sandboxId}    ${pause.padEnd(84)} io.containerd.runc.v2    `);
    taskLines.push(
      `${pod.sandboxId}    ${String(pidOf(pod.sandboxId) ?? random.int(1000, 9000)).padEnd(9)} RUNNING    `,
    );
    for (const container of pod.spec.containers) {
      const id = pod.containerIds.get(container.name);
      if (!id) continue;
      containerLines.push(`${id}    ${container.image.padEnd(84)} io.containerd.runc.v2    `);
      taskLines.push(`${id}    ${String(pidOf(id) ?? random.int(1000, 9000)).padEnd(9)} RUNNING    `);
    }
  }
  const plugins = [
    ['io.containerd.content.v1', 'content', '-', 'ok'],
    ['io.containerd.snapshotter.v1', 'aufs', 'linux/amd64', 'skip'],
    ['io.containerd.snapshotter.v1', 'blockfile', 'linux/amd64', 'skip'],
    ['io.containerd.snapshotter.v1', 'btrfs', 'linux/amd64', 'skip'],
    ['io.containerd.snapshotter.v1', 'devmapper', 'linux/amd64', 'skip'],
    ['io.containerd.snapshotter.v1', 'native', 'linux/amd64', 'ok'],
    ['io.containerd.snapshotter.v1', 'overlayfs', 'linux/amd64', 'ok'],
    ['io.containerd.snapshotter.v1', 'zfs', 'linux/amd64', 'skip'],
    ['io.containerd.metadata.v1', 'bolt', '-', 'ok'],
    ['io.containerd.differ.v1', 'walking', 'linux/amd64', 'ok'],
    ['io.containerd.event.v1', 'exchange', '-', 'ok'],
    ['io.containerd.gc.v1', 'scheduler', '-', 'ok'],
    ['io.containerd.service.v1', 'introspection-service', '-', 'ok'],
    ['io.containerd.service.v1', 'containers-service', '-', 'ok'],
    ['io.containerd.service.v1', 'content-service', '-', 'ok'],
    ['io.containerd.service.v1', 'diff-service', '-', 'ok'],
    ['io.containerd.service.v1', 'images-service', '-', 'ok'],
    ['io.containerd.service.v1', 'leases-service', '-', 'ok'],
    ['io.containerd.service.v1', 'namespaces-service', '-', 'ok'],
    ['io.containerd.service.v1', 'snapshots-service', '-', 'ok'],
    ['io.containerd.runtime.v1', 'linux', 'linux/amd64', 'ok'],
    ['io.containerd.runtime.v2', 'task', 'linux/amd64', 'ok'],
    ['io.containerd.monitor.v1', 'cgroups', 'linux/amd64', 'ok'],
    ['io.containerd.service.v1', 'tasks-service', '-', 'ok'],
    ['io.containerd.grpc.v1', 'containers', '-', 'ok'],
    ['io.containerd.grpc.v1', 'content', '-', 'ok'],
    ['io.containerd.grpc.v1', 'diff', '-', 'ok'],
    ['io.containerd.grpc.v1', 'events', '-', 'ok'],
    ['io.containerd.grpc.v1', 'healthcheck', '-', 'ok'],
    ['io.containerd.grpc.v1', 'images', '-', 'ok'],
    ['io.containerd.grpc.v1', 'leases', '-', 'ok'],
    ['io.containerd.grpc.v1', 'namespaces', '-', 'ok'],
    ['io.containerd.grpc.v1', 'snapshots', '-', 'ok'],
    ['io.containerd.grpc.v1', 'tasks', '-', 'ok'],
    ['io.containerd.grpc.v1', 'version', '-', 'ok'],
    ['io.containerd.grpc.v1', 'cri', 'linux/amd64', 'ok'],
  ];
  return {
    namespaces: 'NAME   LABELS \nk8s.io        \n',
    images: `${imageLines.join('\n')}\n`,
    containers: `${containerLines.join('\n')}\n`,
    tasks: `${taskLines.join('\n')}\n`,
    plugins: `${['TYPE                                      ID                       PLATFORMS      STATUS    ', ...plugins.map(([type, id, platforms, status]) => `${(type as string).padEnd(41)} ${(id as string).padEnd(24)} ${(platforms as string).padEnd(14)} ${(status as string).padEnd(10)}`)].join('\n')}\n`,
  };
}

/** cloud-init-output.log on AL2: bootstrap.sh's own log lines. */
export function cloudInitOutput(node: NodeProfile): string {
  const t = (seconds: number): string => isoMillis(node.bootAt + seconds * SECOND).replace(/\.\d+Z$/, '+0000');
  return `Cloud-init v. 19.3-46.amzn2.0.4 running 'init-local' at ${ctime(node.bootAt + 2 * SECOND)}. Up 2.31 seconds.
Cloud-init v. 19.3-46.amzn2.0.4 running 'init' at ${ctime(node.bootAt + 4 * SECOND)}. Up 4.02 seconds.
ci-info: ++++++++++++++++++++++++++++++++++++++Net device info+++++++++++++++++++++++++++++++++++++++
ci-info: +--------+------+------------------------------+---------------+--------+-------------------+
ci-info: | Device |  Up  |           Address            |      Mask     | Scope  |     Hw-Address    |
ci-info: +--------+------+------------------------------+---------------+--------+-------------------+
ci-info: |  eth0  | True |         ${node.privateIp.padEnd(20)} | 255.255.224.0 | global | ${macOf(node, 0)} |
ci-info: |   lo   | True |          127.0.0.1           |   255.0.0.0   |  host  |         .         |
ci-info: +--------+------+------------------------------+---------------+--------+-------------------+
Cloud-init v. 19.3-46.amzn2.0.4 running 'modules:config' at ${ctime(node.bootAt + 6 * SECOND)}. Up 6.11 seconds.
Cloud-init v. 19.3-46.amzn2.0.4 running 'modules:final' at ${ctime(node.bootAt + 7 * SECOND)}. Up 7.02 seconds.
${t(7)} [eks-bootstrap] INFO: starting...
${t(7)} [eks-bootstrap] INFO: --b64-cluster-ca='***'
${t(7)} [eks-bootstrap] INFO: --apiserver-endpoint='${node.apiServerEndpoint}'
${t(7)} [eks-bootstrap] INFO: --kubelet-extra-args='--node-labels=eks.amazonaws.com/nodegroup-image=${node.amiId},eks.amazonaws.com/capacityType=ON_DEMAND,eks.amazonaws.com/nodegroup=${node.clusterName}-ng --max-pods=29'
${t(7)} [eks-bootstrap] INFO: --use-max-pods='false'
${t(7)} [eks-bootstrap] INFO: Using kubelet version 1.29.10
${t(7)} [eks-bootstrap] INFO: Using containerd as the container runtime
${t(8)} [eks-bootstrap] INFO: Using IP family: ipv4
‘/etc/eks/containerd/containerd-config.toml’ -> ‘/etc/containerd/config.toml’
‘/etc/eks/containerd/sandbox-image.service’ -> ‘/etc/systemd/system/sandbox-image.service’
Created symlink from /etc/systemd/system/multi-user.target.wants/containerd.service to /usr/lib/systemd/system/containerd.service.
Created symlink from /etc/systemd/system/multi-user.target.wants/sandbox-image.service to /etc/systemd/system/sandbox-image.service.
‘/etc/eks/containerd/kubelet-containerd.service’ -> ‘/etc/systemd/system/kubelet.service’
Created symlink from /etc/systemd/system/multi-user.target.wants/kubelet.service to /etc/systemd/system/kubelet.service.
${t(13)} [eks-bootstrap] INFO: complete!
Cloud-init v. 19.3-46.amzn2.0.4 finished at ${ctime(node.bootAt + 13 * SECOND)}. Datasource DataSourceEc2.  Up 13.48 seconds
`;
}

export function cloudInitLog(node: NodeProfile): string {
  const lines: string[] = [];
  const stages = ['init-local', 'init', 'modules:config', 'modules:final'];
  const base = node.bootAt;
  let index = 0;
  for (const stage of stages) {
    const at = base + (2 + index * 2) * SECOND;
    const stamp = new Date(Math.floor(at / 1000)).toISOString().replace('T', ' ').replace('Z', '').replace('.', ',');
    lines.push(
      `${stamp} - util.py[DEBUG]: Cloud-init v. 19.3-46.amzn2.0.4 running '${stage}' at ${ctime(at)}. Up ${(2 + index * 2).toFixed(2)} seconds.`,
    );
    lines.push(`${stamp} - main.py[DEBUG]: No kernel command line url found.`);
    lines.push(`${stamp} - main.py[DEBUG]: Closing stdin.`);
    lines.push(`${stamp} - handlers.py[DEBUG]: start: ${stage}/check-cache: attempting to read from cache [check]`);
    lines.push(`${stamp} - handlers.py[DEBUG]: finish: ${stage}/check-cache: SUCCESS: no cache found`);
    index++;
  }
  lines.push(
    `${new Date(Math.floor((base + 13 * SECOND) / 1000)).toISOString().replace('T', ' ').replace('Z', '').replace('.', ',')} - util.py[DEBUG]: cloud-init mode 'modules' took 6.115 seconds (6.11)`,
  );
  return `${lines.join('\n')}\n`;
}

export function cronLog(node: NodeProfile): string {
  const lines: string[] = [];
  const host = shortHostnameOf(node);
  for (
    let hour = Math.ceil(node.bootAt / (3_600 * SECOND)) * 3_600 * SECOND;
    hour < node.collectedAt;
    hour += 3_600 * SECOND
  ) {
    const at = hour + 61 * SECOND;
    lines.push(
      `${syslogTime(at)} ${host} CROND[${10_000 + ((hour / SECOND) % 50_000)}]: (root) CMD (run-parts /etc/cron.hourly)`,
    );
    lines.push(
      `${syslogTime(at + 18_000)} ${host} run-parts(/etc/cron.hourly)[${10_003 + ((hour / SECOND) % 50_000)}]: starting 0anacron`,
    );
    lines.push(
      `${syslogTime(at + 29_000)} ${host} run-parts(/etc/cron.hourly)[${10_007 + ((hour / SECOND) % 50_000)}]: finished 0anacron`,
    );
  }
  return `${lines.join('\n')}${lines.length ? '\n' : ''}`;
}

/** CRI container log lines (`<RFC3339Nano> stdout F <text>`). */
export function criLines(start: Micros, texts: string[], stepMs: number): string {
  return `${texts
    .map((text, index) => {
      const at = start + index * stepMs * 1_000;
      return `${new Date(Math.floor(at / 1000)).toISOString().slice(0, 19)}.${String(at % 1_000_000).padStart(6, '0')}${String(index % 1000).padStart(3, '0')}Z stdout F ${text}`;
    })
    .join('\n')}\n`;
}

export function sandboxImageLog(node: NodeProfile): string {
  const host = hostnameOf(node);
  const t = (seconds: number): string => syslogTime(node.bootAt + seconds * SECOND);
  return `-- Logs begin at ${ctime(node.bootAt).slice(0, 3)} ${isoMillis(node.bootAt).slice(0, 10)} ${isoMillis(node.bootAt).slice(11, 19)} UTC, end at ${ctime(node.collectedAt).slice(0, 3)} ${isoMillis(node.collectedAt).slice(0, 10)} ${isoMillis(node.collectedAt).slice(11, 19)} UTC. --
${t(9)} ${host} systemd[1]: Starting pull sandbox image defined in containerd config.toml...
${t(11)} ${host} pull-sandbox-image.sh[2714]: 602401143452.dkr.ecr.${node.region}.amazonaws.com/eks/pause:3.5
${t(12)} ${host} systemd[1]: Started pull sandbox image defined in containerd config.toml.
`;
}

export function noEntriesJournal(node: NodeProfile): string {
  if (node.os === 'al2023') return '-- No entries --\n';
  return `-- Logs begin at ${ctime(node.bootAt).slice(0, 3)} ${isoMillis(node.bootAt).slice(0, 10)} ${isoMillis(node.bootAt).slice(11, 19)} UTC, end at ${ctime(node.collectedAt).slice(0, 3)} ${isoMillis(node.collectedAt).slice(0, 10)} ${isoMillis(node.collectedAt).slice(11, 19)} UTC. --\n-- No entries --\n`;
}

export function modinfoIpVs(): string {
  return [
    'ip_vs_sh               16384  0',
    'ip_vs_wrr              16384  0',
    'ip_vs_rr               16384  0',
    'ip_vs                 188416  6 ip_vs_rr,ip_vs_sh,ip_vs_wrr',
    'nf_conntrack_netlink    57344  0',
    'nf_conntrack          176128  7 xt_conntrack,nf_nat,xt_state,xt_nat,nf_conntrack_netlink,xt_CONNMARK,ip_vs',
    'nf_defrag_ipv6         24576  2 nf_conntrack,ip_vs',
    'nf_defrag_ipv4         16384  1 nf_conntrack',
    'libcrc32c              16384  4 nf_conntrack,nf_nat,xfs,ip_vs',
    '',
  ].join('\n');
}
