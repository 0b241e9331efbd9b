/**
 * /proc and cgroup files in the exact shapes Linux 5.10/6.1 print them.
 */
import type { Random } from './random.ts';

export function procLoadavg(load: [number, number, number], running: number, total: number, lastPid: number): string {
  return `${load.map((value) => value.toFixed(2)).join(' ')} ${running}/${total} ${lastPid}\n`;
}

export interface PressureLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** Stall time in microseconds since boot. */
  total: number;
}

const pressureLine = (kind: 'some' | 'full', line: PressureLine): string =>
  `${kind} avg10=${line.avg10.toFixed(2)} avg60=${line.avg60.toFixed(2)} avg300=${line.avg300.toFixed(2)} total=${Math.round(line.total)}`;

/**
 * `/proc/pressure/{cpu,memory,io}`. Since 5.13 the cpu file has a `full` line too; at the system level it is all
 * zeros (a CPU is never fully stalled while it runs something).
 */
export function procPressure(some: PressureLine, full: PressureLine): string {
  return `${pressureLine('some', some)}\n${pressureLine('full', full)}\n`;
}

export interface MemoryUse {
  totalKb: number;
  /** Anonymous memory of processes. */
  anonKb: number;
  /** Page cache. */
  cachedKb: number;
  freeKb: number;
  slabKb: number;
  kernel6: boolean;
}

/** `/proc/meminfo`: labels padded to 16 columns, values right-aligned in 8, ` kB` suffix. */
export function procMeminfo(memory: MemoryUse): string {
  const { totalKb, anonKb, cachedKb, freeKb, slabKb } = memory;
  const sReclaimable = Math.round(slabKb * 0.57);
  const activeFile = Math.round(cachedKb * 0.38);
  const inactiveFile = cachedKb - activeFile;
  const rows: [string, number, boolean][] = [
    ['MemTotal', totalKb, true],
    ['MemFree', freeKb, true],
    ['MemAvailable', freeKb + Math.round(cachedKb * 0.82) + sReclaimable, true],
    ['Buffers', 3_240 + (totalKb % 997), true],
    ['Cached', cachedKb, true],
    ['SwapCached', 0, true],
    ['Active', activeFile + 2_972, true],
    ['Inactive', inactiveFile + anonKb, true],
    ['Active(anon)', 2_972, true],
    ['Inactive(anon)', anonKb, true],
    ['Active(file)', activeFile, true],
    ['Inactive(file)', inactiveFile, true],
    ['Unevictable', 0, true],
    ['Mlocked', 0, true],
    ['SwapTotal', 0, true],
    ['SwapFree', 0, true],
    ...(memory.kernel6
      ? ([
          ['Zswap', 0, true],
          ['Zswapped', 0, true],
        ] as [string, number, boolean][])
      : []),
    ['Dirty', 612, true],
    ['Writeback', 0, true],
    ['AnonPages', anonKb - 112_220, true],
    ['Mapped', Math.round(cachedKb * 0.2), true],
    ['Shmem', 1_368, true],
    ['KReclaimable', sReclaimable, true],
    ['Slab', slabKb, true],
    ['SReclaimable', sReclaimable, true],
    ['SUnreclaim', slabKb - sReclaimable, true],
    ['KernelStack', 11_488, true],
    ['PageTables', 25_352, true],
    ...(memory.kernel6 ? ([['SecPageTables', 0, true]] as [string, number, boolean][]) : []),
    ['NFS_Unstable', 0, true],
    ['Bounce', 0, true],
    ['WritebackTmp', 0, true],
    ['CommitLimit', Math.round(totalKb / 2), true],
    ['Committed_AS', Math.round(anonKb * 2.05), true],
    ['VmallocTotal', 34_359_738_367, true],
    ['VmallocUsed', 24_812, true],
    ['VmallocChunk', 0, true],
    ['Percpu', 2_848, true],
    ['HardwareCorrupted', 0, true],
    ['AnonHugePages', Math.round((anonKb * 0.4) / 2048) * 2048, true],
    ['ShmemHugePages', 0, true],
    ['ShmemPmdMapped', 0, true],
    ['FileHugePages', 0, true],
    ['FilePmdMapped', 0, true],
    ['HugePages_Total', 0, false],
    ['HugePages_Free', 0, false],
    ['HugePages_Rsvd', 0, false],
    ['HugePages_Surp', 0, false],
    ['Hugepagesize', 2_048, true],
    ['Hugetlb', 0, true],
    ['DirectMap4k', 190_828, true],
    ['DirectMap2M', Math.round((totalKb * 0.76) / 2048) * 2048, true],
    ['DirectMap1G', 2_097_152, true],
  ];
  return `${rows.map(([label, value, kb]) => `${`${label}:`.padEnd(16, ' ')}${String(value).padStart(8, ' ')}${kb ? ' kB' : ''}`).join('\n')}\n`;
}

export interface CpuTicks {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

/**
 * Splits `seconds` of wall time on `cpus` CPUs into USER_HZ (100/s) ticks with the given busy shares.
 * Shares are of total CPU time: user + system + steal + iowait ≤ 1.
 */
export function cpuTicks(
  random: Random,
  seconds: number,
  shares: { user: number; system: number; iowait: number; steal: number },
): CpuTicks {
  const total = Math.round(seconds * 100);
  const jitter = (value: number): number => Math.round(value * random.float(0.97, 1.03));
  const user = jitter(total * shares.user);
  const system = jitter(total * shares.system);
  const iowait = jitter(total * shares.iowait);
  const steal = jitter(total * shares.steal);
  const softirq = jitter(total * 0.004);
  const nice = jitter(total * 0.0002);
  return {
    user,
    nice,
    system,
    idle: Math.max(0, total - user - system - iowait - steal - softirq - nice),
    iowait,
    irq: 0,
    softirq,
    steal,
  };
}

export interface ProcStat {
  perCpu: CpuTicks[];
  contextSwitches: number;
  bootTime: number;
  processesForked: number;
  running: number;
  blocked: number;
  /** Interrupt counts per IRQ line (the kernel prints one number per allocated IRQ). */
  interrupts: number[];
  softirqs: number[];
}

const ticksLine = (label: string, t: CpuTicks): string =>
  `${label} ${t.user} ${t.nice} ${t.system} ${t.idle} ${t.iowait} ${t.irq} ${t.softirq} ${t.steal} 0 0`;

export function procStat(stat: ProcStat): string {
  const sum = stat.perCpu.reduce(
    (acc, t) => ({
      user: acc.user + t.user,
      nice: acc.nice + t.nice,
      system: acc.system + t.system,
      idle: acc.idle + t.idle,
      iowait: acc.iowait + t.iowait,
      irq: acc.irq + t.irq,
      softirq: acc.softirq + t.softirq,
      steal: acc.steal + t.steal,
    }),
    { user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0 },
  );
  // The aggregate line has two spaces after `cpu`.
  const lines = [ticksLine('cpu ', sum), ...stat.perCpu.map((t, index) => ticksLine(`cpu${index}`, t))];
  const intrTotal = stat.interrupts.reduce((a, b) => a + b, 0);
  lines.push(`intr ${intrTotal} ${stat.interrupts.join(' ')}`);
  lines.push(`ctxt ${stat.contextSwitches}`);
  lines.push(`btime ${stat.bootTime}`);
  lines.push(`processes ${stat.processesForked}`);
  lines.push(`procs_running ${stat.running}`);
  lines.push(`procs_blocked ${stat.blocked}`);
  const softTotal = stat.softirqs.reduce((a, b) => a + b, 0);
  lines.push(`softirq ${softTotal} ${stat.softirqs.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** Per-IRQ counts for a small Nitro instance: timer, ENA queues, NVMe queues, then many unused lines. */
export function interruptCounts(random: Random, seconds: number, cpus: number, lines = 224): number[] {
  const counts: number[] = [];
  for (let irq = 0; irq < lines; irq++) {
    if (irq === 1 || irq === 4 || irq === 8 || irq === 9 || irq === 12) counts.push(random.int(0, 40));
    else if (irq >= 24 && irq < 24 + 3 + 2 * cpus) counts.push(Math.round(seconds * random.float(40, 900)));
    else counts.push(0);
  }
  counts[0] = 0;
  counts[2] = 0;
  counts[3] = 9;
  return counts;
}

export interface CfsStats {
  usageUsec: number;
  userShare: number;
  periods: number;
  throttled: number;
  throttledUsec: number;
}

/** cgroup v2 `cpu.stat` (Linux 6.1 without core scheduling). */
export function cgroupV2CpuStat(stats: CfsStats): string {
  const user = Math.round(stats.usageUsec * stats.userShare);
  return [
    `usage_usec ${stats.usageUsec}`,
    `user_usec ${user}`,
    `system_usec ${stats.usageUsec - user}`,
    `nr_periods ${stats.periods}`,
    `nr_throttled ${stats.throttled}`,
    `throttled_usec ${stats.throttledUsec}`,
    'nr_bursts 0',
    'burst_usec 0',
    '',
  ].join('\n');
}

/** cgroup v1 `cpu.stat` (cpu,cpuacct controller): nanoseconds of throttling. */
export function cgroupV1CpuStat(stats: CfsStats): string {
  return `nr_periods ${stats.periods}\nnr_throttled ${stats.throttled}\nthrottled_time ${stats.throttledUsec * 1000}\n`;
}

/**
 * cgroup v2 `memory.stat` (Linux 6.1 keys, abridged to the ones kubelet's eviction reads and more); the kernel
 * figures not derived from anon and file are sized for kubepods.slice.
 */
export function cgroupV2MemoryStat(anonKb: number, fileKb: number): string {
  const anon = anonKb * 1024;
  const file = fileKb * 1024;
  const keys: [string, number][] = [
    ['anon', anon],
    ['file', file],
    ['kernel', Math.round(anon * 0.041)],
    ['kernel_stack', 4_046_848],
    ['pagetables', Math.round(anon * 0.006)],
    ['sec_pagetables', 0],
    ['percpu', 1_451_520],
    ['sock', 221_184],
    ['vmalloc', 36_864],
    ['shmem', 0],
    ['zswap', 0],
    ['zswapped', 0],
    ['file_mapped', Math.round(file * 0.11)],
    ['file_dirty', 180_224],
    ['file_writeback', 0],
    ['swapcached', 0],
    ['anon_thp', Math.round((anon * 0.38) / 2_097_152) * 2_097_152],
    ['file_thp', 0],
    ['shmem_thp', 0],
    ['inactive_anon', anon],
    ['active_anon', 8_192],
    ['inactive_file', Math.round(file * 0.61)],
    ['active_file', file - Math.round(file * 0.61)],
    ['unevictable', 0],
    ['slab_reclaimable', Math.round(anon * 0.019)],
    ['slab_unreclaimable', Math.round(anon * 0.011)],
    ['slab', Math.round(anon * 0.03)],
    ['workingset_refault_anon', 0],
    ['workingset_refault_file', 1_204],
    ['workingset_activate_anon', 0],
    ['workingset_activate_file', 612],
    ['workingset_restore_anon', 0],
    ['workingset_restore_file', 388],
    ['workingset_nodereclaim', 0],
    ['pgscan', 0],
    ['pgsteal', 0],
    ['pgscan_kswapd', 0],
    ['pgscan_direct', 0],
    ['pgsteal_kswapd', 0],
    ['pgsteal_direct', 0],
    ['pgfault', Math.round(anon / 1_900)],
    ['pgmajfault', 1_311],
    ['pgrefill', 0],
    ['pgactivate', 40_192],
    ['pgdeactivate', 0],
    ['pglazyfree', 0],
    ['pglazyfreed', 0],
    ['zswpin', 0],
    ['zswpout', 0],
    ['thp_fault_alloc', 1_482],
    ['thp_collapse_alloc', 37],
  ];
  return `${keys.map(([key, value]) => `${key} ${value}`).join('\n')}\n`;
}
