/**
 * annotate-pod-ip-permissions: with `ANNOTATE_POD_IP=true` ipamd writes each pod's IP into the
 * `vpc.amazonaws.com/pod-ips` annotation (for Calico, which would otherwise wait for kubelet's status update), which
 * needs `patch` on pods in the aws-node ClusterRole. Self-managed installs do not grant it (the guide and the README
 * give the command that appends it); the managed add-on grants it.
 *
 * What ipamd logs when a patch fails (pkg/ipamd/ipamd.go `AnnotatePod`, pkg/ipamd/rpc_handler.go):
 *   `Failed to annotate vpc.amazonaws.com/pod-ips the pod with 10.0.1.45, error pods "web-5d9c" is forbidden: User
 *   "system:serviceaccount:kube-system:aws-node" cannot patch resource "pods" in API group "" in the namespace "shop"`
 *   `Failed to add the pod annotation: pods "web-5d9c" is forbidden: …` (and `Failed to delete the pod annotation` on DEL)
 * The API server's RBAC denial is `<resource> "<name>" is forbidden: User "<user>" cannot <verb> resource …`. A
 * different refusal, `Pod "…" is invalid: spec: Forbidden: pod updates may not change fields …`, comes from a
 * webhook or policy engine changing the pod spec in the patch (aws/amazon-vpc-cni-k8s#2654), not from RBAC.
 *
 * Reads `ANNOTATE_POD_IP` through the shared aws-node view and those lines from ipamd.log, and from aws-node's
 * container log when ipamd logs to stdout.
 */
import { bundlePaths } from '../../contract/bundle.ts';
import { defineRule } from '../engine/rule.ts';
import type { Evidence } from '../report/model.ts';
import {
  AWS_NODE_ENV_ITEMS,
  createAwsNodeConfigCollector,
  describeEnv,
  effectiveValue,
  envEvidence,
  isKnown,
  lookupEnv,
  missingConfigReason,
  parseGoBool,
  sourceFacts,
  uniqueEvidence,
} from './shared/aws-node-config.ts';

const FILTERS = ['Failed to annotate', 'the pod annotation'] as const;
const RBAC_DENIAL =
  /is forbidden: User "([^"]+)" cannot patch resource "pods"(?: in API group "")?(?: in the namespace "([^"]+)")?/;
const INVALID_UPDATE = /is invalid: .*Forbidden: pod updates may not change/;
const MAX_SAMPLES = 4;

type Kind = 'rbac' | 'invalid' | 'other';

interface Sightings {
  count: number;
  samples: Evidence[];
  last?: Evidence;
}

function classify(text: string): Kind {
  if (RBAC_DENIAL.test(text)) return 'rbac';
  if (INVALID_UPDATE.test(text)) return 'invalid';
  return 'other';
}

export default defineRule({
  meta: {
    id: 'annotate-pod-ip-permissions',
    title: 'ANNOTATE_POD_IP without permission to patch pods',
    severity: 'warning',
    description:
      "With ANNOTATE_POD_IP=true ipamd annotates every pod with its IP so that Calico can program policy before kubelet reports the IP; without patch permission on pods in the aws-node ClusterRole every annotation fails, and Calico falls back to waiting for kubelet's status update, the race the setting exists to avoid.",
    needs: [{ anyOf: [...AWS_NODE_ENV_ITEMS, 'ipamd-log', 'aws-node-container-log'] }],
    filters: { 'ipamd-log': FILTERS, 'aws-node-container-log': FILTERS },
    messages: {
      forbidden:
        'ipamd was refused permission to patch pods {{count}} time(s) ({{user}}{{namespaces}}): ANNOTATE_POD_IP is on ({{setting}}) but the aws-node ClusterRole lacks patch on pods, so no pod gets its vpc.amazonaws.com/pod-ips annotation.',
      rejectedUpdate:
        'The API server rejected ipamd\'s pod-IP annotation patch {{count}} time(s) as an invalid pod update ("pod updates may not change fields"): a mutating webhook or policy engine alters the pod spec in the same request ({{setting}}).',
      otherErrors: 'ipamd failed to annotate pods with their IPs {{count}} time(s) ({{setting}}), last: "{{line}}".',
      enabledOk: 'ANNOTATE_POD_IP is on ({{setting}}) and {{logs}} show no failed pod annotation patch.',
      disabled: 'ANNOTATE_POD_IP is off ({{setting}}): ipamd does not patch pods, so it needs no patch permission.',
      noErrors: '{{logs}} show no failed pod annotation patch; whether ANNOTATE_POD_IP is on is not in the bundle.',
    },
    remediation: [
      'Add patch on pods to the aws-node ClusterRole: write `- apiGroups: [""]\\n  resources: [pods]\\n  verbs: [patch]` to append.yaml and run `kubectl apply -f <(cat <(kubectl get clusterrole aws-node -o yaml) append.yaml)`; the managed add-on grants it itself.',
      'Weigh the wider permission first: patch on pods lets the aws-node service account change any pod. If Calico is not in use, turn the setting off instead: `kubectl -n kube-system set env daemonset aws-node -c aws-node ANNOTATE_POD_IP=false`.',
      "Check the result on a new pod: `kubectl get pod <pod> -o jsonpath='{.metadata.annotations.vpc\\.amazonaws\\.com/pod-ips}'`.",
      'For "pod updates may not change fields" refusals, find the webhook that mutates pod updates: `kubectl get mutatingwebhookconfigurations` and exclude kube-system/aws-node patches from it.',
    ],
    references: [
      {
        title: 'Amazon VPC CNI README: ANNOTATE_POD_IP',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s#annotate_pod_ip-v193',
      },
      {
        title: 'Amazon EKS: Calico and the ANNOTATE_POD_IP setting',
        url: 'https://docs.aws.amazon.com/eks/latest/userguide/pod-networking-use-cases.html',
      },
      {
        title: 'aws/amazon-vpc-cni-k8s#2654: annotation patch rejected as an invalid pod update',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/issues/2654',
      },
    ],
  },
  create(ctx) {
    const collector = createAwsNodeConfigCollector();
    const sightings: Record<Kind, Sightings> = {
      rbac: { count: 0, samples: [] },
      invalid: { count: 0, samples: [] },
      other: { count: 0, samples: [] },
    };
    const users = new Set<string>();
    const namespaces = new Set<string>();
    // AnnotatePod logs the failure and its caller logs it again: count a failure once, by the caller's line when
    // the log has it.
    let callerLines = 0;
    let innerLines = 0;
    const note = (text: string, evidence: Evidence) => {
      const isCaller = text.includes('the pod annotation');
      if (isCaller) callerLines++;
      else innerLines++;
      const kind = classify(text);
      const rbac = RBAC_DENIAL.exec(text);
      if (rbac) {
        users.add(rbac[1] as string);
        if (rbac[2] && namespaces.size < 5) namespaces.add(rbac[2]);
      }
      const entry = sightings[kind];
      entry.count++;
      entry.last = evidence;
      if (entry.samples.length < MAX_SAMPLES) entry.samples.push(evidence);
    };
    return {
      ...collector.handlers,
      'ipamd-log'(event, file) {
        if (event.kind !== 'entry' || !FILTERS.some((filter) => event.msg.includes(filter))) return;
        note(event.msg, ctx.evidence(file, event, { time: event.ts, highlight: true }));
      },
      'aws-node-container-log'(event, file) {
        // Any parser's event carries the raw line, and ipamd's JSON message is inside it.
        if (FILTERS.some((filter) => event.raw.includes(filter)))
          note(event.raw, ctx.evidence(file, event, { highlight: true }));
      },
      done() {
        const config = collector.config(ctx.bundle);
        const setting = lookupEnv(config, 'ANNOTATE_POD_IP');
        const on = isKnown(setting) ? parseGoBool(effectiveValue(setting)) === true : undefined;
        const facts = [...sourceFacts(config)];
        // Each failure is logged twice when both lines are there; report failures, not lines.
        const both = callerLines > 0 && innerLines > 0;
        const failures = (entry: Sightings) => (both ? Math.ceil(entry.count / 2) : entry.count);
        const caveats: string[] = [];
        if (on === false) {
          caveats.push(`ANNOTATE_POD_IP is off now (${describeEnv(setting)}): the failures are from when it was on`);
        }
        const settingText = isKnown(setting) ? describeEnv(setting) : 'the setting itself is not in the bundle';
        const logFiles = [...ctx.bundle.item('ipamd-log').files, ...ctx.bundle.item('aws-node-container-log').files];
        const logsText = logFiles.length
          ? `${logFiles.reduce((sum, file) => sum + file.lines, 0).toLocaleString('en-US')} lines of ${logFiles.map((file) => file.path).join(', ')}`
          : '';
        const sampleEvidence = (entry: Sightings) =>
          uniqueEvidence([
            ...entry.samples,
            ...(entry.last && entry.count > entry.samples.length
              ? [{ ...entry.last, note: `last of ${entry.count} lines` }]
              : []),
          ]);

        if (sightings.rbac.count > 0) {
          facts.push({ label: 'Refused pod patches', value: String(failures(sightings.rbac)) });
          ctx.fail(
            'forbidden',
            {
              count: failures(sightings.rbac),
              user: [...users].join(', '),
              namespaces: namespaces.size > 0 ? ` in namespace ${[...namespaces].join(', ')}` : '',
              setting: settingText,
            },
            { evidence: [...sampleEvidence(sightings.rbac), ...envEvidence(setting)], facts, caveats },
          );
          return;
        }
        if (sightings.invalid.count > 0) {
          ctx.fail(
            'rejectedUpdate',
            { count: failures(sightings.invalid), setting: settingText },
            {
              evidence: [...sampleEvidence(sightings.invalid), ...envEvidence(setting)],
              facts,
              caveats,
              remediation: [
                'This is not an RBAC problem: the patch reached the API server and was rejected after a webhook changed the pod spec in it.',
              ],
            },
          );
          return;
        }
        if (sightings.other.count > 0) {
          ctx.fail(
            'otherErrors',
            {
              count: failures(sightings.other),
              setting: settingText,
              line: (sightings.other.last?.text ?? '').slice(0, 300),
            },
            {
              evidence: [...sampleEvidence(sightings.other), ...envEvidence(setting)],
              facts,
              caveats,
              severity: 'info',
            },
          );
          return;
        }
        if (on === false) {
          ctx.pass('disabled', { setting: describeEnv(setting) }, { evidence: envEvidence(setting), facts });
          return;
        }
        if (logFiles.length === 0) {
          ctx.notEvaluated(
            on
              ? `ANNOTATE_POD_IP is on (${describeEnv(setting)}) but neither ${bundlePaths['ipamd-log']} nor aws-node's container log is in the bundle to show whether its patches succeed`
              : missingConfigReason(config, 'ANNOTATE_POD_IP'),
          );
          return;
        }
        const logEvidence: Evidence[] = logFiles
          .filter((file) => file.lastLine)
          .map((file) => ({ path: file.path, line: file.lines, text: file.lastLine ?? '', note: 'last line read' }));
        if (on) {
          ctx.pass(
            'enabledOk',
            { setting: describeEnv(setting), logs: logsText },
            { evidence: [...envEvidence(setting), ...logEvidence], facts },
          );
          return;
        }
        ctx.pass(
          'noErrors',
          { logs: logsText.charAt(0).toUpperCase() + logsText.slice(1) },
          { evidence: logEvidence, facts, caveats: [missingConfigReason(config, 'ANNOTATE_POD_IP')] },
        );
      },
    };
  },
});
