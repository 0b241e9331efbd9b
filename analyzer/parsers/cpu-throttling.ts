/**
 * CFS-throttled cgroups with the processes in them, as `get_cpu_throttled_processes` of AWS's
 * eks-log-collector.sh writes them.
 *
 * Reads: `system/cpu_throttling.txt` (item `cpu-throttling`), from the stock script or from our agent, which writes
 * the same format. For every `cpu.stat` under /sys/fs/cgroup that contains `nr_throttled [1-9]` and whose
 * `cgroup.procs` is not empty, the script appends the cpu.stat path, the cpu.stat content (cgroup v1 or v2 keys,
 * see cgroup-cpu-stat.ts), one `ps ax` row (PID TTY STAT TIME COMMAND) per matching pid, then a blank line. When
 * nothing qualified the whole file is `No CPU Throttling Found`, reported as a `no-throttling` event.
 * Cgroup paths are decoded for kubepods: systemd driver (`kubepods-burstable-pod<uid with _>.slice/
 * cri-containerd-<id>.scope`, also docker-/crio- scopes, guaranteed pods directly under kubepods.slice) and cgroupfs
 * driver (`kubepods/burstable/pod<uid>/<id>`), on v1 (`/sys/fs/cgroup/cpu,cpuacct/...`) and v2.
 * Caveat on `processes`: the script selects rows with `ps ax | grep "^<pid>"`, and ps right-aligns PIDs to the
 * width of pid_max, so a pid shorter than that width (most pids on AL2023, where pid_max is 4194304) is never
 * listed, and a row whose pid merely starts with a listed pid is. Rows are kept once per pid. Treat the list as a
 * hint, not as the cgroup's membership. A file whose head was cut starts mid-block; those lines are unparsed.
 *
 * Sample (parsed by the test):
 *   /sys/fs/cgroup/cpu,cpuacct/kubepods/burstable/pod0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b/cpu.stat
 *   nr_periods 120433
 *   nr_throttled 53210
 *   throttled_time 912345678901
 *   12345 ?        Ssl   42:10 /app/aws-k8s-agent
 */

import { CPU_STAT_LINE, type CpuStatSummary, summarizeCpuStat } from './cgroup-cpu-stat.ts';
import type { LineEvent, ParserDef, UnparsedEvent } from './types.ts';

export type QosClass = 'guaranteed' | 'burstable' | 'besteffort';

/** What a kubepods cgroup path says about its pod and container. */
export interface KubepodsIdentity {
  /** The pod UID with dashes, as the API server shows it (static pods have 32-hex-digit UIDs). */
  podUid?: string;
  /** The 64-hex-digit container id (containerd, docker or CRI-O). */
  containerId?: string;
  qosClass?: QosClass;
}

export interface ThrottledProcess {
  pid: number;
  command: string;
  raw: string;
  line: number;
}

export interface ThrottledCgroupEvent extends LineEvent, CpuStatSummary, KubepodsIdentity {
  kind: 'cgroup';
  /** The cgroup directory: the path line without its trailing `/cpu.stat`. */
  cgroupPath: string;
  stats: Record<string, number>;
  processes: ThrottledProcess[];
}

export interface NoThrottlingEvent extends LineEvent {
  kind: 'no-throttling';
}

export type CpuThrottlingEvent = ThrottledCgroupEvent | NoThrottlingEvent | UnparsedEvent;

const NO_THROTTLING = 'No CPU Throttling Found';
const CPU_STAT_SUFFIX = '/cpu.stat';
/** A `ps ax` row: PID TTY STAT TIME COMMAND. */
const PS_AX_ROW = /^\s*(\d+)\s+\S+\s+\S+\s+\S+\s+(.+)$/;
const SYSTEMD_POD_SLICE = /^kubepods(?:-(burstable|besteffort))?-pod([0-9a-f_]+)\.slice$/;
const SYSTEMD_CONTAINER_SCOPE = /^(?:cri-containerd|docker|crio)-([0-9a-f]{64})\.scope$/;
const CGROUPFS_POD = /^pod([0-9a-f-]+)$/;
const CONTAINER_ID = /^[0-9a-f]{64}$/;

/** Pod UID, container id and QoS class from a kubepods cgroup path; empty for any other cgroup. */
export function decodeKubepodsPath(path: string): KubepodsIdentity {
  const identity: KubepodsIdentity = {};
  if (!path.includes('kubepods')) return identity;
  let insideKubepods = false;
  for (const segment of path.split('/')) {
    if (segment === 'kubepods' || segment === 'kubepods.slice') {
      insideKubepods = true;
      continue;
    }
    if (!insideKubepods) continue;
    if (segment === 'kubepods-burstable.slice' || segment === 'burstable') {
      identity.qosClass = 'burstable';
      continue;
    }
    if (segment === 'kubepods-besteffort.slice' || segment === 'besteffort') {
      identity.qosClass = 'besteffort';
      continue;
    }
    const slice = SYSTEMD_POD_SLICE.exec(segment);
    if (slice) {
      identity.qosClass = (slice[1] as QosClass | undefined) ?? 'guaranteed';
      identity.podUid = (slice[2] as string).replaceAll('_', '-');
      continue;
    }
    const pod = CGROUPFS_POD.exec(segment);
    if (pod) {
      identity.qosClass ??= 'guaranteed';
      identity.podUid = pod[1];
      continue;
    }
    if (identity.podUid === undefined) continue;
    const scope = SYSTEMD_CONTAINER_SCOPE.exec(segment);
    if (scope) identity.containerId = scope[1];
    else if (CONTAINER_ID.test(segment)) identity.containerId = segment;
  }
  return identity;
}

export const cpuThrottlingParser: ParserDef<CpuThrottlingEvent> = {
  name: 'cpu-throttling',
  create() {
    let block: ThrottledCgroupEvent | undefined;
    let pidsInBlock = new Set<number>();

    const finish = (emit: (event: CpuThrottlingEvent) => void) => {
      if (!block) return;
      Object.assign(block, summarizeCpuStat(block.stats));
      emit(block);
      block = undefined;
    };

    return {
      push(raw, line, emit) {
        if (raw.trim() === '') {
          finish(emit);
          return;
        }
        if (raw.startsWith('/')) {
          // The script always ends a block with a blank line; a path without one means the previous block was cut.
          finish(emit);
          const cgroupPath = raw.endsWith(CPU_STAT_SUFFIX) ? raw.slice(0, -CPU_STAT_SUFFIX.length) : raw;
          block = {
            kind: 'cgroup',
            line,
            raw,
            cgroupPath,
            stats: {},
            processes: [],
            ...decodeKubepodsPath(cgroupPath),
          };
          pidsInBlock = new Set();
          return;
        }
        if (!block) {
          if (raw === NO_THROTTLING) emit({ kind: 'no-throttling', line, raw });
          else
            emit({ kind: 'unparsed', line, raw, reason: 'outside a cgroup block (no cpu.stat path line before it)' });
          return;
        }
        const stat = CPU_STAT_LINE.exec(raw);
        if (stat) {
          block.stats[stat[1] as string] = Number(stat[2]);
          return;
        }
        const row = PS_AX_ROW.exec(raw);
        if (row) {
          const pid = Number(row[1]);
          if (pidsInBlock.has(pid)) return;
          pidsInBlock.add(pid);
          block.processes.push({ pid, command: row[2] as string, raw, line });
          return;
        }
        emit({ kind: 'unparsed', line, raw, reason: 'neither a cpu.stat line nor a ps ax row' });
      },
      end(emit) {
        finish(emit);
      },
    };
  },
};
