/**
 * ipv6-without-prefix-delegation: the IP family settings of aws-node as the VPC CNI accepts them.
 *
 * ipamd's `isConfigValid` (pkg/ipamd/ipamd.go) refuses to start, and so leaves every new pod on the node without an
 * address, when:
 * - `ENABLE_IPv4` and `ENABLE_IPv6` are both true (`ENABLE_IPv4` defaults to true, so turning IPv6 on without turning
 *   IPv4 off is dual-stack): "IPv4 and IPv6 are both enabled. VPC CNI currently does not support dual stack mode";
 * - both are false: "IPv4 and IPv6 are both disabled. One of them have to be enabled";
 * - IPv6 is on without `ENABLE_PREFIX_DELEGATION=true`, or with custom networking: "IPv6 is supported only in Prefix
 *   Delegation mode. Custom Networking is not supported in IPv6 mode. …".
 * The aws-vpc-cni-init container reads its own `ENABLE_IPv6` (exactly `true`; cmd/aws-vpc-cni-init/main.go) to set
 * `net.ipv6.conf.all.disable_ipv6=0`, `net.ipv6.conf.all.forwarding=1` and `accept_ra=2` on the primary ENI; the
 * README asks for it in both containers. Without it on an IPv6 node, the node does not forward pods' IPv6 traffic.
 *
 * Reads the environment through the shared aws-node view (the init container's is only in `kubelet/pods.json`) and
 * ipamd.log's refusals as corroboration, or as the evidence when the environment is not in the bundle.
 */
import { bundlePaths } from '../../contract/bundle.ts';
import { defineRule } from '../engine/rule.ts';
import type { Evidence, Severity } from '../report/model.ts';
import {
  AWS_NODE_ENV_ITEMS,
  createAwsNodeConfigCollector,
  describeEnv,
  type EnvLookup,
  effectiveValue,
  envEvidence,
  isKnown,
  lookupEnv,
  missingConfigReason,
  parseGoBool,
  sourceFacts,
  uniqueEvidence,
} from './shared/aws-node-config.ts';

const LOG_MESSAGES = [
  'IPv4 and IPv6 are both enabled',
  'IPv4 and IPv6 are both disabled',
  'IPv6 is supported only in Prefix Delegation mode',
  'IPv6 is only supported in Prefix delegation Mode',
] as const;
const MAX_LOG_SAMPLES = 3;

type MessageId = 'dualStack' | 'noneEnabled' | 'noPrefixDelegation' | 'initMismatch' | 'fromLogs' | 'ipv4' | 'ipv6';

interface Finding {
  messageId: MessageId;
  severity: Severity;
  data: Record<string, string | number>;
  evidence: Evidence[];
  /** One clause for the summary of another finding. */
  short: string;
}

const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** ipamd's getEnvBoolWithDefault: strconv.ParseBool, the default when unset or unparsable. */
function ipamdBool(lookup: EnvLookup, fallback: boolean): boolean | undefined {
  if (!isKnown(lookup)) return undefined;
  return parseGoBool(effectiveValue(lookup)) ?? fallback;
}

export default defineRule({
  meta: {
    id: 'ipv6-without-prefix-delegation',
    title: 'IPv6 settings the VPC CNI refuses',
    severity: 'critical',
    description:
      'The VPC CNI runs IPv4 or IPv6, never both, and IPv6 only in prefix delegation mode: with ENABLE_IPv6=true and ENABLE_IPv4 left at its default, without ENABLE_PREFIX_DELEGATION=true, or with both families off, ipamd refuses to start and new pods get no addresses. ENABLE_IPv6 also has to be set on the aws-vpc-cni-init container, which enables IPv6 forwarding on the node.',
    needs: [{ anyOf: [...AWS_NODE_ENV_ITEMS, 'ipamd-log'] }],
    // AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG as ipamd applied it, when the environment is not in the bundle.
    uses: ['ipamd-env'],
    filters: { 'ipamd-log': LOG_MESSAGES },
    messages: {
      dualStack:
        'IPv4 and IPv6 are both enabled ({{v4}}, {{v6}}): the VPC CNI does not support dual-stack, so ipamd refuses to start and new pods on this node get no IP address{{more}}.',
      noneEnabled:
        'IPv4 and IPv6 are both disabled ({{v4}}, {{v6}}): ipamd refuses to start and new pods on this node get no IP address{{more}}.',
      noPrefixDelegation:
        'IPv6 is enabled ({{v6}}) but {{problem}}: IPv6 works only in prefix delegation mode without custom networking, so ipamd refuses to start{{more}}.',
      initMismatch:
        'ENABLE_IPv6 differs between the aws-node container ({{main}}) and the aws-vpc-cni-init container ({{init}}): {{effect}}{{more}}.',
      fromLogs:
        'ipamd.log shows ipamd refusing its IP family settings {{count}} time(s), last: "{{line}}"; the environment that caused it is not in the bundle{{more}}.',
      ipv4: 'IPv4 mode, as the VPC CNI supports it: {{v4}}, {{v6}}{{init}}.',
      ipv6: 'IPv6 mode with prefix delegation, as the VPC CNI requires: {{v6}}, {{v4}}, {{pd}}{{init}}.',
    },
    remediation: [
      'For an IPv6 cluster set, on the aws-node container, `ENABLE_IPv6=true`, `ENABLE_IPv4=false` and `ENABLE_PREFIX_DELEGATION=true`, and on the aws-vpc-cni-init container `ENABLE_IPv6=true`: `kubectl -n kube-system set env daemonset aws-node -c aws-node ENABLE_IPv6=true ENABLE_IPv4=false ENABLE_PREFIX_DELEGATION=true` and `kubectl -n kube-system set env daemonset aws-node -c aws-vpc-cni-init ENABLE_IPv6=true` (for the managed add-on, put the same values in its configuration: `env` and `init.env`).',
      'For an IPv4 cluster remove ENABLE_IPv6 from both containers (or set it to false) and keep ENABLE_IPv4=true.',
      'IPv6 needs Nitro instances (prefix delegation), no custom networking, and the AmazonEKS_CNI_IPv6_Policy on the CNI role.',
      'After the change, check that ipamd started: `kubectl -n kube-system logs <aws-node pod> -c aws-node` and the end of /var/log/aws-routed-eni/ipamd.log.',
    ],
    references: [
      {
        title: 'Amazon VPC CNI README: ENABLE_IPv6, ENABLE_IPv4, ENABLE_PREFIX_DELEGATION',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s#enable_ipv6-v1100',
      },
      {
        title: 'Amazon EKS: IPv6 addresses for clusters, pods, and services',
        url: 'https://docs.aws.amazon.com/eks/latest/userguide/cni-ipv6.html',
      },
      {
        title: 'aws-vpc-cni-init: IPv6 sysctls (cmd/aws-vpc-cni-init/main.go)',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/blob/master/cmd/aws-vpc-cni-init/main.go',
      },
    ],
  },
  create(ctx) {
    const collector = createAwsNodeConfigCollector();
    let logCount = 0;
    const logSamples: Evidence[] = [];
    let lastLog: Evidence | undefined;
    return {
      ...collector.handlers,
      'ipamd-log'(event, file) {
        if (event.kind !== 'entry' || !LOG_MESSAGES.some((message) => event.msg.includes(message))) return;
        logCount++;
        lastLog = ctx.evidence(file, event, { time: event.ts, highlight: true });
        if (logSamples.length < MAX_LOG_SAMPLES) logSamples.push(lastLog);
      },
      done() {
        const config = collector.config(ctx.bundle);
        const v6 = lookupEnv(config, 'ENABLE_IPv6');
        const v4 = lookupEnv(config, 'ENABLE_IPv4');
        const pd = lookupEnv(config, 'ENABLE_PREFIX_DELEGATION');
        const custom = lookupEnv(config, 'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG');
        const initV6 = lookupEnv(config, 'ENABLE_IPv6', 'aws-vpc-cni-init');
        const ipv6 = ipamdBool(v6, false);
        const ipv4 = ipamdBool(v4, true);
        const logEvidence = () => {
          const evidence = [...logSamples];
          if (lastLog && !evidence.includes(lastLog)) evidence.push({ ...lastLog, note: `last of ${logCount}` });
          return evidence;
        };
        const facts = [
          ...sourceFacts(config),
          ...(logCount > 0 ? [{ label: 'IP family refusals in ipamd.log', value: String(logCount) }] : []),
        ];

        if (ipv6 === undefined || ipv4 === undefined) {
          if (logCount > 0 && lastLog) {
            ctx.fail(
              'fromLogs',
              { count: logCount, line: lastLog.text.slice(0, 300), more: '' },
              { evidence: logEvidence(), facts, caveats: [missingConfigReason(config)] },
            );
            return;
          }
          ctx.notEvaluated(
            missingConfigReason(config, "aws-node's IP family settings (ENABLE_IPv4, ENABLE_IPv6)", true),
          );
          return;
        }

        const findings: Finding[] = [];
        const caveats: string[] = [];
        const initValue = effectiveValue(initV6);
        // The init container compares with "true" exactly.
        const initIpv6 = isKnown(initV6) ? initValue === 'true' : undefined;
        if (ipv6 && ipv4) {
          findings.push({
            messageId: 'dualStack',
            severity: 'critical',
            data: { v4: describeEnv(v4), v6: describeEnv(v6) },
            evidence: [...envEvidence(v6), ...envEvidence(v4)],
            short: 'IPv4 and IPv6 both enabled',
          });
        }
        if (!ipv6 && !ipv4) {
          findings.push({
            messageId: 'noneEnabled',
            severity: 'critical',
            data: { v4: describeEnv(v4), v6: describeEnv(v6) },
            evidence: [...envEvidence(v4), ...envEvidence(v6)],
            short: 'IPv4 and IPv6 both disabled',
          });
        }
        if (ipv6) {
          const problems: string[] = [];
          const evidence: Evidence[] = [...envEvidence(v6)];
          const pdOn = ipamdBool(pd, false);
          if (pdOn === false) {
            problems.push(`prefix delegation is off (${describeEnv(pd)})`);
            evidence.push(...envEvidence(pd));
          } else if (pdOn === undefined) {
            caveats.push(`ENABLE_PREFIX_DELEGATION cannot be told (${describeEnv(pd)}), and IPv6 requires it`);
          }
          if (ipamdBool(custom, false) === true) {
            problems.push(`custom networking is on (${describeEnv(custom)})`);
            evidence.push(...envEvidence(custom));
          }
          if (problems.length > 0) {
            findings.push({
              messageId: 'noPrefixDelegation',
              severity: 'critical',
              data: { v6: describeEnv(v6), problem: problems.join(' and ') },
              evidence,
              short: problems.join(' and '),
            });
          }
        }
        if (initIpv6 !== undefined && initIpv6 !== ipv6) {
          findings.push({
            messageId: 'initMismatch',
            severity: ipv6 ? 'critical' : 'warning',
            data: {
              main: describeEnv(v6),
              init: describeEnv(initV6),
              effect: ipv6
                ? 'the init container does not enable IPv6 forwarding (net.ipv6.conf.all.forwarding=1) or router advertisements on the primary ENI, so the node does not route its pods’ IPv6 traffic'
                : 'the init container turns on IPv6 forwarding on a node whose CNI runs IPv4, a sign of a half-applied change between the two families',
            },
            evidence: [...envEvidence(v6), ...envEvidence(initV6)],
            short: 'ENABLE_IPv6 differs between aws-node and aws-vpc-cni-init',
          });
        }
        if (initIpv6 === undefined && ipv6) {
          caveats.push(
            `the aws-vpc-cni-init container's ENABLE_IPv6 is only in the pod spec (${bundlePaths['kubelet-pods']}), which the bundle does not show: check it is true as well`,
          );
        }
        if (logCount > 0) {
          caveats.push(
            findings.length > 0
              ? `ipamd.log shows the refusal ${logCount} time(s)`
              : `ipamd.log holds ${logCount} earlier refusal(s) of the IP family settings, from before the settings now in force`,
          );
        }

        if (findings.length > 0) {
          findings.sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]);
          const [first, ...rest] = findings as [Finding, ...Finding[]];
          ctx.fail(
            first.messageId,
            { ...first.data, more: rest.length > 0 ? `; also ${rest.map((finding) => finding.short).join('; ')}` : '' },
            {
              severity: first.severity,
              evidence: uniqueEvidence([...findings.flatMap((finding) => finding.evidence), ...logEvidence()]),
              facts,
              caveats,
            },
          );
          return;
        }
        const initText = initIpv6 === undefined ? '' : `; aws-vpc-cni-init ${describeEnv(initV6)}`;
        const evidence = [...envEvidence(v4), ...envEvidence(v6)];
        if (ipv6) {
          ctx.pass(
            'ipv6',
            { v6: describeEnv(v6), v4: describeEnv(v4), pd: describeEnv(pd), init: initText },
            { evidence: uniqueEvidence([...evidence, ...envEvidence(pd), ...envEvidence(initV6)]), facts, caveats },
          );
          return;
        }
        ctx.pass(
          'ipv4',
          { v4: describeEnv(v4), v6: describeEnv(v6), init: initText },
          { evidence: [...evidence, ...envEvidence(initV6)], facts, caveats },
        );
      },
    };
  },
});
