/**
 * cpu-starvation: the node has less CPU than its runnable work wants, and kube-system components (aws-node above
 * all) are starved or throttled. The operations guide's chain: high load → aws-node slow to answer its probes →
 * probe timeouts → restarts of ipamd → pods without networking.
 *
 * Evidence, from whichever the bundle has: load average against the CPU count (/proc/loadavg or the `top` header;
 * /proc/stat or the manifest for CPUs), PSI `cpu` some/full, CFS throttling of kube-system containers (the stock
 * collector's cpu_throttling.txt, our cgroup cpu.stat), aws-node's CPU in `top`/`ps`, and probe timeouts in the
 * kubelet journal at the same time.
 */

import { defineRule, type FileRef } from '../engine/rule.ts';
import type { Evidence, Fact } from '../report/model.ts';
import { createProbeReader, isAwsNode, PROBE_CONTINUATION_LINES, PROBE_FILTERS } from './shared/kubelet-probes.ts';

/** Runnable work per CPU at which tasks wait more than they run. */
const OVERLOADED_LOAD_PER_CPU = 2.0;
/** PSI: share of time at least one task waited for CPU (avg60, percent); 40% is sustained contention. */
const PSI_SOME_AVG60_STARVED = 40;
const PSI_SOME_AVG10_STARVED = 60;
/** CFS: share of enforcement periods in which a container hit its quota. */
const THROTTLED_RATIO = 0.25;
/** Processes of the node's networking and system pods, as top/ps show them. */
const SYSTEM_COMPONENT =
  /\b(aws-k8s-agent|aws-vpc-cni|aws-network-policy-agent|kube-proxy|coredns|aws-ebs-csi-driver|eks-pod-identity-agent)\b/;
const AWS_NODE_PROCESS = /\b(aws-k8s-agent|aws-network-policy-agent)\b/;

interface Load {
  load1: number;
  load5: number;
  load15: number;
  evidence: Evidence;
}

interface Throttled {
  who: string;
  ratio: number;
  nrThrottled: number;
  nrPeriods: number;
  evidence: Evidence;
}

const percent = (value: number) => `${(value * 100).toFixed(0)}%`;

export default defineRule({
  meta: {
    id: 'cpu-starvation',
    title: 'CPU starvation of the node and its networking pods',
    severity: 'warning',
    description:
      'High load against the CPU count, CPU pressure (PSI) and CFS throttling of kube-system containers starve aws-node: it then misses its probe deadlines, kubelet restarts it, and pods lose networking.',
    needs: [{ anyOf: ['proc-loadavg', 'top', 'psi-cpu'] }],
    uses: ['proc-stat', 'cpu-throttling', 'cgroup-aws-node-cpu-stat', 'ps', 'kubelet-log'],
    filters: { 'kubelet-log': PROBE_FILTERS },
    linesAfterMatch: { 'kubelet-log': PROBE_CONTINUATION_LINES },
    messages: {
      starved: 'The node is CPU-starved: {{signals}}{{probes}}.',
      healthy: 'No CPU starvation: {{observed}}.',
    },
    remediation: [
      'Check that aws-node\'s CPU request is set (default 25m) so it keeps a share of CPU under contention: `kubectl -n kube-system get daemonset aws-node -o jsonpath=\'{range .spec.template.spec.containers[*]}{.name}{"\\t"}{.resources}{"\\n"}{end}\'`',
      "If the node is consistently under heavy load, raise the timeoutSeconds of aws-node's liveness and readiness probes (for the EKS managed add-on, through its configuration values, since probes are a managed field).",
      'Leave these settings alone on nodes that are not actually unstable: change them only where probe failures and restarts show the need.',
      'Find what takes the CPU: `kubectl top pods -A --sort-by=cpu` and pods without CPU requests or limits on this node (`kubectl describe node <node>`); spread or limit them, or use a larger instance type.',
    ],
    references: [
      {
        title: 'VPC CNI operations guide: troubleshooting resource constraints',
        url: 'https://docs.aws.amazon.com/eks/latest/best-practices/vpc-cni.html',
      },
      { title: 'Linux PSI: pressure stall information', url: 'https://docs.kernel.org/accounting/psi.html' },
      {
        title: 'Kubernetes: CPU limits and CFS quota',
        url: 'https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/',
      },
    ],
  },
  create(ctx) {
    let loadavg: Load | undefined;
    let topLoad: Load | undefined;
    let cpuCount: { value: number; evidence?: Evidence } | undefined;
    let psiSome: { avg10: number; avg60: number; avg300: number; evidence: Evidence } | undefined;
    let psiFull: { avg10: number; avg60: number; evidence: Evidence } | undefined;
    let topIdle: { idle: number; evidence: Evidence } | undefined;
    const throttled: Throttled[] = [];
    let awsNodeCpu: { percent: number; command: string; evidence: Evidence } | undefined;
    let probeTimeouts = 0;
    let awsNodeProbeTimeouts = 0;
    let lastProbeTimeout: Evidence | undefined;

    const probes = createProbeReader((sighting, event, file) => {
      if (sighting.kind !== 'failure' || !sighting.timedOut) return;
      probeTimeouts++;
      if (isAwsNode(sighting.namespace, sighting.pod)) awsNodeProbeTimeouts++;
      lastProbeTimeout = ctx.evidence(file, event, { time: event.timestamp });
    });
    const noteThrottle = (
      who: string,
      summary: { throttledRatio?: number; nrThrottled?: number; nrPeriods?: number },
      evidence: Evidence,
    ) => {
      if (summary.throttledRatio === undefined || summary.throttledRatio < THROTTLED_RATIO) return;
      // A pod's slice and its container's scope are both throttled when the container is: count the pod once.
      const existing = throttled.findIndex((entry) => entry.who === who);
      if (existing >= 0) {
        if ((throttled[existing]?.ratio ?? 0) >= summary.throttledRatio) return;
        throttled.splice(existing, 1);
      }
      throttled.push({
        who,
        ratio: summary.throttledRatio,
        nrThrottled: summary.nrThrottled ?? 0,
        nrPeriods: summary.nrPeriods ?? 0,
        evidence,
      });
    };
    const noteAwsNodeCpu = (
      command: string,
      cpuPercent: number,
      file: FileRef,
      event: { line: number; raw: string },
    ) => {
      if (!AWS_NODE_PROCESS.test(command)) return;
      if (!awsNodeCpu || cpuPercent > awsNodeCpu.percent) {
        awsNodeCpu = { percent: cpuPercent, command, evidence: ctx.evidence(file, event, { highlight: true }) };
      }
    };

    return {
      'proc-loadavg'(event, file) {
        if (event.kind === 'loadavg') loadavg = { ...event, evidence: ctx.evidence(file, event, { highlight: true }) };
      },
      top(event, file) {
        if (event.kind === 'uptime') topLoad ??= { ...event, evidence: ctx.evidence(file, event, { highlight: true }) };
        if (event.kind === 'cpu' && event.cpu === 'cpu')
          topIdle ??= { idle: event.id, evidence: ctx.evidence(file, event) };
        if (event.kind === 'process') noteAwsNodeCpu(event.command, event.cpuPercent, file, event);
      },
      ps(event, file) {
        if (event.kind === 'process' && !awsNodeCpu) noteAwsNodeCpu(event.command, event.cpuPercent, file, event);
      },
      'proc-stat'(event, file) {
        if (event.kind === 'summary' && event.cpuCount > 0)
          cpuCount = { value: event.cpuCount, evidence: { path: file.path, text: `${event.cpuCount} cpuN lines` } };
      },
      'psi-cpu'(event, file) {
        if (event.kind !== 'psi') return;
        if (event.scope === 'some') psiSome = { ...event, evidence: ctx.evidence(file, event, { highlight: true }) };
        else psiFull = { ...event, evidence: ctx.evidence(file, event) };
      },
      'cpu-throttling'(event, file) {
        if (event.kind !== 'cgroup') return;
        // aws-node's container runs a shell entrypoint (aws-vpc-cni) and ipamd (aws-k8s-agent): name it by ipamd.
        const system =
          event.processes.find((process) => AWS_NODE_PROCESS.test(process.command)) ??
          event.processes.find((process) => SYSTEM_COMPONENT.test(process.command));
        if (!system) return;
        const component = SYSTEM_COMPONENT.exec(system.command)?.[1] ?? system.command;
        // Named by pod, so the throttling file and aws-node's own cgroup stats count the same container once.
        const name = component === 'aws-vpc-cni' || component === 'aws-k8s-agent' ? 'aws-node' : component;
        noteThrottle(
          name,
          event,
          ctx.evidence(file, event, {
            highlight: true,
            note: `throttled in ${percent(event.throttledRatio ?? 0)} of CFS periods; process: ${system.command}`,
          }),
        );
      },
      'cgroup-aws-node-cpu-stat'(event, file) {
        if (event.kind === 'summary')
          noteThrottle('aws-node', event, {
            path: file.path,
            text: `nr_periods ${event.nrPeriods ?? '?'}, nr_throttled ${event.nrThrottled ?? '?'}`,
          });
      },
      'kubelet-log': probes.handle,
      done() {
        probes.flush();
        cpuCount ??= ctx.bundle.node.cpuCount ? { value: ctx.bundle.node.cpuCount } : undefined;
        const load = loadavg ?? topLoad;
        if (!psiSome && load && !cpuCount) {
          ctx.notEvaluated(
            'the load average is known but not the CPU count (neither system/procstat.txt nor a manifest gives it), and there is no PSI (system/pressure_cpu.txt)',
          );
          return;
        }
        const signals: string[] = [];
        const facts: Fact[] = [];
        const evidence: Evidence[] = [];
        if (load) {
          evidence.push(load.evidence);
          facts.push({
            label: 'Load average (1m / 5m / 15m)',
            value: `${load.load1} / ${load.load5} / ${load.load15}`,
            path: load.evidence.path,
            line: load.evidence.line,
          });
        }
        if (cpuCount) facts.push({ label: 'CPUs', value: String(cpuCount.value), path: cpuCount.evidence?.path });
        if (load && cpuCount) {
          const perCpu = Math.max(load.load1, load.load5) / cpuCount.value;
          facts.push({ label: 'Runnable load per CPU', value: perCpu.toFixed(2) });
          if (perCpu >= OVERLOADED_LOAD_PER_CPU) {
            signals.push(
              `load average ${Math.max(load.load1, load.load5)} on ${cpuCount.value} CPUs (${perCpu.toFixed(1)} per CPU)`,
            );
          }
        }
        if (psiSome) {
          evidence.push(psiSome.evidence);
          facts.push({
            label: 'PSI cpu some avg10 / avg60 / avg300',
            value: `${psiSome.avg10}% / ${psiSome.avg60}% / ${psiSome.avg300}%`,
            path: psiSome.evidence.path,
            line: psiSome.evidence.line,
          });
          if (psiSome.avg60 >= PSI_SOME_AVG60_STARVED || psiSome.avg10 >= PSI_SOME_AVG10_STARVED) {
            signals.push(
              `tasks waited for CPU ${psiSome.avg60}% of the last minute (PSI cpu some avg60${psiFull ? `; full avg60 ${psiFull.avg60}%` : ''})`,
            );
          }
        }
        if (psiFull && psiFull.avg60 > 0) evidence.push(psiFull.evidence);
        if (topIdle) {
          facts.push({
            label: 'CPU idle in top',
            value: `${topIdle.idle}%`,
            path: topIdle.evidence.path,
            line: topIdle.evidence.line,
          });
          if (topIdle.idle < 5 && signals.length > 0) evidence.push(topIdle.evidence);
        }
        if (throttled.length > 0) {
          throttled.sort((a, b) => b.ratio - a.ratio);
          const worst = throttled.slice(0, 4);
          signals.push(
            `CFS throttling of kube-system containers: ${worst.map((t) => `${t.who} in ${percent(t.ratio)} of periods`).join(', ')}`,
          );
          for (const t of worst) evidence.push(t.evidence);
        }
        if (awsNodeCpu) {
          facts.push({
            label: 'aws-node CPU (top/ps)',
            value: `${awsNodeCpu.percent}% (${awsNodeCpu.command})`,
            path: awsNodeCpu.evidence.path,
            line: awsNodeCpu.evidence.line,
          });
          if (signals.length > 0) evidence.push(awsNodeCpu.evidence);
        }
        if (probeTimeouts > 0) {
          facts.push({
            label: 'Probe timeouts in the kubelet journal',
            value: `${probeTimeouts} (aws-node: ${awsNodeProbeTimeouts})`,
          });
        }

        if (signals.length > 0) {
          if (lastProbeTimeout) evidence.push({ ...lastProbeTimeout, note: 'last probe timeout in the journal' });
          ctx.fail(
            'starved',
            {
              signals: signals.join('; '),
              probes:
                probeTimeouts > 0
                  ? `. At the same time kubelet logged ${probeTimeouts} probe timeouts${awsNodeProbeTimeouts > 0 ? `, ${awsNodeProbeTimeouts} of them aws-node's` : ''}`
                  : '',
            },
            { evidence, facts, severity: awsNodeProbeTimeouts > 0 ? 'critical' : 'warning' },
          );
          return;
        }
        const observed: string[] = [];
        if (load && cpuCount) observed.push(`load average ${load.load1} on ${cpuCount.value} CPUs`);
        else if (load) observed.push(`load average ${load.load1}`);
        if (psiSome) observed.push(`PSI cpu some avg60 ${psiSome.avg60}%`);
        if (!(load && cpuCount) && !psiSome) {
          ctx.notEvaluated('the CPU count is unknown, so the load average alone cannot be judged');
          return;
        }
        if (ctx.bundle.item('cpu-throttling').present || ctx.bundle.item('cgroup-aws-node-cpu-stat').present) {
          observed.push('no kube-system container throttled in 25% or more of CFS periods');
        }
        ctx.pass('healthy', { observed: observed.join(', ') }, { evidence, facts });
      },
    };
  },
});
