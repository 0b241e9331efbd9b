/**
 * A node's process table and the views of it the collectors save: `top -b -n 1`, `ps fauxwww --headers`,
 * `ps -eTF --headers`, `cat /proc/[0-9]*\/stat`, `system/io_throttling.txt`, `netstat -plant`.
 * Column widths follow procps-ng 3.3.17 (AL2023, PID width 7) and 3.3.10 (AL2, PID width 5).
 */
import type { NodeProfile } from './node.ts';
import type { Random } from './random.ts';
import { clockOf, type Micros, psStart, SECOND, uptimePhrase } from './time.ts';

export interface Proc {
  pid: number;
  ppid: number;
  user: string;
  uid: number;
  comm: string;
  /** Full command line; kernel threads show `[comm]`. */
  args: string;
  /** ps STAT, e.g. `Ssl`, `I<`, `R`. */
  stat: string;
  /** %CPU over top's short sample. */
  cpuNow: number;
  /** Cumulative CPU seconds (TIME+). */
  cpuSeconds: number;
  vszKb: number;
  rssKb: number;
  shrKb: number;
  threads: number;
  nice: number;
  priority: number;
  startedAt: Micros;
  kernelThread: boolean;
  /** Aggregated block I/O delay in clock ticks (field 42 of /proc/pid/stat). */
  blkioTicks: number;
}

export interface ProcessTableView {
  node: NodeProfile;
  now: Micros;
  procs: Proc[];
  procps: '3.3.17' | '3.3.10';
}

const KERNEL_THREADS_PER_CPU = [
  'cpuhp/%',
  'idle_inject/%',
  'migration/%',
  'ksoftirqd/%',
  'kworker/%:0H-events_highpri',
];
const KERNEL_THREADS = [
  'rcu_gp',
  'rcu_par_gp',
  'slub_flushwq',
  'netns',
  'mm_percpu_wq',
  'rcu_tasks_kthread',
  'rcu_tasks_rude_kthread',
  'rcu_tasks_trace_kthread',
  'rcu_sched',
  'kdevtmpfs',
  'inet_frag_wq',
  'kauditd',
  'khungtaskd',
  'oom_reaper',
  'writeback',
  'kcompactd0',
  'ksmd',
  'khugepaged',
  'kintegrityd',
  'kblockd',
  'blkcg_punt_bio',
  'tpm_dev_wq',
  'md',
  'edac-poller',
  'watchdogd',
  'kswapd0',
  'xfsalloc',
  'xfs_mru_cache',
  'kthrotld',
  'nvme-wq',
  'nvme-reset-wq',
  'nvme-delete-wq',
  'ipv6_addrconf',
  'kstrp',
  'zswap-shrink',
  'ena',
  'xfs-buf/nvme0n1p1',
  'xfs-conv/nvme0n1p1',
  'xfs-reclaim/nvme0n1p1',
  'xfs-blockgc/nvme0n1p1',
  'xfs-inodegc/nvme0n1p1',
  'xfs-log/nvme0n1p1',
  'xfs-cil/nvme0n1p1',
  'xfsaild/nvme0n1p1',
  'cryptd',
  'rpciod',
  'xprtiod',
];

/** Kernel threads under kthreadd, with pids as a fresh boot hands them out. */
export function kernelThreads(node: NodeProfile, random: Random): Proc[] {
  const procs: Proc[] = [];
  const base = (pid: number, comm: string, stat: string): Proc => ({
    pid,
    ppid: pid === 2 ? 0 : 2,
    user: 'root',
    uid: 0,
    comm,
    args: `[${comm}]`,
    stat,
    cpuNow: 0,
    cpuSeconds: comm.startsWith('ksoftirqd')
      ? random.int(30, 400) / 10
      : comm === 'rcu_sched'
        ? random.int(40, 900) / 10
        : 0,
    vszKb: 0,
    rssKb: 0,
    shrKb: 0,
    threads: 1,
    nice: stat.includes('<') ? -20 : 0,
    priority: stat.includes('<') ? 0 : 20,
    startedAt: node.bootAt,
    kernelThread: true,
    blkioTicks: comm.startsWith('xfsaild') || comm.startsWith('kworker') ? random.int(0, 40) : 0,
  });
  procs.push(base(2, 'kthreadd', 'S'));
  let pid = 3;
  for (const comm of KERNEL_THREADS.slice(0, 9))
    procs.push(base(pid++, comm, comm.endsWith('_gp') || comm.endsWith('wq') || comm === 'netns' ? 'I<' : 'I'));
  for (let cpu = 0; cpu < node.cpuCount; cpu++) {
    for (const template of KERNEL_THREADS_PER_CPU) {
      const comm = template.replace('%', String(cpu));
      procs.push(base(pid++, comm, comm.includes('H-') ? 'I<' : 'S'));
    }
  }
  for (const comm of KERNEL_THREADS.slice(9)) {
    pid += random.int(1, 3);
    procs.push(base(pid, comm, comm.startsWith('k') && !comm.startsWith('kb') && !comm.startsWith('kt') ? 'S' : 'I<'));
  }
  return procs;
}

/** Short-lived kworkers that exist at any moment, with pids from the whole lifetime. */
export function kworkers(node: NodeProfile, random: Random, lastPid: number, count: number): Proc[] {
  const procs: Proc[] = [];
  const names = [
    'events',
    'mm_percpu_wq',
    'events_power_efficient',
    'xfs-conv/nvme0n1p1',
    'cgroup_destroy',
    'events_freezable_power_',
  ];
  for (let index = 0; index < count; index++) {
    const cpu = random.int(0, node.cpuCount - 1);
    const unbound = random.chance(0.4);
    const comm = unbound
      ? `kworker/u${node.cpuCount * 2}:${random.int(0, 5)}-${random.pick(['events_unbound', 'flush-259:0', 'writeback'])}`
      : `kworker/${cpu}:${random.int(0, 3)}${random.chance(0.3) ? 'H' : ''}-${random.pick(names)}`;
    procs.push({
      pid: random.int(Math.round(lastPid * 0.5), lastPid - 5),
      ppid: 2,
      user: 'root',
      uid: 0,
      comm,
      args: `[${comm}]`,
      stat: comm.includes('H-') ? 'I<' : 'I',
      cpuNow: 0,
      cpuSeconds: random.int(0, 30) / 100,
      vszKb: 0,
      rssKb: 0,
      shrKb: 0,
      threads: 1,
      nice: comm.includes('H-') ? -20 : 0,
      priority: comm.includes('H-') ? 0 : 20,
      startedAt: node.collectedAt - random.int(60, 3600) * SECOND,
      kernelThread: true,
      blkioTicks: random.chance(0.2) ? random.int(1, 90) : 0,
    });
  }
  return procs;
}

// ------------------------------------------------------------------ top

const fixed1 = (value: number): string => value.toFixed(1);

function topTime(cpuSeconds: number): string {
  const hundredths = Math.round(cpuSeconds * 100);
  const minutes = Math.floor(hundredths / 6000);
  const seconds = Math.floor((hundredths % 6000) / 100);
  return `${minutes}:${String(seconds).padStart(2, '0')}.${String(hundredths % 100).padStart(2, '0')}`;
}

export interface TopSummary {
  load: [number, number, number];
  cpu: { us: number; sy: number; ni: number; id: number; wa: number; hi: number; si: number; st: number };
  memory: { totalKb: number; freeKb: number; usedKb: number; cacheKb: number; availableKb: number };
}

export function renderTop(view: ProcessTableView, summary: TopSummary): string {
  const { node, now, procs } = view;
  const modern = view.procps === '3.3.17';
  const running = procs.filter((proc) => proc.stat.startsWith('R')).length;
  const sleeping = procs.length - running;
  const users = 0;
  const cpu = summary.cpu;
  const lines = [
    `top - ${clockOf(now)} ${uptimePhrase(now - node.bootAt)},  ${users} users,  load average: ${summary.load.map((v) => v.toFixed(2)).join(', ')}`,
    `Tasks: ${String(procs.length).padStart(3)} total, ${String(running).padStart(3)} running, ${String(sleeping).padStart(3)} sleeping,   0 stopped,   0 zombie`,
    `%Cpu(s): ${[
      [cpu.us, 'us'],
      [cpu.sy, 'sy'],
      [cpu.ni, 'ni'],
      [cpu.id, 'id'],
      [cpu.wa, 'wa'],
      [cpu.hi, 'hi'],
      [cpu.si, 'si'],
      [cpu.st, 'st'],
    ]
      .map(([value, label]) => `${fixed1(value as number).padStart(4)} ${label}`)
      .join(', ')}`,
  ];
  const m = summary.memory;
  if (modern) {
    const mib = (kb: number): string => (kb / 1024).toFixed(1).padStart(8);
    lines.push(
      `MiB Mem : ${mib(m.totalKb)} total, ${mib(m.freeKb)} free, ${mib(m.usedKb)} used, ${mib(m.cacheKb)} buff/cache`,
    );
    lines.push(`MiB Swap: ${mib(0)} total, ${mib(0)} free, ${mib(0)} used. ${mib(m.availableKb)} avail Mem `);
  } else {
    const kib = (kb: number): string => String(kb).padStart(8);
    lines.push(
      `KiB Mem : ${kib(m.totalKb)} total, ${kib(m.freeKb)} free, ${kib(m.usedKb)} used, ${kib(m.cacheKb)} buff/cache`,
    );
    lines.push(`KiB Swap: ${kib(0)} total, ${kib(0)} free, ${kib(0)} used. ${kib(m.availableKb)} avail Mem `);
  }
  lines.push('');
  const pidWidth = modern ? 7 : 5;
  lines.push(`${'PID'.padStart(pidWidth)} USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND`);
  const sorted = [...procs].sort((a, b) => b.cpuNow - a.cpuNow || a.pid - b.pid);
  for (const proc of sorted) {
    const user = proc.user.length > 8 ? `${proc.user.slice(0, 7)}+` : proc.user;
    const pr = proc.priority === -100 ? 'rt' : String(proc.priority);
    lines.push(
      `${String(proc.pid).padStart(pidWidth)} ${user.padEnd(8)} ${pr.padStart(3)} ${String(proc.nice).padStart(3)} ${String(proc.vszKb).padStart(7)} ${String(proc.rssKb).padStart(6)} ${String(proc.shrKb).padStart(6)} ${proc.stat[0]} ${fixed1(proc.cpuNow).padStart(5)} ${fixed1((proc.rssKb / node.memTotalKb) * 100).padStart(5)} ${topTime(proc.cpuSeconds).padStart(9)} ${proc.comm}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

// ------------------------------------------------------------------ ps

function psTime(cpuSeconds: number): string {
  const total = Math.floor(cpuSeconds);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

function forestOrder(procs: readonly Proc[]): { proc: Proc; prefix: string }[] {
  const byParent = new Map<number, Proc[]>();
  for (const proc of procs) {
    const list = byParent.get(proc.ppid) ?? [];
    list.push(proc);
    byParent.set(proc.ppid, list);
  }
  for (const list of byParent.values()) list.sort((a, b) => a.pid - b.pid);
  const out: { proc: Proc; prefix: string }[] = [];
  const walk = (proc: Proc, ancestors: boolean[]): void => {
    const prefix =
      ancestors.length === 0
        ? ''
        : `${ancestors
            .slice(0, -1)
            .map((more) => (more ? ' |  ' : '    '))
            .join('')} \\_ `;
    out.push({ proc, prefix });
    const children = byParent.get(proc.pid) ?? [];
    children.forEach((child, index) => {
      walk(child, [...ancestors, index < children.length - 1]);
    });
  };
  // procps shows kthreadd's tree first, then init, and init's children as roots of their own trees.
  const kthreadd = procs.find((proc) => proc.pid === 2);
  const init = procs.find((proc) => proc.pid === 1);
  if (kthreadd) walk(kthreadd, []);
  if (init) {
    out.push({ proc: init, prefix: '' });
    for (const child of byParent.get(1) ?? []) walk(child, []);
  }
  return out;
}

export function renderPs(view: ProcessTableView): string {
  const { node, now, procs } = view;
  const pidWidth = view.procps === '3.3.17' ? 7 : 5;
  const lines = [`USER     ${'PID'.padStart(pidWidth)} %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND`];
  for (const { proc, prefix } of forestOrder(procs)) {
    const elapsed = Math.max(1, (now - proc.startedAt) / SECOND);
    const cpu = Math.min(99.9, (proc.cpuSeconds / elapsed) * 100);
    const user = proc.user.length > 8 ? `${proc.user.slice(0, 7)}+` : proc.user;
    let line = `${user.padEnd(8)} ${String(proc.pid).padStart(pidWidth)} ${fixed1(cpu).padStart(4)} ${fixed1((proc.rssKb / node.memTotalKb) * 100).padStart(4)}`;
    // ps widens a column that overflows and lets the next left-aligned column absorb it.
    const vsz = String(proc.vszKb).padStart(6);
    const rss = String(proc.rssKb).padStart(5);
    const overflow = Math.max(0, vsz.length - 6) + Math.max(0, rss.length - 5);
    line += ` ${vsz} ${rss} ${'?'.padEnd(Math.max(1, 8 - overflow))} ${proc.stat.padEnd(4)} ${psStart(proc.startedAt, now).padStart(5)} ${psTime(proc.cpuSeconds).padStart(6)} ${prefix}${proc.args}`;
    lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}

function hhmmss(seconds: number): string {
  const total = Math.floor(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

/** `ps -eTF --headers`: one row per thread. */
export function renderPsThreads(view: ProcessTableView, random: Random): string {
  const { now, procs } = view;
  const lines = ['UID          PID    PPID     LWP  C NLWP    SZ   RSS PSR STIME TTY          TIME CMD'];
  for (const proc of [...procs].sort((a, b) => a.pid - b.pid)) {
    for (let thread = 0; thread < proc.threads; thread++) {
      const lwp = thread === 0 ? proc.pid : proc.pid + thread + (thread > 6 ? random.int(0, 40) : 0);
      const elapsed = Math.max(1, (now - proc.startedAt) / SECOND);
      const c = Math.min(99, Math.round((proc.cpuSeconds / elapsed / proc.threads) * 100));
      lines.push(
        `${proc.user.padEnd(8)} ${String(proc.pid).padStart(7)} ${String(proc.ppid).padStart(7)} ${String(lwp).padStart(7)} ${String(c).padStart(2)} ${String(proc.threads).padStart(4)} ${String(Math.round(proc.vszKb / 4)).padStart(5)} ${String(proc.rssKb).padStart(5)} ${String(random.int(0, view.node.cpuCount - 1)).padStart(3)} ${psStart(proc.startedAt, now)} ?        ${hhmmss(thread === 0 ? proc.cpuSeconds * 0.6 : (proc.cpuSeconds * 0.4) / proc.threads)} ${proc.args}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** `cat /proc/[0-9]*\/stat`: the shell sorts the glob as text, so pid 10 comes before pid 2. */
export function renderAllProcStat(view: ProcessTableView, random: Random): string {
  const { node, procs } = view;
  const sorted = [...procs].sort((a, b) => (String(a.pid) < String(b.pid) ? -1 : 1));
  const lines = sorted.map((proc) => {
    const start = Math.round(((proc.startedAt - node.bootAt) / SECOND) * 100);
    const utime = Math.round(proc.cpuSeconds * 100 * 0.7);
    const stime = Math.round(proc.cpuSeconds * 100 * 0.3);
    const state = proc.stat[0];
    const fields = [
      proc.pid,
      `(${proc.comm.slice(0, 15)})`,
      state,
      proc.ppid,
      proc.kernelThread ? 0 : proc.pid,
      proc.kernelThread ? 0 : proc.pid,
      0,
      -1,
      proc.kernelThread ? 69238880 : 4194560,
      random.int(100, 90000),
      0,
      random.int(0, 40),
      0,
      utime,
      stime,
      0,
      0,
      proc.priority,
      proc.nice,
      proc.threads,
      0,
      start,
      proc.vszKb * 1024,
      Math.round(proc.rssKb / 4),
      '18446744073709551615',
      proc.kernelThread ? 0 : 1,
      proc.kernelThread ? 0 : 1,
      0,
      0,
      0,
      0,
      0,
      proc.kernelThread ? 2147483647 : 0,
      proc.kernelThread ? 0 : 17663,
      0,
      0,
      0,
      17,
      random.int(0, node.cpuCount - 1),
      0,
      0,
      proc.blkioTicks,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
    ];
    return fields.join(' ');
  });
  return `${lines.join('\n')}\n`;
}

/** `system/io_throttling.txt`: pid, (comm), delay; `grep -v 0$` also drops delays ending in 0. */
export function renderIoThrottling(view: ProcessTableView): string {
  const rows = view.procs
    .filter((proc) => proc.blkioTicks > 0 && !String(proc.blkioTicks).endsWith('0'))
    .sort((a, b) => b.blkioTicks - a.blkioTicks || b.pid - a.pid)
    .map((proc) => `${proc.pid} (${proc.comm.slice(0, 15)}) ${proc.blkioTicks}`);
  return `PID Name Block IO Delay (centisconds)\n${rows.join('\n')}${rows.length ? '\n' : ''}`;
}

/** A `ps ax` row as printed by the procps of the node. */
export function psAxRow(proc: Proc, procps: '3.3.17' | '3.3.10'): string {
  const width = procps === '3.3.17' ? 7 : 5;
  return `${String(proc.pid).padStart(width)} ?        ${proc.stat.padEnd(4)} ${psTime(proc.cpuSeconds).padStart(6)} ${proc.args}`;
}
