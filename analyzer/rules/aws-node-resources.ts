/**
 * aws-node-resources: aws-node's CPU request and probe timeouts against the operations guide's advice
 * ("Troubleshooting Resource Constraints"): check the CPU request (default 25m); raise the probe timeouts only on nodes
 * consistently under heavy load; leave them alone on nodes that are not actually unstable.
 *
 * Whether raising the timeouts is warranted is judged from the evidence the headline rules read: aws-node's probe
 * failures and the restarts they caused in the kubelet journal (the shared kubelet-probes reader and its
 * PROBE_FILTERS), and CPU pressure as cpu-starvation reads it (load average per CPU, PSI cpu "some"). Timeouts on a
 * node under sustained CPU load are the guide's case; timeouts without CPU pressure point at ipamd itself (API server
 * or EC2 reachability, start-up), which longer timeouts would only hide.
 *
 * The request and probes come from the pod spec (`kubelet/pods.json`); the runtime's cgroup CPU shares stand in for
 * the request when the pod spec is missing (kubelet sets shares = request × 1024 / 1000).
 */
import { bundlePaths } from '../../contract/bundle.ts';
import { defineRule } from '../engine/rule.ts';
import type { Evidence, Fact, Severity } from '../report/model.ts';
import {
  AWS_NODE_ENV_ITEMS,
  containerViews,
  createAwsNodeConfigCollector,
  missingConfigReason,
  type ProbeView,
  sourceFacts,
  specContainerOf,
  uniqueEvidence,
} from './shared/aws-node-config.ts';
import { interpretProbeLine, isAwsNode, PROBE_FILTERS } from './shared/kubelet-probes.ts';

/** The guide's default CPU request for aws-node. */
const DEFAULT_CPU_REQUEST_MILLI = 25;
/** Probe timeout of the manifests and the add-on since v1.12. */
const DEFAULT_PROBE_TIMEOUT_SECONDS = 10;
/** Kubernetes applies this when a probe has no timeoutSeconds. */
const KUBERNETES_DEFAULT_TIMEOUT_SECONDS = 1;
/** The same thresholds cpu-starvation applies: runnable work per CPU, PSI cpu some avg60 and avg10 (percent). */
const OVERLOADED_LOAD_PER_CPU = 2.0;
const PSI_SOME_AVG60_STARVED = 40;
const PSI_SOME_AVG10_STARVED = 60;
const MAX_SAMPLES = 3;
const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

type FindingId =
  | 'raiseTimeouts'
  | 'timeoutsWithoutLoad'
  | 'timeoutsLoadUnknown'
  | 'noCpuRequest'
  | 'lowCpuRequest'
  | 'probeTimeoutShort'
  | 'raisedWithoutNeed';

interface Finding {
  id: FindingId;
  severity: Severity;
  data: Record<string, string | number>;
  evidence: Evidence[];
  short: string;
}

/** The longest deadline grpc-health-probe was given (`-connect-timeout=5s`, `-rpc-timeout=5s`), in seconds. */
function healthProbeDeadline(probe: ProbeView): number | undefined {
  let longest: number | undefined;
  for (const arg of probe.command ?? []) {
    const match = /^-(?:connect|rpc)-timeout=(\d+(?:\.\d+)?)(ms|s)$/.exec(arg);
    if (!match) continue;
    const seconds = Number(match[1]) / (match[2] === 'ms' ? 1000 : 1);
    longest = Math.max(longest ?? 0, seconds);
  }
  return longest;
}

const timeoutOf = (probe: ProbeView) => probe.timeoutSeconds ?? KUBERNETES_DEFAULT_TIMEOUT_SECONDS;

export default defineRule({
  meta: {
    id: 'aws-node-resources',
    title: 'aws-node CPU request and probe timeouts',
    severity: 'warning',
    description:
      'aws-node needs its CPU request (default 25m) to keep a share of CPU under contention; when a busy node starves it, its liveness and readiness probes time out and kubelet restarts ipamd. The guide raises the probe timeouts only on nodes consistently under heavy load, and advises against changing them elsewhere.',
    needs: [{ anyOf: [...AWS_NODE_ENV_ITEMS] }],
    uses: ['kubelet-log', 'proc-loadavg', 'top', 'proc-stat', 'psi-cpu'],
    filters: { 'kubelet-log': PROBE_FILTERS },
    messages: {
      raiseTimeouts:
        'aws-node failed {{timeouts}} probe(s) by timeout ({{restarts}}) while the node was under sustained CPU load ({{load}}): the guide’s case for raising the probes’ timeoutSeconds ({{probes}}) and for checking its CPU request ({{cpu}}){{more}}.',
      timeoutsWithoutLoad:
        'aws-node failed {{timeouts}} probe(s) by timeout ({{restarts}}) but the node shows no CPU pressure ({{load}}): longer timeouts would hide the cause; find why ipamd answers its health check slowly (API server or EC2 reachability, start-up){{more}}.',
      timeoutsLoadUnknown:
        'aws-node failed {{timeouts}} probe(s) by timeout ({{restarts}}); the bundle has no CPU evidence ({{paths}}) to tell whether raising the timeouts ({{probes}}) is warranted{{more}}.',
      noCpuRequest:
        'aws-node has no CPU request ({{cpu}}): under CPU contention it gets the smallest share, misses its probe deadlines and is restarted; the guide’s default is 25m{{more}}.',
      lowCpuRequest:
        'aws-node requests {{cpu}} of CPU, below the guide’s default of 25m: under contention it may miss its probe deadlines{{more}}.',
      probeTimeoutShort:
        'The {{probe}} probe of aws-node allows {{timeout}} s while its grpc-health-probe waits up to {{deadline}} s: kubelet gives up first and counts a failure whenever ipamd is a little slow{{more}}.',
      raisedWithoutNeed:
        'aws-node’s probe timeouts are raised above the default of 10 s ({{probes}}) on a node without probe failures or CPU pressure ({{load}}): the guide keeps these settings for nodes that are actually unstable, and long timeouts delay the restart of a hung ipamd{{more}}.',
      asAdvised: 'aws-node’s resources are as the guide advises: {{cpu}}, {{probes}}; {{failures}}; {{load}}.',
    },
    remediation: [
      'Check the CPU request: `kubectl -n kube-system get daemonset aws-node -o jsonpath=\'{.spec.template.spec.containers[?(@.name=="aws-node")].resources}\'`; restore `requests.cpu: 25m` (for the managed add-on through its configuration values, `resources`).',
      'Only on nodes consistently under heavy load, raise the probe timeouts: for the managed add-on `livenessProbeTimeoutSeconds` and `readinessProbeTimeoutSeconds` in its configuration values (probes are managed fields, kubectl edits are reverted); for a self-managed install the chart values of the same names.',
      'Leave the settings alone on nodes that are not unstable; when aws-node times out without CPU pressure, look at ipamd instead: `kubectl -n kube-system logs <aws-node pod> -c aws-node` and /var/log/aws-routed-eni/ipamd.log.',
      'Relieve the CPU pressure itself: `kubectl top pods -A --sort-by=cpu`, CPU requests and limits on the workloads of the node, or a larger instance type.',
    ],
    references: [
      {
        title: 'VPC CNI operations guide: troubleshooting resource constraints',
        url: 'https://docs.aws.amazon.com/eks/latest/best-practices/vpc-cni.html',
      },
      {
        title: 'Kubernetes: configure liveness, readiness and startup probes (timeoutSeconds)',
        url: 'https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/',
      },
      {
        title: 'aws-vpc-cni chart values (livenessProbeTimeoutSeconds, readinessProbeTimeoutSeconds, resources)',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/blob/master/charts/aws-vpc-cni/values.yaml',
      },
    ],
  },
  create(ctx) {
    const collector = createAwsNodeConfigCollector();
    const probes = {
      failures: 0,
      timeouts: 0,
      restarts: 0,
      samples: [] as Evidence[],
      last: undefined as Evidence | undefined,
    };
    let load: { load1: number; load5: number; evidence: Evidence } | undefined;
    let cpuCount: number | undefined;
    let psi: { avg10: number; avg60: number; evidence: Evidence } | undefined;
    return {
      ...collector.handlers,
      'kubelet-log'(event, file) {
        if (event.kind !== 'entry') return;
        const sighting = interpretProbeLine(event);
        if (!sighting || !isAwsNode(sighting.namespace, sighting.pod) || sighting.container !== 'aws-node') return;
        const evidence = ctx.evidence(file, event, { time: event.timestamp, highlight: true });
        if (sighting.kind === 'restart') probes.restarts++;
        else {
          probes.failures++;
          if (!sighting.timedOut) return;
          probes.timeouts++;
        }
        probes.last = evidence;
        if (probes.samples.length < MAX_SAMPLES) probes.samples.push(evidence);
      },
      'proc-loadavg'(event, file) {
        if (event.kind === 'loadavg') load = { ...event, evidence: ctx.evidence(file, event, { highlight: true }) };
      },
      top(event, file) {
        if (event.kind === 'uptime') load ??= { ...event, evidence: ctx.evidence(file, event, { highlight: true }) };
      },
      'proc-stat'(event) {
        if (event.kind === 'summary' && event.cpuCount > 0) cpuCount = event.cpuCount;
      },
      'psi-cpu'(event, file) {
        if (event.kind === 'psi' && event.scope === 'some')
          psi = { ...event, evidence: ctx.evidence(file, event, { highlight: true }) };
      },
      done() {
        const config = collector.config(ctx.bundle);
        const spec = specContainerOf(config, 'aws-node');
        const runtime = containerViews(config, 'aws-node').find((view) => view.source !== 'pod-spec');
        cpuCount ??= ctx.bundle.node.cpuCount;
        const facts: Fact[] = [...sourceFacts(config)];
        const caveats: string[] = [];

        // The CPU request: the pod spec's, else what the runtime's cgroup shares imply.
        let cpu: { milli: number; text: string; evidence?: Evidence } | undefined;
        if (spec) {
          cpu = spec.cpuRequestRaw
            ? {
                milli: spec.cpuRequestMilli ?? 0,
                text: `requests.cpu ${spec.cpuRequestRaw}`,
                evidence: spec.resourcesEvidence,
              }
            : { milli: 0, text: 'no requests.cpu', evidence: spec.resourcesEvidence };
        } else if (runtime?.cpuShares !== undefined) {
          cpu = {
            milli: runtime.cpuRequestMilli ?? 0,
            text:
              (runtime.cpuRequestMilli ?? 0) > 0
                ? `about ${runtime.cpuRequestMilli}m (cgroup cpu shares ${runtime.cpuShares})`
                : `no CPU request (cgroup cpu shares ${runtime.cpuShares})`,
            evidence: runtime.resourcesEvidence,
          };
        }
        if (cpu) facts.push({ label: 'aws-node CPU request', value: cpu.text, path: cpu.evidence?.path });
        const mainProbes = (spec?.probes ?? []).filter((probe) => probe.kind !== 'startup');
        const probesText =
          mainProbes.length > 0
            ? mainProbes.map((probe) => `${probe.kind} ${timeoutOf(probe)} s`).join(', ')
            : 'probe timeouts not in the bundle';
        if (mainProbes.length > 0)
          facts.push({ label: 'aws-node probe timeouts', value: probesText, path: spec?.path });
        if (spec?.restartCount !== undefined) {
          facts.push({ label: 'aws-node restarts (pod status)', value: String(spec.restartCount), path: spec.path });
        }

        // CPU pressure as cpu-starvation judges it.
        const signals: string[] = [];
        const observed: string[] = [];
        const cpuEvidence: Evidence[] = [];
        if (load && cpuCount) {
          const perCpu = Math.max(load.load1, load.load5) / cpuCount;
          observed.push(`load average ${Math.max(load.load1, load.load5)} on ${cpuCount} CPUs`);
          if (perCpu >= OVERLOADED_LOAD_PER_CPU) signals.push(`load ${perCpu.toFixed(1)} per CPU`);
          cpuEvidence.push(load.evidence);
        }
        if (psi) {
          observed.push(`PSI cpu some avg60 ${psi.avg60}%`);
          if (psi.avg60 >= PSI_SOME_AVG60_STARVED || psi.avg10 >= PSI_SOME_AVG10_STARVED) {
            signals.push(`tasks waited for CPU ${psi.avg60}% of the last minute`);
          }
          cpuEvidence.push(psi.evidence);
        }
        const cpuKnown = observed.length > 0;
        const loadText = signals.length > 0 ? signals.join(', ') : cpuKnown ? observed.join(', ') : 'CPU load unknown';
        const kubeletPresent = ctx.bundle.item('kubelet-log').present;
        const restartsText = probes.restarts > 0 ? `${probes.restarts} restart(s) by kubelet` : 'no restart logged';
        const failuresText = !kubeletPresent
          ? 'probe failures unknown (no kubelet journal)'
          : probes.failures > 0
            ? `${probes.failures} aws-node probe failure(s), ${probes.timeouts} by timeout, in the kubelet journal`
            : 'no aws-node probe failure in the kubelet journal';
        const probeEvidence = uniqueEvidence([
          ...probes.samples,
          ...(probes.last && probes.failures + probes.restarts > probes.samples.length
            ? [{ ...probes.last, note: `last of ${probes.failures + probes.restarts}` }]
            : []),
        ]);

        const findings: Finding[] = [];
        if (probes.timeouts > 0) {
          const id: FindingId = !cpuKnown
            ? 'timeoutsLoadUnknown'
            : signals.length > 0
              ? 'raiseTimeouts'
              : 'timeoutsWithoutLoad';
          findings.push({
            id,
            severity: 'warning',
            data: {
              timeouts: probes.timeouts,
              restarts: restartsText,
              load: loadText,
              probes: mainProbes.length > 0 ? `now ${probesText}` : 'their current values are only in the pod spec',
              cpu: cpu?.text ?? 'not in the bundle',
              paths: [bundlePaths['proc-loadavg'], bundlePaths.top, bundlePaths['psi-cpu']].join(', '),
            },
            evidence: [...probeEvidence, ...cpuEvidence, ...mainProbes.map((probe) => probe.evidence)],
            short: `${probes.timeouts} aws-node probe timeout(s)`,
          });
        }
        if (cpu && cpu.milli === 0) {
          findings.push({
            id: 'noCpuRequest',
            severity: 'warning',
            data: { cpu: cpu.text },
            evidence: cpu.evidence ? [cpu.evidence] : [],
            short: 'no CPU request',
          });
        } else if (cpu && cpu.milli < DEFAULT_CPU_REQUEST_MILLI) {
          findings.push({
            id: 'lowCpuRequest',
            severity: 'warning',
            data: { cpu: cpu.text },
            evidence: cpu.evidence ? [cpu.evidence] : [],
            short: `CPU request ${cpu.text}`,
          });
        }
        for (const probe of mainProbes) {
          const deadline = healthProbeDeadline(probe);
          if (deadline !== undefined && timeoutOf(probe) < deadline) {
            findings.push({
              id: 'probeTimeoutShort',
              severity: 'warning',
              data: { probe: probe.kind, timeout: timeoutOf(probe), deadline },
              evidence: [probe.evidence],
              short: `${probe.kind} timeout ${timeoutOf(probe)} s below the health probe's ${deadline} s`,
            });
          }
        }
        const raised = mainProbes.filter((probe) => timeoutOf(probe) > DEFAULT_PROBE_TIMEOUT_SECONDS);
        if (raised.length > 0 && kubeletPresent && probes.failures === 0 && cpuKnown && signals.length === 0) {
          findings.push({
            id: 'raisedWithoutNeed',
            severity: 'info',
            data: { probes: probesText, load: loadText },
            evidence: [...raised.map((probe) => probe.evidence), ...cpuEvidence],
            short: 'probe timeouts raised without instability',
          });
        }

        if (findings.length > 0) {
          findings.sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]);
          const [first, ...rest] = findings as [Finding, ...Finding[]];
          ctx.fail(
            first.id,
            { ...first.data, more: rest.length > 0 ? `; also ${rest.map((finding) => finding.short).join('; ')}` : '' },
            {
              severity: first.severity,
              evidence: uniqueEvidence(findings.flatMap((finding) => finding.evidence)),
              facts,
              caveats,
            },
          );
          return;
        }
        if (!cpu && mainProbes.length === 0) {
          ctx.notEvaluated(missingConfigReason(config, "aws-node's CPU request and probe settings", true));
          return;
        }
        if (!cpu) caveats.push(`the CPU request is not in the bundle (${bundlePaths['kubelet-pods']})`);
        if (mainProbes.length === 0)
          caveats.push(`the probe settings are only in the pod spec (${bundlePaths['kubelet-pods']})`);
        if (!kubeletPresent) caveats.push(`no kubelet journal (${bundlePaths['kubelet-log']}) to show probe failures`);
        ctx.pass(
          'asAdvised',
          { cpu: cpu?.text ?? 'CPU request unknown', probes: probesText, failures: failuresText, load: loadText },
          {
            evidence: uniqueEvidence([
              ...(cpu?.evidence ? [cpu.evidence] : []),
              ...mainProbes.map((probe) => probe.evidence),
              ...cpuEvidence,
            ]),
            facts,
            caveats,
          },
        );
      },
    };
  },
});
