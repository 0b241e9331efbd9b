/**
 * ipamd-api-server-unreachable: ipamd cannot reach the Kubernetes API server, or keeps restarting.
 *
 * Evidence (ipamd.log), the strings the EKS node monitoring agent watches (monitors/networking/monitor.go):
 * - `Unable to reach API Server, <err>` (pkg/k8sapi/discovery.go, before v1.12), `Failed to check API server
 *   connectivity: <err>` (cmd/aws-k8s-agent/main.go; ipamd exits 1 after it), `error communicating with apiserver`;
 *   with `invalid configuration: no configuration has been provided` the service account token is missing;
 * - `Proceeding without API server connectivity, will run background API server connectivity check` (v1.20+: ipamd
 *   starts anyway and keeps trying; features that need the API server wait);
 * - `Starting L-IPAMD <version>  ...` once per start: five or more is the agent's IPAMDRepeatedlyRestart threshold;
 * - recovery: `Successful communication with the Cluster!`, `API server connectivity established`.
 */

import { defineRule, type FileRef } from '../engine/rule.ts';
import type { IpamdLogEvent } from '../parsers/ipamd-log.ts';
import type { Evidence, Fact, Severity } from '../report/model.ts';

const IPAMD_FILTERS = [
  'Unable to reach API Server',
  'Failed to check API server connectivity',
  'error communicating with apiserver',
  'Proceeding without API server connectivity',
  'Starting L-IPAMD',
  'Successful communication with the Cluster',
  'API server connectivity established',
] as const;

const FATAL = /Failed to check API server connectivity/;
const UNREACHABLE = /Unable to reach API Server|error communicating with apiserver/;
const PROCEEDING_WITHOUT = /Proceeding without API server connectivity/;
const NO_CONFIGURATION = /no configuration has been provided/;
const RECOVERED = /Successful communication with the Cluster|API server connectivity established/;
const STARTING = /Starting L-IPAMD\s*(v?\d[\w.+-]*)?/;

/** The node monitoring agent's IPAMDRepeatedlyRestart threshold (MinOccurrences(5)). */
const RESTART_THRESHOLD = 5;
const DAY_MS = 86_400_000;
const MAX_STARTS_KEPT = 10_000;
const SAMPLES = 2;

interface Signal {
  count: number;
  samples: Evidence[];
  last?: Evidence;
  lastMs?: number;
}

interface Start {
  ms?: number;
  version?: string;
  evidence: Evidence;
}

function times(count: number): string {
  return count === 1 ? 'once' : `${count} times`;
}

function at(evidence: Evidence | undefined): string {
  return evidence?.time ?? `line ${evidence?.line ?? '?'}`;
}

function span(signal: Signal): string {
  return signal.count === 1 ? `at ${at(signal.samples[0])}` : `from ${at(signal.samples[0])} to ${at(signal.last)}`;
}

function withLast(signal: Signal): Evidence[] {
  const evidence = [...signal.samples];
  if (signal.count > signal.samples.length && signal.last)
    evidence.push({ ...signal.last, note: `last of ${signal.count}` });
  return evidence;
}

/** Most starts within any 24 hours. */
function densestDay(startMs: number[]): number {
  const sorted = [...startMs].sort((a, b) => a - b);
  let best = 0;
  let from = 0;
  for (let to = 0; to < sorted.length; to++) {
    while ((sorted[to] as number) - (sorted[from] as number) > DAY_MS) from++;
    best = Math.max(best, to - from + 1);
  }
  return best;
}

export default defineRule({
  meta: {
    id: 'ipamd-api-server-unreachable',
    title: 'ipamd cannot reach the API server or keeps restarting',
    severity: 'critical',
    description:
      'ipamd (aws-node) needs the Kubernetes API server at start and for security groups for pods, custom networking and pod IP annotations. When it cannot reach it, ipamd exits and restarts, aws-node is never ready, and new pods get no IP address.',
    needs: ['ipamd-log'],
    filters: { 'ipamd-log': IPAMD_FILTERS },
    messages: {
      noServiceAccount:
        'ipamd has no credentials for the API server: "no configuration has been provided" {{count}} {{span}}, so the aws-node service account token is not mounted{{restarts}}.',
      unreachable: 'ipamd could not reach the Kubernetes API server {{count}} {{span}}{{recovery}}{{restarts}}.',
      restarts:
        'ipamd started {{starts}} times {{span}} ({{densest}} within one day); the EKS node monitoring agent reports IPAMDRepeatedlyRestart from {{threshold}} starts{{versions}}.',
      healthy:
        'ipamd started {{starts}} in {{lines}} lines of {{source}} and logged no API server connectivity error{{recovered}}.',
    },
    remediation: [
      "Test the path ipamd uses from the node: `curl -sk https://$KUBERNETES_SERVICE_HOST:443/version` from the aws-node container, or `kubectl get --raw /version` with the node's kubeconfig; check that kube-proxy is running (`kubectl -n kube-system get pods -l k8s-app=kube-proxy -o wide`), since ipamd reaches the API server through the kubernetes service IP.",
      'Check the security groups and NACLs between the node and the cluster endpoint (TCP 443 to the control plane ENIs), and the VPC endpoints or proxy settings on private clusters.',
      'If the error says "no configuration has been provided", the aws-node service account token is missing: check `automountServiceAccountToken` and the `aws-node` service account: `kubectl -n kube-system get sa aws-node -o yaml` and `kubectl -n kube-system get ds aws-node -o jsonpath={.spec.template.spec.serviceAccountName}`.',
      'Look at why aws-node restarts: `kubectl -n kube-system describe pod <aws-node pod>` (last state, exit code) and `kubectl -n kube-system logs <aws-node pod> -c aws-node --previous`.',
    ],
    references: [
      {
        title: 'VPC CNI troubleshooting guide',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/troubleshooting.md',
      },
      {
        title: 'EKS node monitoring agent: node health issues (IPAMDNotReady, IPAMDRepeatedlyRestart)',
        url: 'https://docs.aws.amazon.com/eks/latest/userguide/node-health.html',
      },
      {
        title: 'EKS: Amazon EKS security group requirements',
        url: 'https://docs.aws.amazon.com/eks/latest/userguide/sec-group-reqs.html',
      },
    ],
  },
  create(ctx) {
    const fatal: Signal = { count: 0, samples: [] };
    const unreachable: Signal = { count: 0, samples: [] };
    const proceeding: Signal = { count: 0, samples: [] };
    const noConfig: Signal = { count: 0, samples: [] };
    const starts: Start[] = [];
    let startCount = 0;
    let lastRecovery: { ms?: number; evidence: Evidence } | undefined;

    const note = (signal: Signal, evidence: Evidence, ms: number | undefined) => {
      signal.count++;
      signal.last = evidence;
      signal.lastMs = ms;
      if (signal.samples.length < SAMPLES) signal.samples.push(evidence);
    };

    return {
      'ipamd-log'(event: IpamdLogEvent, file: FileRef) {
        if (event.kind !== 'entry') return;
        const parsed = event.ts ? Date.parse(event.ts) : Number.NaN;
        const ms = Number.isNaN(parsed) ? undefined : parsed;
        const evidence = () => ctx.evidence(file, event, { time: event.ts, highlight: true });
        const msg = event.msg;
        if (STARTING.test(msg)) {
          startCount++;
          if (starts.length < MAX_STARTS_KEPT) {
            starts.push({ ms, version: STARTING.exec(msg)?.[1], evidence: evidence() });
          }
          return;
        }
        if (RECOVERED.test(msg)) {
          lastRecovery = { ms, evidence: ctx.evidence(file, event, { time: event.ts }) };
          return;
        }
        if (NO_CONFIGURATION.test(msg)) note(noConfig, evidence(), ms);
        if (FATAL.test(msg)) note(fatal, evidence(), ms);
        else if (UNREACHABLE.test(msg)) note(unreachable, evidence(), ms);
        else if (PROCEEDING_WITHOUT.test(msg)) note(proceeding, evidence(), ms);
      },
      done() {
        const log = ctx.bundle.item('ipamd-log');
        const lines = log.files.reduce((sum, file) => sum + file.lines, 0);
        if (lines === 0) {
          ctx.notEvaluated(`${log.paths.join(', ')} is empty`);
          return;
        }
        const startTimes = starts.flatMap((start) => (start.ms === undefined ? [] : [start.ms]));
        const densest = startTimes.length === starts.length ? densestDay(startTimes) : startCount;
        const ordered = [...starts].sort((a, b) => (a.ms ?? 0) - (b.ms ?? 0));
        const firstStart = ordered[0];
        const lastStart = ordered[ordered.length - 1];
        const versions = [...new Set(ordered.flatMap((start) => (start.version ? [start.version] : [])))];
        const facts: Fact[] = [
          { label: 'ipamd starts in the log', value: String(startCount) },
          { label: 'ipamd log lines scanned', value: lines.toLocaleString('en-US'), path: log.paths.join(', ') },
        ];
        if (versions.length > 0) facts.push({ label: 'VPC CNI versions started', value: versions.join(', ') });
        const restartsNote =
          startCount >= RESTART_THRESHOLD ? `; ipamd started ${startCount} times (${densest} within one day)` : '';
        const startEvidence: Evidence[] = [];
        if (startCount >= RESTART_THRESHOLD && firstStart && lastStart) {
          startEvidence.push(firstStart.evidence, {
            ...lastStart.evidence,
            note: `start ${startCount} of ${startCount}`,
          });
        }

        const failures = [fatal, unreachable, proceeding].filter((signal) => signal.count > 0);
        if (failures.length > 0) {
          const lastFailureMs = Math.max(...failures.map((signal) => signal.lastMs ?? 0));
          const recovered =
            lastRecovery?.ms !== undefined && lastFailureMs > 0 && lastRecovery.ms > lastFailureMs
              ? lastRecovery
              : undefined;
          const evidence = [
            ...failures.flatMap(withLast),
            ...(recovered ? [recovered.evidence] : []),
            ...startEvidence,
          ];
          const severity: Severity = recovered
            ? 'warning'
            : fatal.count > 0 || unreachable.count > 0
              ? 'critical'
              : 'warning';
          if (noConfig.count > 0) {
            ctx.fail(
              'noServiceAccount',
              { count: times(noConfig.count), span: span(noConfig), restarts: restartsNote },
              { severity: recovered ? 'warning' : 'critical', evidence, facts },
            );
            return;
          }
          const total = failures.reduce((sum, signal) => sum + signal.count, 0);
          const first = failures.map((signal) => signal.samples[0]).sort((a, b) => (a?.line ?? 0) - (b?.line ?? 0))[0];
          const latest = [...failures].sort((a, b) => (b.lastMs ?? 0) - (a.lastMs ?? 0))[0];
          const caveats: string[] = [];
          if (fatal.count === 0 && unreachable.count === 0) {
            caveats.push(
              'ipamd started without the API server and keeps checking in the background; security groups for pods, custom networking and pod IP annotations wait for it.',
            );
          }
          ctx.fail(
            'unreachable',
            {
              count: times(total),
              span: total === 1 ? `at ${at(first)}` : `from ${at(first)} to ${at(latest?.last)}`,
              recovery: recovered
                ? `; it connected afterwards (${at(recovered.evidence)})`
                : fatal.count > 0
                  ? '; ipamd exits after "Failed to check API server connectivity", so aws-node restarts and is never ready'
                  : '',
              restarts: restartsNote,
            },
            { severity, evidence, facts, caveats },
          );
          return;
        }

        if (startCount >= RESTART_THRESHOLD && firstStart && lastStart) {
          ctx.fail(
            'restarts',
            {
              starts: startCount,
              span: `from ${at(firstStart.evidence)} to ${at(lastStart.evidence)}`,
              densest,
              threshold: RESTART_THRESHOLD,
              versions: versions.length > 1 ? ` (versions ${versions.join(', ')}: upgrades explain some starts)` : '',
            },
            {
              severity: densest >= RESTART_THRESHOLD ? 'warning' : 'info',
              evidence: [...ordered.slice(0, 3).map((start) => start.evidence), ...startEvidence.slice(1)],
              facts,
              caveats:
                densest >= RESTART_THRESHOLD
                  ? []
                  : [
                      'The starts are spread over more than a day; node reboots and aws-node upgrades also restart ipamd.',
                    ],
            },
          );
          return;
        }

        const evidence: Evidence[] = starts.slice(0, 2).map((start) => ({ ...start.evidence, highlight: false }));
        for (const file of log.files) {
          if (file.lastLine)
            evidence.push({ path: file.path, line: file.lines, text: file.lastLine, note: 'last line' });
        }
        ctx.pass(
          'healthy',
          {
            starts: times(startCount),
            lines: lines.toLocaleString('en-US'),
            source: log.paths.join(', '),
            recovered: lastRecovery ? `; it last confirmed the connection at ${at(lastRecovery.evidence)}` : '',
          },
          { evidence, facts },
        );
      },
    };
  },
});
