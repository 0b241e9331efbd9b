/**
 * conntrack-table-full: the kernel dropped packets because the connection tracking table was full, or is about to.
 *
 * Every new flow through the node (pod egress SNAT, Service DNAT by kube-proxy, NodePorts) needs a conntrack entry.
 * When `nf_conntrack_count` reaches `nf_conntrack_max`, the kernel evicts what it can and drops the packets of new
 * flows, logging (rate-limited) `nf_conntrack: table full, dropping packet`; kernels since 4.x print the module name
 * twice (`nf_conntrack: nf_conntrack: table full, dropping packet`, pr_fmt plus the message). Pods see connection
 * timeouts and DNS failures while established connections keep working.
 *
 * Evidence, in order of strength: the kernel message (dmesg, dmesg --ctime, or `kernel:` lines of the system log);
 * `conntrack -S` counters (`drop` = packets dropped for want of an entry, `early_drop` = entries evicted to make room,
 * both since boot; `insert_failed` counts insertion races, not a full table); the fill level `nf_conntrack_count` of
 * `nf_conntrack_max` from sysctls or our agent's conntrack files. node-problem-detector warns at 90% full.
 */

import { defineRule, type FileRef } from '../engine/rule.ts';
import type { TextLineEvent } from '../parsers/text-lines.ts';
import type { Evidence, Fact } from '../report/model.ts';
import { KERNEL_LOG_ITEMS, type KernelLine, kernelLineOf, kernelLogCoverage } from './shared/kernel-log.ts';

/** Both kernel forms, and the `ip_conntrack` one of kernels before 2.6.20, with or without the old trailing period. */
const TABLE_FULL = /\b(?:nf|ip)_conntrack: (?:nf_conntrack: )?table full, dropping packet/;
const SUPPRESSED = /^net_ratelimit: (\d+) callbacks suppressed/;
const FILL_KEY = /^(?:net\.netfilter\.|net\.|\S*\/)?nf_conntrack_(count|max)\s*[=:]\s*(\d+)\s*$/;
const NEAR_FULL = 0.9;

interface KernelSource {
  path: string;
  messages: number;
  suppressed: number;
  first?: Evidence;
  last?: Evidence;
}

interface Reading {
  value: number;
  path: string;
  line: number;
  raw: string;
  fromSysctl?: boolean;
}

interface ConntrackStats {
  cpus: number;
  drop: number;
  earlyDrop: number;
  insertFailed: number;
  path: string;
  /** First CPU line with a non-zero drop or early_drop counter. */
  dropLine?: Evidence;
  firstLine?: Evidence;
}

export default defineRule({
  meta: {
    id: 'conntrack-table-full',
    title: 'Connection tracking table full',
    severity: 'critical',
    description:
      'Every new connection through the node (pod egress SNAT, Service and NodePort DNAT) needs a conntrack entry. When nf_conntrack_count reaches nf_conntrack_max the kernel drops the packets of new connections ("nf_conntrack: table full, dropping packet"): pods see timeouts and DNS failures.',
    needs: [
      {
        anyOf: [
          'dmesg',
          'dmesg-human',
          'system-messages',
          'system-syslog',
          'sysctl-all',
          'conntrack-stats',
          'conntrack-count',
        ],
      },
    ],
    filters: {
      dmesg: ['table full', 'callbacks suppressed'],
      'dmesg-human': ['table full', 'callbacks suppressed'],
      'system-messages': ['table full', 'callbacks suppressed'],
      'system-syslog': ['table full', 'callbacks suppressed'],
      'sysctl-all': ['nf_conntrack_count', 'nf_conntrack_max'],
      'conntrack-stats': ['cpu=', 'nf_conntrack_', 'Output of conntrack -L'],
    },
    messages: {
      tableFull:
        'The kernel dropped packets because the connection tracking table was full: {{messages}} "table full, dropping packet" message(s) in {{path}}{{suppressed}}{{fill}}.',
      statsDrops:
        'conntrack statistics count {{drop}} packet(s) dropped and {{earlyDrop}} entries evicted early since boot because the table was full{{fill}}.',
      nearFull: 'The connection tracking table is {{percent}}% full ({{count}} of {{max}} entries).',
      ok: 'The connection tracking table has not overflowed: {{observed}}.',
    },
    remediation: [
      'Confirm the fill level on the node: `cat /proc/sys/net/netfilter/nf_conntrack_count /proc/sys/net/netfilter/nf_conntrack_max` and `conntrack -S` (watch `drop` and `early_drop`).',
      "Find who holds the entries: `conntrack -L -o extended | awk '{print $3, $7}' | sort | uniq -c | sort -rn | head` (short-lived connections, DNS over UDP and retry storms fill it first).",
      'Raise the limit for the node size: kube-proxy sets `nf_conntrack_max` at start from `conntrack.maxPerCore` × CPUs (at least `conntrack.min`), so change those in the `kube-proxy-config` ConfigMap (`kubectl -n kube-system edit configmap kube-proxy-config`) and restart kube-proxy; a `sysctl -w net.netfilter.nf_conntrack_max=<n>` alone is undone at its next start.',
      'Shorten the life of idle entries if the workload keeps many of them: `net.netfilter.nf_conntrack_tcp_timeout_time_wait` and `..._close_wait` (kube-proxy also sets `conntrack.tcpCloseWaitTimeout`).',
      'Spread connection-heavy pods over more nodes, or use larger instances (the default limit scales with memory and CPUs).',
    ],
    references: [
      {
        title: 'Amazon EKS best practices: networking',
        url: 'https://docs.aws.amazon.com/eks/latest/best-practices/networking.html',
      },
      {
        title: 'Linux kernel: nf_conntrack sysctl documentation',
        url: 'https://docs.kernel.org/networking/nf_conntrack-sysctl.html',
      },
      {
        title: 'kube-proxy configuration: conntrack maxPerCore, min, tcpCloseWaitTimeout',
        url: 'https://kubernetes.io/docs/reference/config-api/kube-proxy-config.v1alpha1/',
      },
      {
        title: 'EKS node monitoring agent: ConntrackExceededKernel',
        url: 'https://docs.aws.amazon.com/eks/latest/userguide/node-health.html',
      },
    ],
  },
  create(ctx) {
    const kernelSources = new Map<string, KernelSource>();
    let count: Reading | undefined;
    let max: Reading | undefined;
    let stats: ConntrackStats | undefined;
    let listingHeader: { path: string; line: number } | undefined;

    const sawKernelLine = (kernel: KernelLine | undefined, file: FileRef) => {
      if (!kernel) return;
      let source = kernelSources.get(file.path);
      const ensure = () => {
        if (!source) {
          source = { path: file.path, messages: 0, suppressed: 0 };
          kernelSources.set(file.path, source);
        }
        return source;
      };
      const suppressed = SUPPRESSED.exec(kernel.message);
      if (suppressed) {
        ensure().suppressed += Number(suppressed[1]);
        return;
      }
      if (!TABLE_FULL.test(kernel.message)) return;
      const into = ensure();
      into.messages++;
      const evidence = ctx.evidence(file, kernel, { highlight: true, ...(kernel.time ? { time: kernel.time } : {}) });
      if (!into.first) into.first = evidence;
      else into.last = evidence;
    };

    const sawFill = (key: 'count' | 'max', value: number, file: FileRef, event: { line: number; raw: string }) => {
      const reading = { value, path: file.path, line: event.line, raw: event.raw };
      // sysctls are the primary source (their first value wins); conntrack files only fill in what they lack.
      const fromSysctl = file.item === 'sysctl-all';
      const held = key === 'count' ? count : max;
      if (held && (held.fromSysctl || !fromSysctl)) return;
      if (key === 'count') count = { ...reading, fromSysctl };
      else max = { ...reading, fromSysctl };
    };

    const sawConntrackText = (event: TextLineEvent, file: FileRef) => {
      const text = event.text;
      if (text.includes('Output of conntrack -L')) {
        listingHeader = { path: file.path, line: event.line };
        return;
      }
      const fill = FILL_KEY.exec(text);
      if (fill) {
        sawFill(fill[1] === 'count' ? 'count' : 'max', Number(fill[2]), file, event);
        return;
      }
      if (file.item === 'conntrack-count' && /^\d+$/.test(text)) {
        sawFill('count', Number(text), file, event);
        return;
      }
      if (!text.startsWith('cpu=')) return;
      const fields = new Map<string, number>();
      for (const match of text.matchAll(/(\w+)=\s*(\d+)/g)) fields.set(match[1] ?? '', Number(match[2]));
      stats ??= { cpus: 0, drop: 0, earlyDrop: 0, insertFailed: 0, path: file.path };
      stats.cpus++;
      const drop = fields.get('drop') ?? 0;
      const earlyDrop = fields.get('early_drop') ?? 0;
      stats.drop += drop;
      stats.earlyDrop += earlyDrop;
      stats.insertFailed += fields.get('insert_failed') ?? 0;
      stats.firstLine ??= ctx.evidence(file, event);
      if ((drop > 0 || earlyDrop > 0) && !stats.dropLine)
        stats.dropLine = ctx.evidence(file, event, { highlight: true });
    };

    const sawKernel = (event: Parameters<typeof kernelLineOf>[0], file: FileRef) =>
      sawKernelLine(kernelLineOf(event), file);

    return {
      dmesg: sawKernel,
      'dmesg-human': sawKernel,
      'system-messages': sawKernel,
      'system-syslog': sawKernel,
      'sysctl-all'(event, file) {
        if (event.kind !== 'value') return;
        if (!/^\d+$/.test(event.value)) return;
        const value = Number(event.value);
        if (event.key === 'net.netfilter.nf_conntrack_count') sawFill('count', value, file, event);
        // `net.nf_conntrack_max` is the same value under its old name.
        else if (event.key === 'net.netfilter.nf_conntrack_max' || event.key === 'net.nf_conntrack_max') {
          sawFill('max', value, file, event);
        }
      },
      'conntrack-stats': sawConntrackText,
      'conntrack-count': sawConntrackText,
      done() {
        const facts: Fact[] = [];
        const caveats: string[] = [];
        const fillEvidence: Evidence[] = [];

        // The listing of `conntrack -L` (stock bundles) counts the entries when nothing else does.
        if (!count && listingHeader) {
          const header = listingHeader;
          const listing = ctx.bundle.item('conntrack-stats').files.find((f) => f.path === header.path);
          if (listing && listing.lines > header.line) {
            count = { value: listing.lines - header.line, path: header.path, line: header.line, raw: '' };
            caveats.push(
              'The entry count is the number of lines `conntrack -L` listed (IPv4 only), not the kernel counter.',
            );
          }
        }
        const ratio = count && max && max.value > 0 ? count.value / max.value : undefined;
        const percent = ratio === undefined ? '' : (Math.floor(ratio * 1000) / 10).toString();
        if (count && max) {
          facts.push({
            label: 'Connection tracking entries',
            value: `${count.value} of ${max.value} (${percent}%)`,
            path: count.path,
            line: count.line,
          });
          for (const reading of [count, max]) {
            if (reading.raw !== '') {
              fillEvidence.push({
                path: reading.path,
                line: reading.line,
                text: reading.raw,
                highlight: ratio !== undefined && ratio >= NEAR_FULL,
              });
            }
          }
        } else if (max) {
          facts.push({ label: 'nf_conntrack_max', value: String(max.value), path: max.path, line: max.line });
        }
        const fillNote =
          ratio === undefined
            ? ''
            : `; at collection the table held ${count?.value} of ${max?.value} entries (${percent}%)`;
        if (stats) {
          facts.push({
            label: 'conntrack -S (all CPUs, since boot)',
            value: `drop=${stats.drop} early_drop=${stats.earlyDrop} insert_failed=${stats.insertFailed} over ${stats.cpus} CPU line(s)`,
            path: stats.path,
          });
          if (stats.insertFailed > 0) {
            caveats.push(
              `insert_failed=${stats.insertFailed}: conntrack insertion races (typically parallel UDP DNS queries through SNAT/DNAT), a separate cause of dropped packets, not a full table.`,
            );
          }
        }

        const withMessages = [...kernelSources.values()].filter((source) => source.messages > 0);
        if (withMessages.length > 0) {
          // The same drops show in dmesg, dmesg --ctime and the system log: count the fullest source, cite each.
          const main = withMessages.reduce((a, b) => (b.messages > a.messages ? b : a));
          const evidence: Evidence[] = [];
          for (const source of withMessages) {
            if (source.first) {
              evidence.push(
                source.messages > 1
                  ? { ...source.first, note: `first of ${source.messages} in this file` }
                  : source.first,
              );
            }
            if (source.last) evidence.push({ ...source.last, note: 'last in this file' });
          }
          evidence.push(...fillEvidence);
          if (stats?.dropLine) evidence.push(stats.dropLine);
          const severity = ratio !== undefined && ratio < NEAR_FULL ? 'warning' : 'critical';
          if (severity === 'warning') {
            caveats.push(
              'The table had room when the bundle was collected: the drops happened earlier, and recur under the same load.',
            );
          }
          ctx.fail(
            'tableFull',
            {
              messages: main.messages,
              path: main.path,
              suppressed:
                main.suppressed > 0
                  ? `, and net_ratelimit suppressed ${main.suppressed} more network messages there (table-full ones among them)`
                  : '',
              fill: fillNote,
            },
            { evidence, facts, caveats, severity },
          );
          return;
        }

        if (stats && (stats.drop > 0 || stats.earlyDrop > 0)) {
          const evidence = stats.dropLine ? [stats.dropLine, ...fillEvidence] : fillEvidence;
          const kernelRead = KERNEL_LOG_ITEMS.some((id) => ctx.bundle.item(id).present);
          caveats.push(
            kernelRead
              ? 'The kernel log in the bundle holds no "table full" message: it was rotated, or the ring buffer wrapped, since the drops.'
              : 'No kernel log in the bundle to date the drops.',
          );
          ctx.fail(
            'statsDrops',
            { drop: stats.drop, earlyDrop: stats.earlyDrop, fill: fillNote },
            { evidence, facts, caveats, severity: ratio !== undefined && ratio >= NEAR_FULL ? 'critical' : 'warning' },
          );
          return;
        }

        if (ratio !== undefined && ratio >= NEAR_FULL && count && max) {
          ctx.fail(
            'nearFull',
            { percent, count: count.value, max: max.value },
            { evidence: fillEvidence, facts, caveats, severity: 'warning' },
          );
          return;
        }

        const coverage = kernelLogCoverage((id) => ctx.bundle.item(id));
        const observed: string[] = [];
        if (coverage.facts.length > 0) observed.push('no "table full" message in the kernel log');
        if (stats) observed.push(`conntrack -S counts no drops on ${stats.cpus} CPU line(s)`);
        if (ratio !== undefined)
          observed.push(`the table holds ${count?.value} of ${max?.value} entries (${percent}%)`);
        if (observed.length === 0) {
          ctx.notEvaluated(
            'the bundle holds no kernel log, no conntrack statistics and no nf_conntrack_count/nf_conntrack_max values (nf_conntrack may not be loaded)',
          );
          return;
        }
        if (ratio === undefined) {
          caveats.push('The current fill level (nf_conntrack_count of nf_conntrack_max) is not in the bundle.');
        }
        if (coverage.facts.length === 0) caveats.push('No kernel log in the bundle: past drops cannot be ruled out.');
        ctx.pass(
          'ok',
          { observed: observed.join('; ') },
          { evidence: fillEvidence, facts: [...facts, ...coverage.facts], caveats: [...caveats, ...coverage.caveats] },
        );
      },
    };
  },
});
