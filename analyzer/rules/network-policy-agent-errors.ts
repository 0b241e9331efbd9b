/**
 * network-policy-agent-errors: the VPC CNI network policy agent (aws-eks-nodeagent) fails to enforce policy.
 *
 * Reads the agent's log (var_log/aws-routed-eni/network-policy-agent.log, zap JSON; and its container log), the eBPF
 * SDK log, `aws-eks-na-cli ebpf loaded-ebpfdata` (networking/ebpf-data.txt) and the aws-node pod's status and
 * settings, and reports:
 * - BPF map update and delete failures (pods run with stale or missing rules; leaked maps and file descriptors);
 * - policies that cannot be enforced: probes that fail to attach or load, pods the agent cannot tie to their policy
 *   (aws/aws-network-policy-agent#183), programs loaded without their maps (the datapath then drops the pod's
 *   traffic: aws/aws-network-policy-agent#646);
 * - start-up and state recovery failures, and agent restarts (start-up lines in the log, container restarts);
 * - strict mode in effect (`NETWORK_POLICY_ENFORCING_MODE=strict`): new pods are default-deny until a policy allows
 *   them, so every failure above cuts pods off instead of leaving them open.
 * Message strings come from aws/aws-network-policy-agent (see data/network-policy-agent-messages.ts).
 */
import {
  type ContainerRecord,
  containersFromContainerInfo,
  containersFromDockerInspect,
  containersFromPodList,
  isSameNode,
} from '../engine/node-identity.ts';
import { defineRule, type FileRef } from '../engine/rule.ts';
import type { Evidence, Fact, Severity } from '../report/model.ts';
import {
  AGENT_MESSAGES,
  AGENT_MODE_MESSAGES,
  AGENT_START_MESSAGES,
  type AgentProblem,
  classifyAgentMessage,
} from './data/network-policy-agent-messages.ts';
import { NetworkPolicySettings } from './data/network-policy-settings.ts';

type Problem = AgentProblem | 'restarts' | 'programs-without-maps' | 'cli-failed';

const PROBLEM_WORDS: Record<Problem, string> = {
  'map-update': 'BPF map update failures',
  'map-delete': 'BPF map and program delete failures',
  'not-enforced': 'policies not enforced on pods (probe attach or load failures)',
  startup: 'start-up or eBPF state recovery failures',
  restarts: 'agent restarts',
  'programs-without-maps': 'eBPF programs loaded without their maps',
  'cli-failed': 'aws-eks-na-cli could not list the loaded eBPF programs',
};
const SEVERITY_RANK: Record<Severity, number> = { critical: 3, warning: 2, info: 1 };
/** Start-up lines in one log from which restarts count as a finding (the node monitoring agent uses 5 for ipamd). */
const LOG_STARTS_FINDING = 5;
/** Container restarts of aws-eks-nodeagent that count as a finding. */
const CONTAINER_RESTARTS_FINDING = 3;
const SAMPLES_PER_PROBLEM = 3;
const MAX_PODS_LISTED = 20;

const AGENT_FILTERS = [
  ...new Set([...AGENT_MESSAGES.map((message) => message.text), ...AGENT_START_MESSAGES, ...AGENT_MODE_MESSAGES]),
];
const SDK_FILTERS = AGENT_MESSAGES.filter((message) => message.text.startsWith('unable to')).map(
  (message) => message.text,
);

interface Tally {
  count: number;
  samples: Evidence[];
  first?: string;
  last?: string;
  pods: Set<string>;
}

interface ProgramBlock {
  evidence: Evidence;
  maps: number;
  pod?: string;
}

export default defineRule({
  meta: {
    id: 'network-policy-agent-errors',
    title: 'Network policy agent failures (BPF maps, probes, restarts, strict mode)',
    severity: 'warning',
    description:
      'The network policy agent enforces Kubernetes NetworkPolicy with eBPF programs and maps on each pod’s veth. Map update or delete failures, probes that do not attach, programs without maps and agent restarts leave pods with stale or no rules; in strict mode the same failures cut pods off.',
    needs: [{ anyOf: ['network-policy-agent-log', 'network-policy-agent-container-log', 'network-policy-ebpf-data'] }],
    uses: ['ebpf-sdk-log', 'kubelet-pods', 'cni-env-containerd', 'cni-env-dockerd'],
    filters: {
      'network-policy-agent-log': AGENT_FILTERS,
      'network-policy-agent-container-log': AGENT_FILTERS,
      'ebpf-sdk-log': SDK_FILTERS,
    },
    messages: {
      problems: 'The network policy agent shows {{problems}}{{mode}}.',
      strict:
        'Network policy runs in strict mode: pods are default-deny until a policy allows their traffic{{detail}}; the agent shows no failures.',
      healthy: 'The network policy agent shows no BPF map, probe or start-up failures ({{seen}}){{mode}}.',
      disabled: 'Network policy is disabled on this node ({{why}}); the agent shows no failures.',
    },
    remediation: [
      'Read the agent’s own log on the node for the failing pods and maps: `sudo grep -E "failed|Failed|unable to" /var/log/aws-routed-eni/network-policy-agent.log /var/log/aws-routed-eni/ebpf-sdk.log | tail -50`',
      'List what the agent has loaded and compare it with the pods that should be enforced: `sudo /opt/cni/bin/aws-eks-na-cli ebpf loaded-ebpfdata`; check the policy endpoints the controller published: `kubectl get policyendpoints -A`',
      'Check the agent container’s restarts and last exit: `kubectl -n kube-system get pod -l k8s-app=aws-node -o wide` and `kubectl -n kube-system describe pod <aws-node-pod>` (container aws-eks-nodeagent).',
      'Upgrade the VPC CNI add-on (and with it the agent) to the latest version for the cluster, then restart the aws-node pod on the node to rebuild the eBPF state: `kubectl -n kube-system delete pod <aws-node-pod>`',
      'In strict mode, make sure system pods (CoreDNS and anything pods need at start) have policies that allow their traffic before enabling it, and prefer replacing policies to deleting them.',
    ],
    references: [
      {
        title: 'Amazon EKS: troubleshooting Kubernetes network policies',
        url: 'https://docs.aws.amazon.com/eks/latest/userguide/network-policies-troubleshooting.html',
      },
      {
        title: 'VPC CNI operations guide: network policy implementation and strict mode',
        url: 'https://docs.aws.amazon.com/eks/latest/best-practices/vpc-cni.html',
      },
      {
        title: 'aws/aws-network-policy-agent#183: pods with no eBPF maps attached',
        url: 'https://github.com/aws/aws-network-policy-agent/issues/183',
      },
      {
        title: 'aws/aws-network-policy-agent#646: a program loaded without its maps isolates the pod',
        url: 'https://github.com/aws/aws-network-policy-agent/issues/646',
      },
    ],
  },
  create(ctx) {
    const tallies = new Map<Problem, Tally>();
    const settings = new NetworkPolicySettings();
    /** Start-up lines per file and marker: the marker with most lines counts the starts of that file. */
    const starts = new Map<string, { count: number; first?: Evidence; last?: Evidence }>();
    const agentContainers: { record: ContainerRecord; path: string }[] = [];
    const programs: ProgramBlock[] = [];
    let block: ProgramBlock | undefined;
    let programsListed = false;

    const note = (problem: Problem, evidence: Evidence, time?: string, pod?: string) => {
      const tally = tallies.get(problem) ?? { count: 0, samples: [], pods: new Set<string>() };
      tally.count++;
      if (tally.samples.length < SAMPLES_PER_PROBLEM) tally.samples.push(evidence);
      if (time) {
        if (!tally.first || time < tally.first) tally.first = time;
        if (!tally.last || time > tally.last) tally.last = time;
      }
      if (pod && tally.pods.size < MAX_PODS_LISTED) tally.pods.add(pod);
      tallies.set(problem, tally);
    };

    const sawAgentMessage = (
      msg: string,
      fields: Record<string, unknown> | undefined,
      time: string | undefined,
      file: FileRef,
      event: { line: number; raw: string },
    ) => {
      const start = AGENT_START_MESSAGES.find((text) => msg.startsWith(text));
      if (start) {
        const key = `${file.path}\0${start}`;
        const seen = starts.get(key) ?? { count: 0 };
        seen.count++;
        seen.first ??= ctx.evidence(file, event);
        seen.last = ctx.evidence(file, event);
        starts.set(key, seen);
        return;
      }
      if (AGENT_MODE_MESSAGES.some((text) => msg.includes(text))) {
        settings.sawAgentMessage(msg, ctx.evidence(file, event));
        return;
      }
      const message = classifyAgentMessage(msg);
      if (message) {
        note(message.problem, ctx.evidence(file, event, { highlight: true }), time, podOf(msg, fields));
      }
    };

    const closeBlock = () => {
      if (block) programs.push(block);
      block = undefined;
    };

    const sawContainers = (records: ContainerRecord[], path: string) => {
      settings.sawContainers(records, path);
      for (const record of records) {
        if (
          record.name === 'aws-eks-nodeagent' &&
          record.restartCount !== undefined &&
          agentContainers.length < 10_000
        ) {
          agentContainers.push({ record, path });
        }
      }
    };

    return {
      'network-policy-agent-log'(event, file) {
        if (event.kind !== 'entry') return;
        sawAgentMessage(event.msg, event.fields, event.ts, file, event);
      },
      'network-policy-agent-container-log'(event, file) {
        if (event.kind !== 'entry') return;
        const msg = typeof event.json?.msg === 'string' ? event.json.msg : event.message;
        const time = typeof event.json?.ts === 'string' ? event.json.ts : event.time;
        sawAgentMessage(msg, event.json, time, file, event);
      },
      'ebpf-sdk-log'(event, file) {
        if (event.kind !== 'entry') return;
        const message = classifyAgentMessage(event.msg);
        if (message) note(message.problem, ctx.evidence(file, event, { highlight: true }), event.ts);
      },
      'network-policy-ebpf-data'(event, file) {
        const text = event.text;
        if (text.startsWith('PinPath:')) {
          closeBlock();
          programsListed = true;
          block = { evidence: ctx.evidence(file, event), maps: 0 };
          settings.sawLoadedPrograms(ctx.evidence(file, event));
        } else if (text.startsWith('Pod Identifier')) {
          const pod = /^Pod Identifier\s*:\s*(\S+)/.exec(text)?.[1];
          if (block && pod) block.pod = pod;
        } else if (text.startsWith('Map Name:')) {
          if (block) block.maps++;
        } else if (/^=+$/.test(text)) {
          closeBlock();
        } else if (/failed to execute/i.test(text) || /^Error:/.test(text)) {
          note('cli-failed', ctx.evidence(file, event, { highlight: true }));
        }
      },
      'cni-env-containerd'(event, file) {
        if (event.kind === 'document') sawContainers(containersFromContainerInfo(event.value), file.path);
      },
      'cni-env-dockerd'(event, file) {
        if (event.kind === 'document') sawContainers(containersFromDockerInspect(event.value), file.path);
      },
      'kubelet-pods'(event, file) {
        if (event.kind === 'document') sawContainers(containersFromPodList(event.value), file.path);
      },
      done() {
        closeBlock();
        const hostname = ctx.bundle.node.hostname;
        const policy = settings.state(hostname);
        const strict = policy.mode?.value === 'strict';
        const facts: Fact[] = [];

        for (const program of programs) {
          if (program.maps === 0) {
            note('programs-without-maps', { ...program.evidence, highlight: true }, undefined, program.pod);
          }
        }

        // Restarts: the file with most start-up lines, and the agent container's restart count.
        const perFile = new Map<string, { count: number; first?: Evidence; last?: Evidence }>();
        for (const [key, seen] of starts) {
          const path = key.split('\0')[0] as string;
          const previous = perFile.get(path);
          if (!previous || seen.count > previous.count) perFile.set(path, seen);
        }
        const mostStarts = [...perFile.values()].sort((a, b) => b.count - a.count)[0];
        if (mostStarts) facts.push({ label: 'Agent start-ups in the log', value: String(mostStarts.count) });
        if (mostStarts && mostStarts.count >= LOG_STARTS_FINDING) {
          const tally: Tally = { count: mostStarts.count - 1, samples: [], pods: new Set() };
          if (mostStarts.first) tally.samples.push({ ...mostStarts.first, note: 'first start-up in the log' });
          if (mostStarts.last) tally.samples.push({ ...mostStarts.last, highlight: true, note: 'last start-up' });
          tallies.set('restarts', tally);
        }
        const agent = agentContainer(agentContainers, hostname);
        if (agent) {
          const { record, path } = agent;
          const last = record.lastTermination;
          const lastText = last
            ? `; last exit: ${last.reason ?? 'unknown reason'}${last.exitCode !== undefined ? ` (exit code ${last.exitCode})` : ''}${last.finishedAt ? ` at ${last.finishedAt}` : ''}`
            : '';
          facts.push({ label: 'aws-eks-nodeagent restarts', value: `${record.restartCount}${lastText}`, path });
          if ((record.restartCount ?? 0) >= CONTAINER_RESTARTS_FINDING) {
            const tally = tallies.get('restarts') ?? { count: 0, samples: [], pods: new Set<string>() };
            tally.count = Math.max(tally.count, record.restartCount ?? 0);
            tally.samples.push({
              path,
              text: `${record.pod ?? 'aws-node'}/aws-eks-nodeagent restartCount=${record.restartCount}${lastText}`,
              highlight: true,
            });
            tallies.set('restarts', tally);
          }
        }

        if (policy.enabled) {
          facts.push({ label: 'Network policy', value: policy.enabled.value ? 'enabled' : 'disabled' });
        }
        if (policy.mode) facts.push({ label: 'Enforcing mode', value: policy.mode.value });
        if (programsListed) {
          facts.push({ label: 'eBPF programs loaded (ebpf-data.txt)', value: String(programs.length) });
        }
        const policyEvidence = [policy.mode?.evidence, policy.enabled?.evidence].filter(
          (item): item is Evidence => item !== undefined,
        );
        const modeText = strict ? ', in strict mode (pods without working rules are cut off)' : '';

        if (tallies.size > 0) {
          const problems = [...tallies.entries()];
          const severity = problems
            .map(([problem]) => severityOf(problem, strict))
            .sort((a, b) => SEVERITY_RANK[b] - SEVERITY_RANK[a])[0];
          const pods = [...new Set(problems.flatMap(([, tally]) => [...tally.pods]))];
          if (pods.length > 0) facts.push({ label: 'Pods named in the failures', value: pods.join(', ') });
          ctx.fail(
            'problems',
            {
              problems: problems.map(([problem, tally]) => `${PROBLEM_WORDS[problem]} (${tally.count})`).join(', '),
              mode: modeText,
            },
            {
              severity,
              evidence: [...problems.flatMap(([, tally]) => tally.samples), ...policyEvidence],
              facts,
              tables: [
                {
                  caption: 'Network policy agent failures',
                  columns: ['Problem', 'Count', 'First seen', 'Last seen', 'Pods named'],
                  rows: problems.map(([problem, tally]) => [
                    PROBLEM_WORDS[problem],
                    String(tally.count),
                    tally.first ?? '',
                    tally.last ?? '',
                    [...tally.pods].join(', '),
                  ]),
                },
              ],
              caveats: strict
                ? []
                : [
                    'In standard mode a pod whose rules were not programmed keeps accepting all traffic: the failures are a policy gap, not an outage.',
                  ],
            },
          );
          return;
        }

        if (strict) {
          ctx.fail(
            'strict',
            { detail: programsListed ? ` (${programs.length} eBPF programs loaded)` : '' },
            { severity: 'info', evidence: policyEvidence, facts },
          );
          return;
        }
        if (policy.enabled?.value === false) {
          ctx.pass('disabled', { why: policy.enabled.evidence.text }, { evidence: policyEvidence, facts });
          return;
        }
        const logFiles = [
          ...ctx.bundle.item('network-policy-agent-log').files,
          ...ctx.bundle.item('network-policy-agent-container-log').files,
        ];
        const logLines = logFiles.reduce((sum, file) => sum + file.lines, 0);
        if (logLines === 0 && !programsListed) {
          ctx.notEvaluated(
            'the network policy agent logs in the bundle are empty and networking/ebpf-data.txt lists no loaded programs',
          );
          return;
        }
        const seen: string[] = [];
        for (const file of logFiles) {
          facts.push({ label: 'Agent log read', value: `${file.lines} lines`, path: file.path });
        }
        if (logLines > 0) seen.push(`${logLines} agent log lines`);
        if (programsListed) seen.push(`${programs.length} eBPF programs, each with its maps`);
        const evidence: Evidence[] = [...policyEvidence];
        for (const file of logFiles) {
          if (file.lastLine)
            evidence.push({ path: file.path, line: file.lines, text: file.lastLine, note: 'last line' });
        }
        const firstProgram = programs[0];
        if (firstProgram) evidence.push(firstProgram.evidence);
        ctx.pass(
          'healthy',
          { seen: seen.join(', '), mode: policy.mode ? `, ${policy.mode.value} mode` : '' },
          {
            evidence,
            facts,
          },
        );
      },
    };
  },
});

function severityOf(problem: Problem, strict: boolean): Severity {
  switch (problem) {
    case 'startup':
    case 'programs-without-maps':
      return 'critical';
    case 'not-enforced':
    case 'map-update':
      return strict ? 'critical' : 'warning';
    default:
      return 'warning';
  }
}

/** This node's aws-eks-nodeagent container, or the only one listed. */
function agentContainer(
  containers: readonly { record: ContainerRecord; path: string }[],
  hostname: string | undefined,
): { record: ContainerRecord; path: string } | undefined {
  const mine = containers.find((container) => isSameNode(container.record.nodeName, hostname));
  if (mine) return mine;
  return containers.length === 1 ? containers[0] : undefined;
}

/**
 * The pod a failure names: `for pod: web-1 in namespace default`, `podIdentifier web-7d9f-default`, or logr's
 * `"pod: ": "web-1"` field (agent v1.0).
 */
function podOf(msg: string, fields: Record<string, unknown> | undefined): string | undefined {
  const match = /\bpod(?:Identifier)?:?\s+([a-z0-9][a-z0-9.-]*)/i.exec(msg);
  if (match?.[1] && match[1] !== 'in') return match[1];
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (/^\s*pod(?:Identifier|Name)?:?\s*$/i.test(key) && typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}
