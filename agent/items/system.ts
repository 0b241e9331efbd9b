/**
 * CPU, memory and processes (load, PSI, cgroup v2 stats, CFS throttling, top/ps), the kernel (dmesg, uname,
 * modules), storage, identity files and instance metadata from an allowlist.
 */
import { command, derived, file, imds, journal, KiB, MiB } from './define.ts';

export const systemItems = [
  file('proc-loadavg', '/proc/loadavg', 'Load average against the CPU count.', {
    priority: 1,
    maxBytes: 4 * KiB,
    tail: false,
  }),
  file('proc-meminfo', '/proc/meminfo', 'Memory available, swap, hugepages.', {
    priority: 1,
    maxBytes: 64 * KiB,
    tail: false,
  }),
  file('proc-stat', '/proc/stat', 'CPU count and CPU time split.', { priority: 1, maxBytes: 1 * MiB, tail: false }),
  file('psi-cpu', '/proc/pressure/cpu', 'CPU pressure: how long tasks waited for a CPU.', {
    priority: 1,
    maxBytes: 4 * KiB,
    tail: false,
  }),
  file('psi-memory', '/proc/pressure/memory', 'Memory pressure stalls.', {
    priority: 1,
    maxBytes: 4 * KiB,
    tail: false,
  }),
  file('psi-io', '/proc/pressure/io', 'IO pressure stalls.', { priority: 2, maxBytes: 4 * KiB, tail: false }),
  file('cgroup-kubepods-cpu-stat', '/sys/fs/cgroup/kubepods.slice/cpu.stat', 'CPU use and throttling of all pods.', {
    priority: 2,
    maxBytes: 4 * KiB,
    tail: false,
  }),
  file('cgroup-kubepods-memory-stat', '/sys/fs/cgroup/kubepods.slice/memory.stat', 'Memory use of all pods.', {
    priority: 2,
    maxBytes: 16 * KiB,
    tail: false,
  }),
  file(
    'cgroup-kubepods-memory-events',
    '/sys/fs/cgroup/kubepods.slice/memory.events',
    'OOM and high-watermark events of pods.',
    {
      priority: 2,
      maxBytes: 4 * KiB,
      tail: false,
    },
  ),
  derived('cpu-throttling', 'cpu-throttling', 'CFS-throttled cgroups with their processes (the stock format).', {
    priority: 1,
  }),
  derived(
    'cgroup-aws-node-cpu-stat',
    'aws-node-cpu-stat',
    "aws-node's container cgroup cpu.stat: its CPU use and throttling.",
    {
      priority: 1,
      maxBytes: 4 * KiB,
    },
  ),
  command('top', ['top', '-b', '-n', '1', '-w', '512'], 'CPU use per process (aws-k8s-agent), load, memory.', {
    priority: 1,
  }),
  command('ps', ['ps', 'fauxwww', '--headers'], 'Process tree with command lines (secrets redacted).', {
    priority: 2,
    redact: ['command-line'],
  }),
  command('ps-threads', ['ps', '-eTF', '--headers'], 'Threads per process.', { priority: 3 }),
  command('dmesg', ['dmesg'], 'Kernel messages: OOM kills, conntrack table full, NIC resets.', { priority: 1 }),
  command('dmesg-human', ['dmesg', '--ctime'], 'Kernel messages with wall-clock times.', { priority: 2 }),
  file('dmesg-boot', '/var/log/dmesg', 'Kernel messages of the boot.', { priority: 3 }),
  command('uname', ['uname', '-a'], 'Kernel release, architecture, host name.', { priority: 1, maxBytes: 4 * KiB }),
  file('os-release', '/etc/os-release', 'Operating system (AL2, AL2023, Bottlerocket, Ubuntu).', {
    priority: 1,
    maxBytes: 16 * KiB,
  }),
  command('uptime', ['uptime'], 'Time since boot and load.', { priority: 2, maxBytes: 4 * KiB }),
  command('lsmod', ['lsmod'], 'Loaded modules (ip_vs, nf_conntrack, iptables backends).', { priority: 3 }),
  // No unit: the whole journal window, which is what /var/log/messages held on AL2 (AL2023 has no syslog file).
  journal('system-messages', '', 'The whole system journal window, as /var/log/messages was on AL2.', {
    priority: 3,
    maxBytes: 100 * MiB,
  }),
  command('services', ['systemctl', 'list-units', '--all', '--no-pager'], 'Unit states (failed units, restarts).', {
    priority: 3,
  }),
  command('pkglist', ['rpm', '-qa'], 'Installed packages and versions.', { priority: 3 }),
  command('last-reboot', ['last', 'reboot'], 'Reboot history.', { priority: 3 }, [0, 1]),
  command('selinux', ['getenforce'], 'SELinux mode.', { priority: 3, maxBytes: 1 * KiB }),
  command('mounts', ['findmnt', '--list'], 'Mounts (overlay, EBS, EFS).', { priority: 3 }),
  command(
    'inodes',
    ['df', '--inodes', '--local'],
    'Inode use per filesystem (local only, so a hung NFS cannot block).',
    {
      priority: 2,
      timeoutMs: 15_000,
    },
  ),
  command('lsblk', ['lsblk'], 'Block devices.', { priority: 3 }),
  file('fstab', '/etc/fstab', 'Filesystems mounted at boot.', { priority: 3, maxBytes: 64 * KiB }),
  file('cloud-init-log', '/var/log/cloud-init.log', 'Instance bootstrap.', {
    priority: 3,
    maxBytes: 16 * MiB,
    redact: ['user-data'],
  }),
  file('cloud-init-output-log', '/var/log/cloud-init-output.log', 'Output of user-data scripts (secrets redacted).', {
    priority: 3,
    maxBytes: 16 * MiB,
    redact: ['user-data'],
  }),
  file('instance-id', '/var/lib/cloud/data/instance-id', 'Instance id as cloud-init recorded it.', {
    priority: 1,
    maxBytes: 1 * KiB,
  }),
  imds('region', 'placement/region', 'Region of the instance.', { maxBytes: 1 * KiB }),
  imds('availability-zone', 'placement/availability-zone', 'Availability zone of the instance.', { maxBytes: 1 * KiB }),
  imds('instance-type', 'instance-type', 'Instance type: ENI and IP limits follow from it.', { maxBytes: 1 * KiB }),
  imds(
    'imds-network-interfaces',
    'network-interfaces',
    'Instance identity and every ENI as EC2 sees it (device, card, subnet, IPs, prefixes).',
    {
      priority: 1,
    },
  ),
];
