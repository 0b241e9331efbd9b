/**
 * invalid-veth-prefix: `AWS_VPC_K8S_CNI_VETHPREFIX` names the host side of every pod's veth pair (`eni1a2b3c…`). It may
 * be at most 4 characters and not `eth`, `vlan` or `lo`, which the CNI reserves for the node's own interfaces.
 * aws-node checks it before anything else (`validateEnvVars` in cmd/aws-vpc-cni/main.go, the entrypoint script before
 * v1.10) and exits with "AWS_VPC_K8S_CNI_VETHPREFIX cannot be longer than 4 characters" or "… cannot be set to
 * reserved values …": ipamd never starts, `10-aws.conflist` is not rewritten, and no new pod gets a network. The
 * plugin itself refuses a longer prefix found in the conflist ("conf.VethPrefix can be at most 4 characters long").
 *
 * Reads the variable through the shared aws-node view (runtime env, pod spec, or the value ipamd applied per
 * `/v1/networkutils-env-settings`), the `vethPrefix` aws-node last wrote into `cni/10-aws.conflist`, and the
 * refusals in aws-node's container log and the kubelet journal.
 */
import { bundlePaths } from '../../contract/bundle.ts';
import { defineRule, type FileRef } from '../engine/rule.ts';
import type { JsonEvent } from '../parsers/json-document.ts';
import type { Evidence } from '../report/model.ts';
import {
  AWS_NODE_ENV_ITEMS,
  createAwsNodeConfigCollector,
  describeEnv,
  disagreementCaveat,
  effectiveValue,
  envEvidence,
  lookupEnv,
  missingConfigReason,
  SOURCE_LABEL,
  sourceFacts,
  uniqueEvidence,
} from './shared/aws-node-config.ts';

const RESERVED = new Set(['eth', 'vlan', 'lo']);
const MAX_BYTES = 4;
const CONTAINER_LOG_FILTERS = ['AWS_VPC_K8S_CNI_VETHPREFIX cannot be'] as const;
const KUBELET_FILTERS = ['VethPrefix can be at most'] as const;
const MAX_LOG_SAMPLES = 3;

/** What is wrong with a prefix, or undefined when the CNI accepts it. Go's len() counts bytes. */
function problemOf(prefix: string): 'tooLong' | 'reserved' | undefined {
  if (Buffer.byteLength(prefix, 'utf8') > MAX_BYTES) return 'tooLong';
  if (RESERVED.has(prefix)) return 'reserved';
  return undefined;
}

export default defineRule({
  meta: {
    id: 'invalid-veth-prefix',
    title: 'Host-side veth prefix the CNI rejects',
    severity: 'critical',
    description:
      'AWS_VPC_K8S_CNI_VETHPREFIX longer than 4 characters, or set to eth, vlan or lo, makes aws-node exit at start-up before ipamd runs, so no new pod on the node gets a network interface.',
    needs: [{ anyOf: [...AWS_NODE_ENV_ITEMS, 'ipamd-networkutils-env', 'cni-conflist'] }],
    uses: ['aws-node-container-log', 'kubelet-log'],
    filters: { 'aws-node-container-log': CONTAINER_LOG_FILTERS, 'kubelet-log': KUBELET_FILTERS },
    messages: {
      tooLong:
        'The host-side veth prefix "{{prefix}}" ({{how}}) is {{bytes}} characters long; the VPC CNI allows at most 4, so aws-node exits at start-up and new pods on this node get no network{{logs}}.',
      reserved:
        'The host-side veth prefix "{{prefix}}" ({{how}}) is reserved for the node\'s own interfaces (eth, vlan, lo), so aws-node exits at start-up and new pods on this node get no network{{logs}}.',
      fromLogs:
        'aws-node refused its veth prefix {{count}} time(s): "{{line}}"; the value itself is not in the bundle.',
      valid: 'The host-side veth prefix "{{prefix}}" ({{how}}) is valid: at most 4 characters and not eth, vlan or lo.',
    },
    remediation: [
      'Set a prefix of at most 4 characters that no other interface on the node starts with (the default is `eni`): `kubectl -n kube-system set env daemonset aws-node -c aws-node AWS_VPC_K8S_CNI_VETHPREFIX=eni` (for the managed add-on, in its configuration values under `env`).',
      'Watch aws-node come back: `kubectl -n kube-system rollout status daemonset aws-node`, then check that /etc/cni/net.d/10-aws.conflist on the node has the new `vethPrefix`.',
      'Pods created while aws-node was down keep failing their sandbox set-up until aws-node is ready; `kubectl get pods -A --field-selector spec.nodeName=<node>` shows those in ContainerCreating, which kubelet retries on its own.',
    ],
    references: [
      {
        title: 'Amazon VPC CNI README: AWS_VPC_K8S_CNI_VETHPREFIX',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s#aws_vpc_k8s_cni_vethprefix',
      },
      {
        title: 'aws-node start-up validation (cmd/aws-vpc-cni/main.go validateEnvVars)',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/blob/master/cmd/aws-vpc-cni/main.go',
      },
    ],
  },
  create(ctx) {
    const collector = createAwsNodeConfigCollector();
    let conflist: { prefix: string; evidence: Evidence } | undefined;
    let logCount = 0;
    const logSamples: Evidence[] = [];
    const noteLog = (evidence: Evidence) => {
      logCount++;
      if (logSamples.length < MAX_LOG_SAMPLES) logSamples.push(evidence);
    };
    return {
      ...collector.handlers,
      'cni-conflist'(event: JsonEvent, file: FileRef) {
        if (event.kind !== 'document' || typeof event.value !== 'object' || event.value === null) return;
        const plugins = (event.value as { plugins?: unknown }).plugins;
        for (const plugin of Array.isArray(plugins) ? plugins : []) {
          const entry = plugin as { type?: unknown; vethPrefix?: unknown };
          if (entry?.type === 'aws-cni' && typeof entry.vethPrefix === 'string') {
            conflist = {
              prefix: entry.vethPrefix,
              evidence: { path: file.path, text: `"vethPrefix": "${entry.vethPrefix}"`, note: 'aws-cni plugin entry' },
            };
          }
        }
      },
      'aws-node-container-log'(event, file) {
        // Any parser's event carries the raw line; the prefilter already kept only the refusals.
        if (CONTAINER_LOG_FILTERS.some((filter) => event.raw.includes(filter))) {
          noteLog(ctx.evidence(file, event, { highlight: true }));
        }
      },
      'kubelet-log'(event, file) {
        if (event.kind === 'entry' && KUBELET_FILTERS.some((filter) => event.text.includes(filter))) {
          noteLog(ctx.evidence(file, event, { time: event.timestamp, highlight: true }));
        }
      },
      done() {
        const config = collector.config(ctx.bundle);
        const lookup = lookupEnv(config, 'AWS_VPC_K8S_CNI_VETHPREFIX');
        const fromEnv = effectiveValue(lookup);
        const prefix = fromEnv ?? conflist?.prefix;
        const facts = [...sourceFacts(config)];
        if (conflist)
          facts.push({ label: 'vethPrefix in 10-aws.conflist', value: conflist.prefix, path: conflist.evidence.path });
        const caveats: string[] = [];
        const logs = logCount > 0 ? `; aws-node or kubelet logged the refusal ${logCount} time(s)` : '';

        if (prefix === undefined) {
          const last = logSamples[logSamples.length - 1];
          if (last) {
            ctx.fail(
              'fromLogs',
              { count: logCount, line: last.text.slice(0, 300) },
              { evidence: logSamples, facts, caveats: [missingConfigReason(config, 'AWS_VPC_K8S_CNI_VETHPREFIX')] },
            );
            return;
          }
          ctx.notEvaluated(
            `${missingConfigReason(config, 'AWS_VPC_K8S_CNI_VETHPREFIX')}; neither ${bundlePaths['ipamd-networkutils-env']} nor ${bundlePaths['cni-conflist']} gives it`,
          );
          return;
        }
        const how =
          lookup.state === 'set' || lookup.state === 'not-set' || lookup.state === 'effective'
            ? `${describeEnv(lookup)}, per ${SOURCE_LABEL[lookup.source]}`
            : `vethPrefix in ${bundlePaths['cni-conflist']}, as aws-node last wrote it`;
        const evidence = uniqueEvidence([
          ...envEvidence(lookup),
          ...(conflist && (fromEnv === undefined || conflist.prefix !== fromEnv) ? [conflist.evidence] : []),
        ]);
        if (fromEnv !== undefined && conflist && conflist.prefix !== fromEnv) {
          caveats.push(
            `10-aws.conflist still has vethPrefix "${conflist.prefix}": aws-node writes it only after a successful start`,
          );
        }
        if (fromEnv === undefined) {
          caveats.push(
            `the environment is not in the bundle (${missingConfigReason(config, 'AWS_VPC_K8S_CNI_VETHPREFIX')}); a value changed since aws-node last started would not show in 10-aws.conflist`,
          );
        }
        const disagreement = disagreementCaveat(lookup);
        if (disagreement) caveats.push(disagreement);
        const problem = problemOf(prefix);
        if (problem) {
          ctx.fail(
            problem,
            { prefix, how, bytes: Buffer.byteLength(prefix, 'utf8'), logs },
            { evidence: uniqueEvidence([...evidence, ...logSamples]), facts, caveats },
          );
          return;
        }
        if (logCount > 0) {
          caveats.push(
            `the logs hold ${logCount} earlier refusal(s) of a veth prefix, from before the value now in force`,
          );
        }
        ctx.pass(
          'valid',
          { prefix, how },
          { evidence: uniqueEvidence([...evidence, ...(conflist ? [conflist.evidence] : [])]), facts, caveats },
        );
      },
    };
  },
});
