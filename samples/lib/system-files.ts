/**
 * Node configuration and state files: `sysctl --all`, `dmesg`, `ip rule` / `ip route`, conntrack statistics,
 * containerd's config dump and journal.
 */
import { Journal, type JournalStyle } from './journal.ts';
import { hostnameOf, type NodeProfile, primaryInterfaceOf, secondaryInterfaceOf, shortHostnameOf } from './node.ts';
import { createRandom } from './random.ts';
import type { NodeSimulation } from './simulation.ts';
import { isoPrecise, type Micros, SECOND } from './time.ts';
import { hostVeth } from './vpc-cni.ts';

const IPV4_CONF_KEYS: [string, string][] = [
  ['accept_local', '0'],
  ['accept_redirects', '1'],
  ['accept_source_route', '0'],
  ['arp_accept', '0'],
  ['arp_announce', '0'],
  ['arp_evict_nocarrier', '1'],
  ['arp_filter', '0'],
  ['arp_ignore', '0'],
  ['arp_notify', '0'],
  ['bc_forwarding', '0'],
  ['bootp_relay', '0'],
  ['disable_policy', '0'],
  ['disable_xfrm', '0'],
  ['drop_gratuitous_arp', '0'],
  ['drop_unicast_in_l2_multicast', '0'],
  ['force_igmp_version', '0'],
  ['forwarding', '1'],
  ['igmpv2_unsolicited_report_interval', '10000'],
  ['igmpv3_unsolicited_report_interval', '1000'],
  ['ignore_routes_with_linkdown', '0'],
  ['log_martians', '0'],
  ['mc_forwarding', '0'],
  ['medium_id', '0'],
  ['promote_secondaries', '1'],
  ['proxy_arp', '0'],
  ['proxy_arp_pvlan', '0'],
  ['route_localnet', '0'],
  ['rp_filter', '1'],
  ['secure_redirects', '1'],
  ['send_redirects', '1'],
  ['shared_media', '1'],
  ['src_valid_mark', '0'],
  ['tag', '0'],
];

/** `sysctl --all`, sorted like sysctl walks /proc/sys; per-interface keys for every interface present. */
export function sysctlAll(node: NodeProfile, sim: NodeSimulation): string {
  const primary = primaryInterfaceOf(node);
  const interfaces = [
    'all',
    'default',
    primary,
    ...sim.enis.slice(1).map((eni) => secondaryInterfaceOf(node, eni.deviceNumber)),
    'lo',
  ];
  for (const pod of sim.runningAt(node.collectedAt))
    if (pod.ip) interfaces.push(hostVeth(`${pod.spec.namespace}.${pod.spec.name}`));
  const entries: [string, string][] = [
    ['abi.vsyscall32', '1'],
    ['crypto.fips_enabled', '0'],
    ['dev.cdrom.autoclose', '1'],
    ['dev.hpet.max-user-freq', '64'],
    ['dev.raid.speed_limit_max', '200000'],
    ['dev.raid.speed_limit_min', '1000'],
    ['fs.aio-max-nr', '65536'],
    ['fs.aio-nr', '0'],
    ['fs.dentry-state', `${91234 + (node.memTotalKb % 5000)}\t72011\t45\t0\t41022\t0`],
    ['fs.file-max', '9223372036854775807'],
    ['fs.file-nr', `${4512 + (node.memTotalKb % 300)}\t0\t9223372036854775807`],
    ['fs.inotify.max_queued_events', '16384'],
    ['fs.inotify.max_user_instances', '8192'],
    ['fs.inotify.max_user_watches', '524288'],
    ['fs.nr_open', '1073741816'],
    ['fs.protected_fifos', '1'],
    ['fs.protected_hardlinks', '1'],
    ['fs.protected_regular', '1'],
    ['fs.protected_symlinks', '1'],
    ['fs.suid_dumpable', '0'],
    ['kernel.core_pattern', node.os === 'al2023' ? '|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h' : 'core'],
    ['kernel.core_pipe_limit', '16'],
    ['kernel.hostname', hostnameOf(node)],
    ['kernel.hung_task_timeout_secs', '120'],
    ['kernel.keys.maxkeys', '2000'],
    ['kernel.keys.root_maxkeys', '1000000'],
    ['kernel.kptr_restrict', '0'],
    ['kernel.osrelease', node.kernel],
    ['kernel.ostype', 'Linux'],
    ['kernel.panic', '10'],
    ['kernel.panic_on_oops', '1'],
    ['kernel.perf_event_paranoid', '2'],
    ['kernel.pid_max', '4194304'],
    ['kernel.printk', '4\t4\t1\t7'],
    ['kernel.randomize_va_space', '2'],
    ['kernel.sched_autogroup_enabled', '0'],
    ['kernel.sysrq', '16'],
    ['kernel.threads-max', String(Math.round(node.memTotalKb / 128))],
    ['kernel.unprivileged_bpf_disabled', '2'],
    ['net.bridge.bridge-nf-call-arptables', '1'],
    ['net.bridge.bridge-nf-call-ip6tables', '1'],
    ['net.bridge.bridge-nf-call-iptables', '1'],
    ['net.core.busy_poll', '0'],
    ['net.core.default_qdisc', node.os === 'al2023' ? 'fq_codel' : 'pfifo_fast'],
    ['net.core.dev_weight', '64'],
    ['net.core.netdev_budget', '300'],
    ['net.core.netdev_max_backlog', '1000'],
    ['net.core.optmem_max', '81920'],
    ['net.core.rmem_default', '212992'],
    ['net.core.rmem_max', '212992'],
    ['net.core.somaxconn', '4096'],
    ['net.core.wmem_default', '212992'],
    ['net.core.wmem_max', '212992'],
    ['net.ipv4.conf.__', ''],
    ['net.ipv4.icmp_echo_ignore_all', '0'],
    ['net.ipv4.icmp_echo_ignore_broadcasts', '1'],
    ['net.ipv4.icmp_ratelimit', '1000'],
    ['net.ipv4.ip_default_ttl', '127'],
    ['net.ipv4.ip_forward', '1'],
    ['net.ipv4.ip_local_port_range', '32768\t60999'],
    ['net.ipv4.ip_local_reserved_ports', node.os === 'al2023' ? '61678-61679' : ''],
    ['net.ipv4.ip_nonlocal_bind', '0'],
    ['net.ipv4.neigh.default.gc_thresh1', '128'],
    ['net.ipv4.neigh.default.gc_thresh2', '512'],
    ['net.ipv4.neigh.default.gc_thresh3', '1024'],
    ['net.ipv4.tcp_congestion_control', 'cubic'],
    ['net.ipv4.tcp_fin_timeout', '60'],
    ['net.ipv4.tcp_keepalive_time', '7200'],
    ['net.ipv4.tcp_max_syn_backlog', '1024'],
    [
      'net.ipv4.tcp_mem',
      `${Math.round(node.memTotalKb / 43)}\t${Math.round(node.memTotalKb / 32)}\t${Math.round(node.memTotalKb / 21)}`,
    ],
    ['net.ipv4.tcp_rmem', '4096\t131072\t6291456'],
    ['net.ipv4.tcp_syncookies', '1'],
    ['net.ipv4.tcp_tw_reuse', '2'],
    ['net.ipv4.tcp_wmem', '4096\t20480\t4194304'],
    [
      'net.ipv4.udp_mem',
      `${Math.round(node.memTotalKb / 21)}\t${Math.round(node.memTotalKb / 16)}\t${Math.round(node.memTotalKb / 11)}`,
    ],
    ['net.ipv6.conf.__', ''],
    ['net.netfilter.nf_conntrack_acct', '0'],
    ['net.netfilter.nf_conntrack_buckets', '65536'],
    ['net.netfilter.nf_conntrack_checksum', '1'],
    ['net.netfilter.nf_conntrack_count', String(900 + (node.memTotalKb % 1300))],
    ['net.netfilter.nf_conntrack_expect_max', '1024'],
    ['net.netfilter.nf_conntrack_generic_timeout', '600'],
    ['net.netfilter.nf_conntrack_max', String(Math.max(node.cpuCount * 32768, 131072))],
    ['net.netfilter.nf_conntrack_tcp_be_liberal', '0'],
    ['net.netfilter.nf_conntrack_tcp_loose', '1'],
    ['net.netfilter.nf_conntrack_tcp_timeout_close_wait', '3600'],
    ['net.netfilter.nf_conntrack_tcp_timeout_established', '86400'],
    ['net.netfilter.nf_conntrack_tcp_timeout_time_wait', '120'],
    ['net.netfilter.nf_conntrack_udp_timeout', '30'],
    ['net.netfilter.nf_conntrack_udp_timeout_stream', '120'],
    ['net.nf_conntrack_max', String(Math.max(node.cpuCount * 32768, 131072))],
    ['user.max_cgroup_namespaces', String(Math.round(node.memTotalKb / 256))],
    ['user.max_net_namespaces', String(Math.round(node.memTotalKb / 256))],
    ['user.max_user_namespaces', String(Math.round(node.memTotalKb / 256))],
    ['vm.dirty_background_ratio', '10'],
    ['vm.dirty_expire_centisecs', '3000'],
    ['vm.dirty_ratio', '20'],
    ['vm.max_map_count', '524288'],
    ['vm.min_free_kbytes', String(Math.round(Math.sqrt(node.memTotalKb * 16)))],
    ['vm.overcommit_memory', '1'],
    ['vm.overcommit_ratio', '50'],
    ['vm.panic_on_oom', '0'],
    ['vm.swappiness', '60'],
  ];
  const out: string[] = [];
  for (const [key, value] of entries) {
    if (key === 'net.ipv4.conf.__') {
      for (const name of [...interfaces].sort()) {
        for (const [confKey, confValue] of IPV4_CONF_KEYS) {
          let v = confValue;
          // The VPC CNI sets loose reverse-path filtering on the primary interface; veths are created with 0.
          if (confKey === 'rp_filter')
            v =
              name === primary
                ? '2'
                : name.startsWith('eni') || name === 'lo'
                  ? '0'
                  : name === 'default' || name === 'all'
                    ? '1'
                    : '1';
          if (confKey === 'accept_local' && name.startsWith('eni')) v = '0';
          if (confKey === 'route_localnet' && name === 'all') v = '0';
          out.push(`net.ipv4.conf.${name}.${confKey} = ${v}`);
        }
      }
      continue;
    }
    if (key === 'net.ipv6.conf.__') {
      for (const name of ['all', 'default', primary, 'lo']) {
        for (const [k, v] of [
          ['accept_ra', name === primary ? '1' : '1'],
          ['autoconf', '1'],
          ['disable_ipv6', '0'],
          ['forwarding', '0'],
          ['mtu', name === 'lo' ? '65536' : name === primary ? '9001' : '1280'],
        ] as [string, string][]) {
          out.push(`net.ipv6.conf.${name}.${k} = ${v}`);
        }
      }
      continue;
    }
    out.push(`${key} = ${value}`);
  }
  return `${out.join('\n')}\n`;
}

/** `ip rule show`: pods get a `512: to <ip> lookup main` rule; pods on a secondary ENI also a `1536: from` rule. */
export function ipRule(sim: NodeSimulation): string {
  const lines = ['0:\tfrom all lookup local'];
  const running = sim.runningAt(sim.node.collectedAt).filter((pod) => pod.ip);
  for (const pod of running) lines.push(`512:\tfrom all to ${pod.ip} lookup main`);
  lines.push('1024:\tfrom all fwmark 0x80/0x80 lookup main');
  for (const pod of running) {
    const assignment = pod.ip ? sim.assignments.get(pod.ip) : undefined;
    if (assignment && assignment.eni.deviceNumber > 0)
      lines.push(`1536:\tfrom ${pod.ip} lookup ${assignment.eni.deviceNumber + 1}`);
  }
  lines.push('32766:\tfrom all lookup main', '32767:\tfrom all lookup default');
  return `${lines.join('\n')}\n`;
}

export function ipRoute(sim: NodeSimulation): string {
  const node = sim.node;
  const primary = primaryInterfaceOf(node);
  const [subnetBase, bits] = node.subnetCidr.split('/') as [string, string];
  const gatewayParts = subnetBase.split('.').map(Number);
  gatewayParts[3] = (gatewayParts[3] ?? 0) + 1;
  const gateway = gatewayParts.join('.');
  const broadcastParts = subnetBase.split('.').map(Number);
  const hostBits = 32 - Number(bits);
  const base = broadcastParts.reduce((sum, part) => sum * 256 + part, 0);
  const broadcast = [24, 16, 8, 0].map((shift) => Math.floor((base + 2 ** hostBits - 1) / 2 ** shift) % 256).join('.');
  const vpcDns = node.vpcCidr.replace(/\.0\/\d+$/, '.2');
  const lines: string[] = [];
  for (const eni of sim.enis.slice(1)) {
    const dev = secondaryInterfaceOf(node, eni.deviceNumber);
    lines.push(`default via ${gateway} dev ${dev} table ${eni.deviceNumber + 1} `);
    lines.push(`${gateway} dev ${dev} table ${eni.deviceNumber + 1} scope link `);
  }
  lines.push(`default via ${gateway} dev ${primary} proto dhcp src ${node.privateIp} metric 512 `);
  lines.push(`${vpcDns} via ${gateway} dev ${primary} proto dhcp src ${node.privateIp} metric 512 `);
  lines.push(`${node.subnetCidr} dev ${primary} proto kernel scope link src ${node.privateIp} metric 512 `);
  lines.push(`${gateway} dev ${primary} proto dhcp scope link src ${node.privateIp} metric 512 `);
  for (const pod of sim.runningAt(node.collectedAt)) {
    if (pod.ip) lines.push(`${pod.ip} dev ${hostVeth(`${pod.spec.namespace}.${pod.spec.name}`)} scope link `);
  }
  lines.push(`local ${node.privateIp} dev ${primary} table local proto kernel scope host src ${node.privateIp} `);
  lines.push(`broadcast ${broadcast} dev ${primary} table local proto kernel scope link src ${node.privateIp} `);
  for (const eni of sim.enis.slice(1)) {
    const dev = secondaryInterfaceOf(node, eni.deviceNumber);
    lines.push(`local ${eni.primaryIp} dev ${dev} table local proto kernel scope host src ${eni.primaryIp} `);
    lines.push(`broadcast ${broadcast} dev ${dev} table local proto kernel scope link src ${eni.primaryIp} `);
  }
  lines.push('local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1 ');
  lines.push('local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1 ');
  lines.push('broadcast 127.255.255.255 dev lo table local proto kernel scope link src 127.0.0.1 ');
  return `${lines.join('\n')}\n`;
}

export function conntrackMax(node: NodeProfile): number {
  return Math.max(node.cpuCount * 32768, 131072);
}

/** The conntrack table's fill level, read from /proc/sys. */
export function conntrackCount(node: NodeProfile, count: number): string {
  return `net.netfilter.nf_conntrack_count = ${count}\nnet.netfilter.nf_conntrack_max = ${conntrackMax(node)}\n`;
}

/** `conntrack -S`: one line of counters per CPU. */
export function conntrackStats(node: NodeProfile): string {
  const random = createRandom(`conntrack/${node.seed}`);
  const lines: string[] = [];
  for (let cpu = 0; cpu < node.cpuCount; cpu++) {
    lines.push(
      `cpu=${String(cpu).padEnd(4)}\tfound=${random.int(0, 9)} invalid=${random.int(10, 90)} insert=0 insert_failed=0 drop=0 early_drop=0 error=${random.int(0, 3)} search_restart=${random.int(40, 400)} clash_resolve=${random.int(0, 8)} chaintoolong=0 `,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Kernel ring buffer since boot (`dmesg`): enough of a Nitro boot, then veth and ENI events. */
export function dmesg(node: NodeProfile, sim: NodeSimulation, options: { bootOnly?: boolean } = {}): string {
  const random = createRandom(`dmesg/${node.seed}`);
  const lines: [number, string][] = [];
  const at = (seconds: number, text: string): void => {
    lines.push([seconds, text]);
  };
  at(
    0,
    `Linux version ${node.kernel} (mockbuild@ip-10-0-33-4) (gcc (GCC) ${node.os === 'al2023' ? '11.4.1 20230605 (Red Hat 11.4.1-2), GNU ld version 2.39-6.amzn2023.0.10' : '7.3.1 20180712 (Red Hat 7.3.1-17), GNU ld version 2.29.1-31.amzn2.0.1'}) #1 SMP ${node.os === 'al2023' ? 'PREEMPT_DYNAMIC ' : ''}Mon Feb 24 18:21:44 UTC 2025`,
  );
  at(
    0,
    `Command line: BOOT_IMAGE=(hd0,gpt1)/boot/vmlinuz-${node.kernel} root=UUID=${random.uuid()} ro console=tty0 console=ttyS0,115200n8 nvme_core.io_timeout=4294967295 rd.emergency=poweroff rd.shell=0 selinux=1 security=selinux quiet`,
  );
  for (const text of [
    'BIOS-provided physical RAM map:',
    'BIOS-e820: [mem 0x0000000000000000-0x000000000009ffff] usable',
    'BIOS-e820: [mem 0x0000000000100000-0x00000000bffe9fff] usable',
    'NX (Execute Disable) protection: active',
    'SMBIOS 2.7 present.',
    `DMI: Amazon EC2 ${node.instanceType}/, BIOS 1.0 10/16/2017`,
    'Hypervisor detected: KVM',
    'kvm-clock: Using msrs 4b564d01 and 4b564d00',
    'tsc: Detected 2499.998 MHz processor',
    `smpboot: Allowing ${node.cpuCount} CPUs, 0 hotplug CPUs`,
    `Memory: ${Math.round(node.memTotalKb * 0.97)}K/${Math.round(node.memTotalKb * 1.02)}K available`,
    'rcu: Hierarchical RCU implementation.',
    'Console: colour dummy device 80x25',
    'printk: console [tty0] enabled',
    'printk: console [ttyS0] enabled',
    'clocksource: tsc-early: mask: 0xffffffffffffffff max_cycles: 0x240939f1bb2, max_idle_ns: 440795263295 ns',
    `smp: Brought up 1 node, ${node.cpuCount} CPUs`,
    'devtmpfs: initialized',
    'NET: Registered PF_NETLINK/PF_ROUTE protocol family',
    'PCI: Using configuration type 1 for base access',
    'ACPI: Interpreter enabled',
    'pci 0000:00:05.0: [1d0f:ec20] type 00 class 0x020000',
    'pci 0000:00:04.0: [1d0f:8061] type 00 class 0x010802',
    'NET: Registered PF_INET protocol family',
    'Initialise system trusted keyrings',
    'Freeing unused kernel image (initmem) memory: 2804K',
    'Run /init as init process',
    `systemd[1]: systemd ${node.os === 'al2023' ? '252.23-2.amzn2023' : '219'} running in system mode`,
    'nvme nvme0: pci function 0000:00:04.0',
    'nvme nvme0: 2/0/0 default/read/poll queues',
    ' nvme0n1: p1 p127 p128',
    'ena 0000:00:05.0: Elastic Network Adapter (ENA) v2.13.0g',
    `ena 0000:00:05.0: ENA device version: 0.10`,
    `ena 0000:00:05.0: Elastic Network Adapter (ENA) found at mem febf4000, mac addr 02:${random.hex(2)}:${random.hex(2)}:${random.hex(2)}:${random.hex(2)}:${random.hex(2)}`,
    ...(node.os === 'al2023' ? ['ena 0000:00:05.0 ens5: renamed from eth0'] : []),
    'SGI XFS with ACLs, security attributes, quota, no debug enabled',
    'XFS (nvme0n1p1): Mounting V5 Filesystem',
    'XFS (nvme0n1p1): Ending clean mount',
    'systemd-journald[1402]: Received client request to flush runtime journal.',
    'Bridge firewalling registered',
    'Netfilter messages via NETLINK v0.30.',
    'nf_conntrack version 0.5.0 (65536 buckets, 262144 max)',
    'IPVS: Registered protocols (TCP, UDP, SCTP, AH, ESP)',
    'IPVS: ipvs loaded.',
    'Initializing XFRM netlink socket',
  ]) {
    at(lines.length < 20 ? random.float(0, 0.5) : random.float(0.5, 9), text);
  }
  lines.sort((a, b) => a[0] - b[0]);
  const render = (): string =>
    `${lines.map(([seconds, text]) => `[${seconds.toFixed(6).padStart(12, ' ')}] ${text}`).join('\n')}\n`;
  // /var/log/dmesg is written once at boot.
  if (options.bootOnly) return render();
  const bootRelative = (t: Micros): number => (t - node.bootAt) / SECOND;
  for (const eni of sim.enis.slice(1)) {
    const t = bootRelative(eni.attachedAt);
    at(t, `pci 0000:00:0${5 + eni.deviceNumber}.0: [1d0f:ec20] type 00 class 0x020000`);
    at(
      t + 0.001,
      `ena 0000:00:0${5 + eni.deviceNumber}.0: Elastic Network Adapter (ENA) found at mem febf${eni.deviceNumber}000, mac addr 02:${random.hex(2)}:${random.hex(2)}:${random.hex(2)}:${random.hex(2)}:${random.hex(2)}`,
    );
    if (node.os === 'al2023')
      at(
        t + 0.02,
        `ena 0000:00:0${5 + eni.deviceNumber}.0 ${secondaryInterfaceOf(node, eni.deviceNumber)}: renamed from eth0`,
      );
  }
  for (const event of sim.cni) {
    if (event.kind !== 'add') continue;
    const veth = hostVeth(`${event.pod.spec.namespace}.${event.pod.spec.name}`);
    at(bootRelative(event.at) + 0.03, `IPv6: ADDRCONF(NETDEV_CHANGE): ${veth}: link becomes ready`);
  }
  lines.sort((a, b) => a[0] - b[0]);
  return render();
}

/** `containerd config dump` for containerd 1.7 on the EKS AMIs (abridged to the sections people read). */
export function containerdConfig(node: NodeProfile): string {
  const pause = `602401143452.dkr.ecr.${node.region}.amazonaws.com/eks/pause:3.5`;
  return `disabled_plugins = []
imports = ["/etc/containerd/config.d/*.toml"]
oom_score = 0
plugin_dir = ""
required_plugins = []
root = "/var/lib/containerd"
state = "/run/containerd"
temp = ""
version = 2

[cgroup]
  path = ""

[debug]
  address = ""
  format = ""
  gid = 0
  level = ""
  uid = 0

[grpc]
  address = "/run/containerd/containerd.sock"
  gid = 0
  max_recv_message_size = 16777216
  max_send_message_size = 16777216
  tcp_address = ""
  tcp_tls_ca = ""
  tcp_tls_cert = ""
  tcp_tls_key = ""
  uid = 0

[metrics]
  address = ""
  grpc_histogram = false

[plugins]

  [plugins."io.containerd.gc.v1.scheduler"]
    deletion_threshold = 0
    mutation_threshold = 100
    pause_threshold = 0.02
    schedule_delay = "0s"
    startup_delay = "100ms"

  [plugins."io.containerd.grpc.v1.cri"]
    cdi_spec_dirs = ["/etc/cdi", "/var/run/cdi"]
    device_ownership_from_security_context = false
    disable_apparmor = false
    disable_cgroup = false
    disable_hugetlb_controller = true
    disable_proc_mount = false
    disable_tcp_service = true
    drain_exec_sync_io_timeout = "0s"
    enable_cdi = false
    enable_selinux = false
    enable_tls_streaming = false
    enable_unprivileged_icmp = false
    enable_unprivileged_ports = false
    ignore_image_defined_volumes = false
    image_pull_progress_timeout = "5m0s"
    max_concurrent_downloads = 3
    max_container_log_line_size = 16384
    netns_mounts_under_state_dir = false
    restrict_oom_score_adj = false
    sandbox_image = "${pause}"
    selinux_category_range = 1024
    stats_collect_period = 10
    stream_idle_timeout = "4h0m0s"
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    systemd_cgroup = false
    tolerate_missing_hugetlb_controller = true
    unset_seccomp_profile = ""

    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/opt/cni/bin"
      conf_dir = "/etc/cni/net.d"
      conf_template = ""
      ip_pref = ""
      max_conf_num = 1
      setup_serially = false

    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"
      disable_snapshot_annotations = true
      discard_unpacked_layers = true
      ignore_blockio_not_enabled_errors = false
      ignore_rdt_not_enabled_errors = false
      no_pivot = false
      snapshotter = "overlayfs"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes]

        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
          base_runtime_spec = "/etc/containerd/base-runtime-spec.json"
          cni_conf_dir = ""
          cni_max_conf_num = 0
          container_annotations = []
          pod_annotations = []
          privileged_without_host_devices = false
          privileged_without_host_devices_all_devices_allowed = false
          runtime_engine = ""
          runtime_path = ""
          runtime_root = ""
          runtime_type = "io.containerd.runc.v2"
          sandbox_mode = "podsandbox"
          snapshotter = ""

          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
            BinaryName = "/usr/sbin/runc"
            SystemdCgroup = true

    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "/etc/containerd/certs.d:/etc/docker/certs.d"

  [plugins."io.containerd.internal.v1.opt"]
    path = "/opt/containerd"

  [plugins."io.containerd.internal.v1.restart"]
    interval = "10s"

  [plugins."io.containerd.runtime.v2.task"]
    platforms = ["linux/amd64"]
    sched_core = false

  [plugins."io.containerd.snapshotter.v1.overlayfs"]
    mount_options = []
    root_path = ""
    sync_remove = false
    upperdir_label = false

[timeouts]
  "io.containerd.timeout.bolt.open" = "0s"
  "io.containerd.timeout.metrics.shimv2" = "2s"
  "io.containerd.timeout.shim.cleanup" = "5s"
  "io.containerd.timeout.shim.load" = "5s"
  "io.containerd.timeout.shim.shutdown" = "3s"
  "io.containerd.timeout.task.state" = "2s"

[ttrpc]
  address = ""
  gid = 0
  uid = 0
`;
}

/** containerd's journal, built from the pods the simulation ran. */
export function containerdJournal(sim: NodeSimulation, containerdPid: number): Journal {
  const journal = new Journal(`containerd/${sim.node.seed}`);
  const node = sim.node;
  const line = (at: Micros, level: string, msg: string): void => {
    const ts = isoPrecise(at)
      .replace('+0000', 'Z')
      .replace(/\.(\d{6})Z$/, (_m, digits: string) => `.${digits}${String(at % 997).padStart(3, '0')}Z`);
    journal.add(at, 'containerd', containerdPid, `time="${ts}" level=${level} msg=${JSON.stringify(msg)}`);
  };
  journal.add(
    node.bootAt + 6 * SECOND,
    'systemd',
    1,
    node.os === 'al2023'
      ? 'Starting containerd.service - containerd container runtime...'
      : 'Starting containerd container runtime...',
  );
  line(
    node.bootAt + 6_400_000,
    'info',
    `starting containerd revision=${createRandom(node.seed).hex(40)} version=${node.containerdVersion}`,
  );
  line(node.bootAt + 6_900_000, 'info', 'containerd successfully booted in 0.061012s');
  journal.add(
    node.bootAt + 6_950_000,
    'systemd',
    1,
    node.os === 'al2023'
      ? 'Started containerd.service - containerd container runtime.'
      : 'Started containerd container runtime.',
  );
  for (const pod of sim.pods) {
    const meta = `&PodSandboxMetadata{Name:${pod.spec.name},Uid:${pod.uid},Namespace:${pod.spec.namespace},Attempt:0,}`;
    line(pod.startedAt - 1_400_000, 'info', `RunPodSandbox for ${meta}`);
    line(pod.startedAt - 300_000, 'info', `RunPodSandbox for ${meta} returns sandbox id "${pod.sandboxId}"`);
    for (const [name, id] of pod.containerIds) {
      line(
        pod.startedAt - 250_000,
        'info',
        `CreateContainer within sandbox "${pod.sandboxId}" for container &ContainerMetadata{Name:${name},Attempt:0,}`,
      );
      line(
        pod.startedAt - 120_000,
        'info',
        `CreateContainer within sandbox "${pod.sandboxId}" for &ContainerMetadata{Name:${name},Attempt:0,} returns container id "${id}"`,
      );
      line(pod.startedAt - 110_000, 'info', `StartContainer for "${id}"`);
      line(pod.startedAt - 20_000, 'info', `StartContainer for "${id}" returns successfully`);
    }
    if (pod.stoppedAt) {
      line(pod.stoppedAt - 30_000, 'info', `StopPodSandbox for "${pod.sandboxId}"`);
      line(pod.stoppedAt + 80_000, 'info', `TearDown network for sandbox "${pod.sandboxId}" successfully`);
      line(pod.stoppedAt + 90_000, 'info', `StopPodSandbox for "${pod.sandboxId}" returns successfully`);
    }
  }
  return journal;
}

export function renderJournalFile(journal: Journal, node: NodeProfile, style: JournalStyle): string {
  return journal.render({
    style,
    hostname: style === 'syslog' ? shortHostnameOf(node) : hostnameOf(node),
    logsBeginHeader:
      style === 'short' && node.os !== 'al2023' ? { begin: node.bootAt, end: node.collectedAt } : undefined,
    stripStreamWhitespace: node.os !== 'al2023',
  });
}
