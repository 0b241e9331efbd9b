/**
 * oom-kills: the kernel OOM killer killed processes on the node.
 *
 * The kernel writes one report per kill; its shape changed across the kernels EKS AMIs ship (mm/oom_kill.c):
 * - 4.14 (AL2): `<comm> invoked oom-killer: …`, for a memory cgroup `Task in <task cgroup> killed as a result of limit
 *   of <limit cgroup>`, then `Memory cgroup out of memory: Kill process <pid> (<comm>) score <n> or sacrifice child`
 *   (`Out of memory: Kill process …` when the node itself ran out) and `Killed process <pid> (<comm>) total-vm:…`.
 * - 5.x and 6.x (AL2 5.10, AL2023 6.1): the one-line summary `oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),
 *   cpuset=…,mems_allowed=0,oom_memcg=<limit cgroup>,task_memcg=<task cgroup>,task=<comm>,pid=<pid>,uid=<uid>`
 *   (`constraint=CONSTRAINT_NONE,…,global_oom,task_memcg=…` for the node) and `Memory cgroup out of memory: Killed
 *   process <pid> (<comm>) total-vm:…` / `Out of memory: Killed process …`.
 * A kill at a container's or pod's own limit is that workload's business; a kill at the kubepods cgroup (pods together
 * over the node's allocatable) or a global one means the node ran out; kubelet, containerd or the VPC CNI as the victim
 * takes pod networking down with it. Cgroup paths name the pod (`pod<uid>`, `-pod<uid_with_underscores>.slice`) and
 * container (`<64 hex>`, `cri-containerd-<id>.scope`, `docker-<id>.scope`); the node's pod list names them.
 */

import { defineRule, type FileRef } from '../engine/rule.ts';
import type { Evidence, FindingTable } from '../report/model.ts';
import { type KernelLine, kernelLineOf, kernelLogCoverage } from './shared/kernel-log.ts';

const INVOKED = /^(.+?) invoked oom-killer: /;
const SUMMARY = /^oom-kill:constraint=(\w+),/;
const TASK_IN = /^Task in (\S+) killed as a result of limit of (\S+)/;
const KILL_PROCESS = /^(Memory cgroup out of memory|Out of memory[^:]*): Kill process (\d+) \((.*)\) score /;
const KILLED =
  /^(?:(Memory cgroup out of memory|Out of memory[^:]*): )?Killed process (\d+) \((.*?)\)(?: total-vm:(\d+)kB, anon-rss:(\d+)kB)?/;

const POD_UID = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/;
const CONTAINER_SEGMENT = /^(?:cri-containerd-|docker-|crio-)?([0-9a-f]{64})(?:\.scope)?$/;

/** Processes whose death stops pod networking or pod lifecycle on the node (comm, at most 15 characters). */
const CRITICAL_PROCESSES = new Set(['kubelet', 'containerd', 'dockerd', 'aws-k8s-agent', 'aws-vpc-cni']);
const CRITICAL_UNITS = new Set(['kubelet.service', 'containerd.service', 'docker.service']);
const MAX_TABLE_ROWS = 20;
const MAX_EVIDENCE_KILLS = 6;
const MAX_DISTINCT_KILLS = 10_000;

type Limit = 'container' | 'pod' | 'kubepods' | 'unit' | 'node' | 'unknown';

const LIMIT_TEXT: Record<Limit, string> = {
  container: 'container memory limit',
  pod: 'pod memory limit',
  kubepods: 'node allocatable (kubepods cgroup limit)',
  unit: 'systemd unit memory limit',
  node: 'node out of memory',
  unknown: 'unknown (no OOM report before it)',
};

interface CgroupPlace {
  level: 'container' | 'pod' | 'qos' | 'kubepods' | 'unit' | 'root' | 'other';
  podUid?: string;
  containerId?: string;
  unit?: string;
}

/** Where a cgroup path sits in the kubelet's hierarchy (cgroupfs or systemd driver, cgroup v1 or v2). */
export function placeOfCgroup(path: string): CgroupPlace {
  const segments = path.split('/').filter((segment) => segment !== '');
  const last = segments.at(-1) ?? '';
  if (segments.length === 0) return { level: 'root' };
  const podUid = POD_UID.exec(path)?.[1]?.replaceAll('_', '-');
  const containerId = CONTAINER_SEGMENT.exec(last)?.[1];
  if (podUid && containerId) return { level: 'container', podUid, containerId };
  if (podUid && POD_UID.test(last)) return { level: 'pod', podUid };
  if (/^kubepods(?:\.slice)?$/.test(last)) return { level: 'kubepods' };
  if (/^(?:kubepods-)?(?:burstable|besteffort)(?:\.slice)?$/.test(last) && path.includes('kubepods')) {
    return { level: 'qos' };
  }
  if (/\.(?:service|scope)$/.test(last) && !path.includes('kubepods')) return { level: 'unit', unit: last };
  return { level: 'other' };
}

interface OomReport {
  constraint?: string;
  limitCgroup?: string;
  taskCgroup?: string;
  killPrefix?: string;
  context?: Evidence;
}

interface OomKill {
  pid: number;
  comm: string;
  limit: Limit;
  taskCgroup?: string;
  limitCgroup?: string;
  anonRssKb?: number;
  when: string;
  evidence: Evidence;
  context?: Evidence;
  /** Other kernel log files that report the same kill. */
  alsoIn: number;
}

interface PodName {
  namespace: string;
  name: string;
  containers: Map<string, string>;
}

function limitOf(report: OomReport, prefix: string | undefined): Limit {
  const kind = prefix ?? report.killPrefix;
  const memcg =
    kind?.startsWith('Memory cgroup') ||
    report.constraint === 'CONSTRAINT_MEMCG' ||
    (kind === undefined && report.limitCgroup !== undefined);
  if (!memcg) return kind || report.constraint ? 'node' : 'unknown';
  const place = report.limitCgroup ? placeOfCgroup(report.limitCgroup) : undefined;
  switch (place?.level) {
    case 'container':
      return 'container';
    case 'pod':
      return 'pod';
    case 'qos':
    case 'kubepods':
      return 'kubepods';
    case 'unit':
      return 'unit';
    default:
      return 'container';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export default defineRule({
  meta: {
    id: 'oom-kills',
    title: 'Kernel OOM kills',
    severity: 'warning',
    description:
      'The kernel OOM killer ends a process when a memory cgroup or the whole node runs out of memory. A kill at a container limit is that workload outgrowing its own limit; kills at the node or kubepods level mean the node is overcommitted, and kubelet, containerd or the VPC CNI (aws-node) as victims take pod networking and pod lifecycle down with them.',
    needs: [{ anyOf: ['dmesg', 'dmesg-human', 'system-messages', 'system-syslog'] }],
    uses: ['kubelet-pods'],
    filters: {
      dmesg: ['oom-kill', 'out of memory', 'Out of memory', 'Killed process', 'Kill process', 'killed as a result of'],
      'dmesg-human': [
        'oom-kill',
        'out of memory',
        'Out of memory',
        'Killed process',
        'Kill process',
        'killed as a result of',
      ],
      'system-messages': [
        'oom-kill',
        'out of memory',
        'Out of memory',
        'Killed process',
        'Kill process',
        'killed as a result of',
      ],
      'system-syslog': [
        'oom-kill',
        'out of memory',
        'Out of memory',
        'Killed process',
        'Kill process',
        'killed as a result of',
      ],
    },
    messages: {
      criticalVictim:
        'The kernel OOM killer killed {{victims}}, which pod networking and pod lifecycle depend on; {{total}} OOM kill(s) in all ({{breakdown}}).',
      nodeOom:
        'The node ran out of memory for its pods: the kernel OOM killer killed {{victims}}{{more}} ({{breakdown}}).',
      containerOom: '{{total}} process(es) were OOM-killed ({{breakdown}}): {{victims}}{{more}}.',
      none: 'No kernel OOM kills in the kernel log ({{sources}}).',
    },
    remediation: [
      'See what the node spends memory on: `free -m`, `cat /sys/fs/cgroup/kubepods.slice/memory.current` (cgroup v2) and `kubectl top pods -A --sort-by=memory` for the pods on this node.',
      'For kills at a container or pod limit: raise that container’s `resources.limits.memory` or fix its memory growth; `kubectl describe pod` shows `OOMKilled` as the last state.',
      'For node-level kills: set memory requests close to real use so the scheduler does not overcommit the node, and reserve memory for the system (`kubeReserved`/`systemReserved` and `evictionHard` `memory.available` in the kubelet configuration; the EKS AMIs size `kubeReserved` by pod density).',
      'If kubelet, containerd or aws-node were killed, check they came back: `systemctl status kubelet containerd` and `kubectl -n kube-system get pods -o wide | grep aws-node`; pods created while ipamd was down may have failed to get an IP.',
    ],
    references: [
      {
        title: 'Kubernetes: node-pressure eviction and OOM behaviour',
        url: 'https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/#node-out-of-memory-behavior',
      },
      {
        title: 'Amazon EKS: reserve resources for system daemons (kubeReserved on EKS AMIs)',
        url: 'https://docs.aws.amazon.com/eks/latest/best-practices/node_and_workload_efficiency.html',
      },
      {
        title: 'Linux mm/oom_kill.c (report format: oom-kill:constraint summary since 5.0)',
        url: 'https://github.com/torvalds/linux/blob/master/mm/oom_kill.c',
      },
    ],
  },
  create(ctx) {
    const reports = new Map<string, OomReport>();
    const kills = new Map<string, OomKill>();
    let distinctOverflow = 0;
    const pods = new Map<string, PodName>();
    const containerNames = new Map<string, { pod: PodName; container: string }>();

    const sawKernel = (kernel: KernelLine | undefined, file: FileRef) => {
      if (!kernel) return;
      const text = kernel.message;
      let report = reports.get(file.path);
      if (INVOKED.test(text)) {
        reports.set(file.path, { context: ctx.evidence(file, kernel) });
        return;
      }
      if (!report) {
        report = {};
        reports.set(file.path, report);
      }
      const summary = SUMMARY.exec(text);
      if (summary) {
        report.constraint = summary[1];
        report.limitCgroup = /(?:^|,)oom_memcg=([^,]*)/.exec(text)?.[1];
        report.taskCgroup = /(?:^|,)task_memcg=([^,]*)/.exec(text)?.[1];
        report.context = ctx.evidence(file, kernel, kernel.time ? { time: kernel.time } : undefined);
        return;
      }
      const taskIn = TASK_IN.exec(text);
      if (taskIn) {
        report.constraint = 'CONSTRAINT_MEMCG';
        report.taskCgroup = taskIn[1];
        report.limitCgroup = taskIn[2];
        report.context = ctx.evidence(file, kernel, kernel.time ? { time: kernel.time } : undefined);
        return;
      }
      const killProcess = KILL_PROCESS.exec(text);
      if (killProcess) {
        report.killPrefix = killProcess[1];
        return;
      }
      const killed = KILLED.exec(text);
      if (!killed) return;
      const pid = Number(killed[2]);
      const comm = killed[3] ?? '';
      const key = `${pid}:${comm}`;
      const seen = kills.get(key);
      if (seen) {
        seen.alsoIn++;
        return;
      }
      if (kills.size >= MAX_DISTINCT_KILLS) {
        distinctOverflow++;
        return;
      }
      const kill: OomKill = {
        pid,
        comm,
        limit: limitOf(report, killed[1]),
        when: kernel.time ?? (kernel.seconds !== undefined ? `${kernel.seconds.toFixed(0)} s after boot` : ''),
        evidence: ctx.evidence(file, kernel, { highlight: true, ...(kernel.time ? { time: kernel.time } : {}) }),
        alsoIn: 0,
      };
      if (report.taskCgroup) kill.taskCgroup = report.taskCgroup;
      if (report.limitCgroup) kill.limitCgroup = report.limitCgroup;
      if (report.context) kill.context = report.context;
      if (killed[5] !== undefined) kill.anonRssKb = Number(killed[5]);
      kills.set(key, kill);
    };

    const sawKernelEvent = (event: Parameters<typeof kernelLineOf>[0], file: FileRef) =>
      sawKernel(kernelLineOf(event), file);

    const sawPodList = (value: unknown) => {
      const items = isRecord(value) && Array.isArray(value.items) ? value.items : [];
      for (const item of items) {
        if (!isRecord(item) || !isRecord(item.metadata)) continue;
        const { uid, name, namespace } = item.metadata;
        if (typeof uid !== 'string' || typeof name !== 'string') continue;
        const pod: PodName = { namespace: typeof namespace === 'string' ? namespace : '', name, containers: new Map() };
        pods.set(uid, pod);
        const status = isRecord(item.status) ? item.status : {};
        for (const list of [status.containerStatuses, status.initContainerStatuses]) {
          if (!Array.isArray(list)) continue;
          for (const container of list) {
            if (!isRecord(container) || typeof container.name !== 'string') continue;
            const id = typeof container.containerID === 'string' ? container.containerID.replace(/^\w+:\/\//, '') : '';
            if (id) containerNames.set(id, { pod, container: container.name });
          }
        }
      }
    };

    const whoIs = (kill: OomKill): { text: string; critical: boolean } => {
      const place = kill.taskCgroup ? placeOfCgroup(kill.taskCgroup) : undefined;
      const named = place?.containerId ? containerNames.get(place.containerId) : undefined;
      const pod = named?.pod ?? (place?.podUid ? pods.get(place.podUid) : undefined);
      const critical =
        CRITICAL_PROCESSES.has(kill.comm) ||
        (place?.unit !== undefined && CRITICAL_UNITS.has(place.unit)) ||
        (pod !== undefined && pod.namespace === 'kube-system' && /^aws-node-/.test(pod.name));
      let text = '-';
      if (pod) text = `${pod.namespace}/${pod.name}${named ? ` container ${named.container}` : ''}`;
      else if (place?.podUid) {
        text = `pod uid ${place.podUid}${place.containerId ? ` container ${place.containerId.slice(0, 12)}` : ''}`;
      } else if (place?.unit) text = place.unit;
      return { text, critical };
    };

    return {
      dmesg: sawKernelEvent,
      'dmesg-human': sawKernelEvent,
      'system-messages': sawKernelEvent,
      'system-syslog': sawKernelEvent,
      'kubelet-pods'(event) {
        if (event.kind === 'document') sawPodList(event.value);
      },
      done() {
        const coverage = kernelLogCoverage((id) => ctx.bundle.item(id));
        if (kills.size === 0) {
          ctx.pass(
            'none',
            { sources: coverage.facts.map((fact) => `${fact.path}: ${fact.value}`).join('; ') },
            { facts: coverage.facts, caveats: coverage.caveats },
          );
          return;
        }

        const all = [...kills.values()].map((kill) => ({ kill, who: whoIs(kill) }));
        const nodeLimits: readonly Limit[] = ['node', 'kubepods', 'unit'];
        const rank = (entry: (typeof all)[number]) =>
          entry.who.critical ? 0 : nodeLimits.includes(entry.kill.limit) ? 1 : 2;
        all.sort((a, b) => rank(a) - rank(b));
        const counts = new Map<Limit, number>();
        for (const { kill } of all) counts.set(kill.limit, (counts.get(kill.limit) ?? 0) + 1);
        const breakdown = [...counts.entries()].map(([limit, n]) => `${n} at ${LIMIT_TEXT[limit]}`).join(', ');
        const label = ({ kill, who }: (typeof all)[number]) =>
          `${kill.comm} (pid ${kill.pid}${who.text !== '-' ? `, ${who.text}` : ''})`;

        const table: FindingTable = {
          caption: `OOM kills (${all.length}${distinctOverflow > 0 ? `, and ${distinctOverflow} more not listed` : ''})`,
          columns: ['When', 'Process (pid)', 'Killed at', 'Pod / container / unit', 'Anon RSS at kill'],
          rows: all
            .slice(0, MAX_TABLE_ROWS)
            .map(({ kill, who }) => [
              kill.when || '-',
              `${kill.comm} (${kill.pid})`,
              LIMIT_TEXT[kill.limit],
              who.text,
              kill.anonRssKb !== undefined ? `${Math.round(kill.anonRssKb / 1024)} MiB` : '-',
            ]),
        };
        const evidence: Evidence[] = [];
        for (const { kill } of all.slice(0, MAX_EVIDENCE_KILLS)) {
          if (kill.context && kill.context.path === kill.evidence.path) evidence.push(kill.context);
          evidence.push(
            kill.alsoIn > 0
              ? { ...kill.evidence, note: `also in ${kill.alsoIn} other kernel log file(s)` }
              : kill.evidence,
          );
        }
        const outcome = { evidence, tables: [table], facts: coverage.facts, caveats: coverage.caveats };

        const critical = all.filter((entry) => entry.who.critical);
        if (critical.length > 0) {
          ctx.fail(
            'criticalVictim',
            { victims: critical.map(label).join(', '), total: all.length, breakdown },
            { ...outcome, severity: 'critical' },
          );
          return;
        }
        const nodeLevel = all.filter((entry) => rank(entry) === 1);
        const shown = nodeLevel.length > 0 ? nodeLevel : all;
        const victims = shown.slice(0, 5).map(label).join(', ');
        const more = shown.length > 5 ? ` and ${shown.length - 5} more` : '';
        if (nodeLevel.length > 0) {
          ctx.fail('nodeOom', { victims, more, breakdown }, { ...outcome, severity: 'warning' });
          return;
        }
        ctx.fail('containerOom', { total: all.length, breakdown, victims, more }, { ...outcome, severity: 'info' });
      },
    };
  },
});
