/**
 * Renderings shared by our layout and the stock one: /proc files, top, ps, CFS throttling, iptables.
 */
import { eksIpv6Ruleset, eksRuleset, type ServicePort } from './eks-iptables.ts';
import { renderList, renderSave, stockListing, type Table } from './iptables.ts';
import { primaryInterfaceOf } from './node.ts';
import { buildProcesses, containerCgroup, type NodePicture } from './picture.ts';
import { type ProcessTableView, psAxRow, renderPs, renderTop } from './processes.ts';
import {
  cgroupV1CpuStat,
  cgroupV2CpuStat,
  cpuTicks,
  interruptCounts,
  procLoadavg,
  procMeminfo,
  procPressure,
  procStat,
} from './procfs.ts';
import { createRandom } from './random.ts';
import { SECOND, unixSeconds } from './time.ts';

export function procps(picture: NodePicture): '3.3.17' | '3.3.10' {
  return picture.sim.node.os === 'al2023' ? '3.3.17' : '3.3.10';
}

export function procFiles(picture: NodePicture): {
  loadavg: string;
  meminfo: string;
  stat: string;
  psiCpu: string;
  psiMemory: string;
  psiIo: string;
} {
  const node = picture.sim.node;
  const random = createRandom(`proc/${node.seed}`);
  const uptime = (node.collectedAt - node.bootAt) / SECOND;
  const perCpu = Array.from({ length: node.cpuCount }, () => cpuTicks(random, uptime, picture.cpu.lifetime));
  const zero = { avg10: 0, avg60: 0, avg300: 0, total: 0 };
  return {
    loadavg: procLoadavg(picture.cpu.load, picture.cpu.running, picture.cpu.threads, picture.cpu.lastPid),
    meminfo: procMeminfo({ totalKb: node.memTotalKb, ...picture.memory, kernel6: node.kernel.startsWith('6.') }),
    stat: procStat({
      perCpu,
      contextSwitches: Math.round(uptime * picture.cpu.contextSwitchesPerSecond),
      bootTime: unixSeconds(node.bootAt),
      processesForked: picture.cpu.lastPid + random.int(2_000, 9_000),
      running: picture.cpu.running,
      blocked: 0,
      interrupts: interruptCounts(random, uptime, node.cpuCount),
      softirqs: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((index) =>
        index === 0 || index === 5 ? 0 : Math.round(uptime * random.float(5, 400)),
      ),
    }),
    psiCpu: procPressure(picture.cpu.psiCpu, zero),
    psiMemory: procPressure(picture.cpu.psiMemory.some, picture.cpu.psiMemory.full),
    psiIo: procPressure(picture.cpu.psiIo.some, picture.cpu.psiIo.full),
  };
}

function view(picture: NodePicture, tool: 'top' | 'ps'): ProcessTableView {
  return {
    node: picture.sim.node,
    now: picture.sim.node.collectedAt,
    procs: buildProcesses(picture, tool).procs,
    procps: procps(picture),
  };
}

export function topText(picture: NodePicture): string {
  const node = picture.sim.node;
  const m = picture.memory;
  const buffCache = m.cachedKb + 3_240 + Math.round(m.slabKb * 0.57);
  return renderTop(view(picture, 'top'), {
    load: picture.cpu.load,
    cpu: picture.cpu.top,
    memory: {
      totalKb: node.memTotalKb,
      freeKb: m.freeKb,
      usedKb: node.memTotalKb - m.freeKb - buffCache,
      cacheKb: buffCache,
      availableKb: m.freeKb + Math.round(m.cachedKb * 0.82) + Math.round(m.slabKb * 0.57),
    },
  });
}

export function psText(picture: NodePicture): string {
  return renderPs(view(picture, 'ps'));
}

/**
 * `system/cpu_throttling.txt`. The stock script finds cgroups with `nr_throttled [1-9]`, prints the cpu.stat path
 * and contents, then `ps ax | grep "^${pid}"` per pid in cgroup.procs: that grep only matches rows whose PID fills
 * the whole column, so most processes are silently missing. Our agent writes the same layout with every row.
 */
export function throttlingText(picture: NodePicture, style: 'ours' | 'stock'): string {
  const node = picture.sim.node;
  const cgroupVersion = node.os === 'al2023' ? 2 : 1;
  if (picture.throttled.length === 0) return 'No CPU Throttling Found\n';
  const { byContainer } = buildProcesses(picture, 'ps');
  const random = createRandom(`throttle/${node.seed}`);
  // find(1) walks cgroupfs in kernfs order, which is neither creation nor name order.
  const entries = [...picture.throttled].sort(() => random.next() - 0.5);
  const out: string[] = [];
  for (const entry of entries) {
    const id = entry.pod.containerIds.get(entry.container);
    if (!id) continue;
    out.push(`${containerCgroup(entry.pod, id, cgroupVersion)}/cpu.stat`);
    out.push((cgroupVersion === 2 ? cgroupV2CpuStat(entry.stats) : cgroupV1CpuStat(entry.stats)).trimEnd());
    const width = procps(picture) === '3.3.17' ? 7 : 5;
    for (const proc of byContainer.get(id) ?? []) {
      if (style === 'stock' && String(proc.pid).length < width) continue;
      out.push(psAxRow(proc, procps(picture)));
    }
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

export interface IptablesFiles {
  save: string;
  save6: string;
  filter: string;
  nat: string;
  mangle: string;
  filter6: string;
  nat6: string;
  mangle6: string;
}

export interface IptablesOptions {
  era: 'modern' | '2019';
  program: string;
  services: ServicePort[];
  forwardPolicy: 'ACCEPT' | 'DROP';
  forwardPolicyCounters?: { packets: number; bytes: number };
  nfacctInvalid: boolean;
}

export function iptablesTables(picture: NodePicture, options: IptablesOptions): { v4: Table[]; v6: Table[] } {
  const node = picture.sim.node;
  const uptimeHours = (node.collectedAt - node.bootAt) / (3600 * SECOND);
  const rules = eksRuleset({
    random: createRandom(`iptables/${node.seed}`),
    era: options.era,
    nodeIp: node.privateIp,
    primaryInterface: primaryInterfaceOf(node),
    vpcCidr: node.vpcCidr,
    services: options.services,
    forwardPolicy: options.forwardPolicy,
    forwardPolicyCounters: options.forwardPolicyCounters,
    trafficScale: Math.max(0.02, uptimeHours / 24),
    nfacctInvalid: options.nfacctInvalid,
  });
  const v6 = eksIpv6Ruleset();
  // iptables-nft-save prints tables in the order nftables holds them: mangle, filter, nat on these nodes.
  return { v4: [rules.mangle, rules.filter, rules.nat], v6: [v6.mangle, v6.filter, v6.nat] };
}

export function iptablesFiles(picture: NodePicture, options: IptablesOptions, style: 'ours' | 'stock'): IptablesFiles {
  const { v4, v6 } = iptablesTables(picture, options);
  const at = picture.sim.node.collectedAt + 2 * SECOND;
  const list = (table: Table, family: 4 | 6): string =>
    style === 'stock' ? stockListing(table, family) : renderList(table, family);
  const [mangle, filter, nat] = v4 as [Table, Table, Table];
  const [mangle6, filter6, nat6] = v6 as [Table, Table, Table];
  return {
    save: renderSave(v4, { program: options.program, at }),
    save6: renderSave(v6, { program: options.program.replace('iptables', 'ip6tables'), at }),
    filter: list(filter, 4),
    nat: list(nat, 4),
    mangle: list(mangle, 4),
    filter6: list(filter6, 6),
    nat6: list(nat6, 6),
    mangle6: list(mangle6, 6),
  };
}
