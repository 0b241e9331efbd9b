/**
 * kubelet-probe-failures: liveness, readiness and startup probe failures in the kubelet journal, grouped by pod,
 * container and probe type, with the restarts they caused. Failures of kube-system/aws-node-* are critical: when
 * aws-node's probes fail, kubelet restarts ipamd and new pods on the node get no IP addresses.
 */

import { defineRule, type FileRef, type FileSummary } from '../engine/rule.ts';
import type { Evidence, FindingTable } from '../report/model.ts';
import {
  createProbeReader,
  isAwsNode,
  PROBE_CONTINUATION_LINES,
  PROBE_FILTERS,
  type ProbeType,
} from './shared/kubelet-probes.ts';

interface Group {
  namespace: string;
  pod: string;
  container: string;
  probeType: ProbeType;
  count: number;
  timeouts: number;
  first: Evidence;
  last: Evidence;
  /** Distinct outputs, first seen first, at most three. */
  outputs: string[];
  samples: Evidence[];
}

const MAX_SAMPLES_PER_GROUP = 2;
const MAX_EVIDENCE = 14;
const MAX_OUTPUT_CHARS = 300;

function shorten(text: string): string {
  return text.length > MAX_OUTPUT_CHARS ? `${text.slice(0, MAX_OUTPUT_CHARS)}…` : text;
}

/** Collects probe sightings from one journal source (the kubelet journal, or syslog when that is all there is). */
function createCollector(
  evidenceOf: (file: FileRef, event: { line: number; raw: string }, extra?: Partial<Evidence>) => Evidence,
) {
  const groups = new Map<string, Group>();
  const restarts = new Map<string, { count: number; evidence: Evidence[] }>();
  const reader = createProbeReader((sighting, event, file) => {
    const evidence = evidenceOf(file, event, { time: event.timestamp, highlight: true });
    const podKey = `${sighting.namespace}/${sighting.pod}|${sighting.container}`;
    if (sighting.kind === 'restart') {
      const entry = restarts.get(podKey) ?? { count: 0, evidence: [] };
      entry.count++;
      if (entry.evidence.length < 2) entry.evidence.push(evidence);
      restarts.set(podKey, entry);
      return;
    }
    const key = `${podKey}|${sighting.probeType}`;
    let group = groups.get(key);
    if (!group) {
      group = {
        namespace: sighting.namespace,
        pod: sighting.pod,
        container: sighting.container,
        probeType: sighting.probeType,
        count: 0,
        timeouts: 0,
        first: evidence,
        last: evidence,
        outputs: [],
        samples: [],
      };
      groups.set(key, group);
    }
    group.count++;
    if (sighting.timedOut) group.timeouts++;
    group.last = evidence;
    if (group.samples.length < MAX_SAMPLES_PER_GROUP) group.samples.push(evidence);
    const output = shorten(sighting.output.trim());
    if (output && group.outputs.length < 3 && !group.outputs.includes(output)) group.outputs.push(output);
  });
  return { groups, restarts, handle: reader.handle, flush: reader.flush };
}

function windowOf(files: FileSummary[]): string {
  const first = files[0]?.firstLine?.slice(0, 32);
  const last = files[files.length - 1]?.lastLine?.slice(0, 32);
  return first && last ? `from "${first.trim()}" to "${last.trim()}"` : 'the whole journal in the bundle';
}

export default defineRule({
  meta: {
    id: 'kubelet-probe-failures',
    title: 'Kubelet probe failures',
    severity: 'warning',
    description:
      'Liveness, readiness and startup probe failures that kubelet logged, grouped by pod, container and probe type, with the restarts they caused. Failing probes of aws-node (the VPC CNI) restart ipamd and leave new pods without IP addresses.',
    needs: [{ anyOf: ['kubelet-log', 'system-messages', 'system-syslog'] }],
    filters: { 'kubelet-log': PROBE_FILTERS, 'system-messages': PROBE_FILTERS, 'system-syslog': PROBE_FILTERS },
    linesAfterMatch: {
      'kubelet-log': PROBE_CONTINUATION_LINES,
      'system-messages': PROBE_CONTINUATION_LINES,
      'system-syslog': PROBE_CONTINUATION_LINES,
    },
    messages: {
      failures:
        'Kubelet recorded {{total}} probe failures ({{timeouts}} timeouts) in {{groups}} pod/container/probe combinations between {{first}} and {{last}}{{awsNode}}{{restarts}}.',
      none: 'No liveness, readiness or startup probe failures in {{lines}} lines of {{source}}, {{window}}.',
    },
    remediation: [
      "For aws-node: check why ipamd does not answer its gRPC health check (port 50051 or the ipamd socket): `kubectl -n kube-system logs <aws-node pod> -c aws-node --previous` and the node's `/var/log/aws-routed-eni/ipamd.log`.",
      "If the failures are timeouts on a busy node, see the cpu-starvation finding: check aws-node's CPU request (default 25m) and raise the probe `timeoutSeconds` only on nodes that are consistently under heavy load.",
      "For application pods: compare the probe's timeout and period with the application's real response time under load: `kubectl -n <namespace> describe pod <pod>`.",
    ],
    references: [
      {
        title: 'Kubernetes: configure liveness, readiness and startup probes',
        url: 'https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/',
      },
      {
        title: 'VPC CNI troubleshooting',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/troubleshooting.md',
      },
    ],
  },
  create(ctx) {
    const fromKubelet = createCollector(ctx.evidence);
    const fromSyslog = createCollector(ctx.evidence);
    return {
      'kubelet-log': fromKubelet.handle,
      'system-messages': fromSyslog.handle,
      'system-syslog': fromSyslog.handle,
      done() {
        fromKubelet.flush();
        fromSyslog.flush();
        // On AL2 /var/log/messages repeats the kubelet journal: read it only when the journal itself is absent.
        const kubelet = ctx.bundle.item('kubelet-log');
        const source = kubelet.present ? fromKubelet : fromSyslog;
        const files = kubelet.present
          ? kubelet.files
          : [...ctx.bundle.item('system-messages').files, ...ctx.bundle.item('system-syslog').files];
        const sourceName = files.map((file) => file.path).join(', ');
        const groups = [...source.groups.values()].sort(
          (a, b) => Number(isAwsNode(b.namespace, b.pod)) - Number(isAwsNode(a.namespace, a.pod)) || b.count - a.count,
        );
        const lines = files.reduce((sum, file) => sum + file.lines, 0);

        if (groups.length === 0) {
          const evidence: Evidence[] = [];
          for (const file of files) {
            if (file.firstLine) evidence.push({ path: file.path, line: 1, text: file.firstLine, note: 'first line' });
            if (file.lastLine && file.lines > 1) {
              evidence.push({ path: file.path, line: file.lines, text: file.lastLine, note: 'last line' });
            }
          }
          ctx.pass(
            'none',
            { lines: lines.toLocaleString('en-US'), source: sourceName, window: windowOf(files) },
            {
              evidence,
              facts: [{ label: 'Journal lines scanned', value: lines.toLocaleString('en-US'), path: sourceName }],
            },
          );
          return;
        }

        const restartsFor = (group: Group) => source.restarts.get(`${group.namespace}/${group.pod}|${group.container}`);
        const total = groups.reduce((sum, group) => sum + group.count, 0);
        const timeouts = groups.reduce((sum, group) => sum + group.timeouts, 0);
        const awsNodeGroups = groups.filter((group) => isAwsNode(group.namespace, group.pod));
        const totalRestarts = [...source.restarts.values()].reduce((sum, entry) => sum + entry.count, 0);
        const firstSeen = groups.reduce((a, b) => ((a.first.line ?? 0) <= (b.first.line ?? 0) ? a : b)).first;
        const lastSeen = groups.reduce((a, b) => ((a.last.line ?? 0) >= (b.last.line ?? 0) ? a : b)).last;

        const evidence: Evidence[] = [];
        for (const group of groups) {
          for (const sample of group.samples) if (evidence.length < MAX_EVIDENCE) evidence.push(sample);
          if (group.count > group.samples.length && evidence.length < MAX_EVIDENCE) {
            evidence.push({ ...group.last, note: `last of ${group.count} failures of this probe` });
          }
          for (const restart of restartsFor(group)?.evidence ?? []) {
            if (
              evidence.length < MAX_EVIDENCE &&
              !evidence.some((e) => e.line === restart.line && e.path === restart.path)
            ) {
              evidence.push(restart);
            }
          }
        }

        const table: FindingTable = {
          caption: 'Probe failures by pod, container and probe type',
          columns: [
            'Pod',
            'Container',
            'Probe',
            'Failures',
            'Timeouts',
            'First seen',
            'Last seen',
            'Restarts',
            'Sample output',
          ],
          rows: groups.map((group) => [
            `${group.namespace}/${group.pod}`,
            group.container,
            group.probeType,
            String(group.count),
            String(group.timeouts),
            group.first.time ?? `line ${group.first.line}`,
            group.last.time ?? `line ${group.last.line}`,
            group.probeType === 'Readiness' ? '—' : String(restartsFor(group)?.count ?? 0),
            group.outputs[0] ?? '',
          ]),
        };
        // Restarts belong to a container, not to a probe type: count each aws-node container once.
        const awsNodeContainers = new Set(
          awsNodeGroups.map((group) => `${group.namespace}/${group.pod}|${group.container}`),
        );
        const awsNodeRestarts = [...awsNodeContainers].reduce(
          (sum, key) => sum + (source.restarts.get(key)?.count ?? 0),
          0,
        );
        ctx.fail(
          'failures',
          {
            total,
            timeouts,
            groups: groups.length,
            first: firstSeen.time ?? `line ${firstSeen.line}`,
            last: lastSeen.time ?? `line ${lastSeen.line}`,
            awsNode:
              awsNodeGroups.length > 0
                ? `; aws-node (the VPC CNI) failed ${awsNodeGroups.reduce((sum, g) => sum + g.count, 0)} probes, which takes pod networking on this node down`
                : '',
            restarts:
              totalRestarts > 0 ? `; kubelet restarted containers ${totalRestarts} times because of failed probes` : '',
          },
          {
            severity: awsNodeGroups.length > 0 ? 'critical' : 'warning',
            evidence,
            tables: [table],
            facts: [
              { label: 'Probe failures', value: String(total) },
              { label: 'Of which timeouts', value: String(timeouts) },
              { label: 'Restarts caused', value: String(totalRestarts) },
              ...(awsNodeGroups.length > 0 ? [{ label: 'aws-node restarts', value: String(awsNodeRestarts) }] : []),
              { label: 'Journal lines scanned', value: lines.toLocaleString('en-US'), path: sourceName },
            ],
          },
        );
      },
    };
  },
});
