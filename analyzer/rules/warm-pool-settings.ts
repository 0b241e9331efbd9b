/**
 * warm-pool-settings: the warm pool targets in force on the node (WARM_ENI_TARGET, WARM_IP_TARGET, MINIMUM_IP_TARGET,
 * WARM_PREFIX_TARGET, with ENABLE_PREFIX_DELEGATION deciding which apply) and what they imply for IP use, flagging
 * combinations the VPC CNI refuses, contradicts or advises against:
 * - prefix delegation with WARM_PREFIX_TARGET, WARM_IP_TARGET and MINIMUM_IP_TARGET all 0 or unset: aws-node exits at
 *   start-up ("Setting WARM_PREFIX_TARGET = 0 is not supported while WARM_IP_TARGET/MINIMUM_IP_TARGET is not set";
 *   cmd/aws-vpc-cni/main.go validateEnvVars; docs/prefix-and-ip-target.md);
 * - a target that is not an integer (validateEnvVars rejects WARM_IP_TARGET, WARM_PREFIX_TARGET, MINIMUM_IP_TARGET);
 * - MINIMUM_IP_TARGET without WARM_IP_TARGET: WARM_ENI_TARGET is ignored (README) and recent versions refuse it
 *   ("WARM_IP_TARGET MUST be set when MINIMUM_IP_TARGET is set");
 * - WARM_IP_TARGET without MINIMUM_IP_TARGET: EC2 calls on every swing in pod count (README: avoid on large or
 *   high-churn clusters, set MINIMUM_IP_TARGET with it);
 * - WARM_IP_TARGET or MINIMUM_IP_TARGET overriding an explicit WARM_PREFIX_TARGET under prefix delegation;
 * - WARM_ENI_TARGET=0 (no spare ENI), WARM_ENI_TARGET ≥ 2 and WARM_PREFIX_TARGET ≥ 2 (idle addresses held).
 * In IPv6 mode none of them applies.
 *
 * Reads the settings through the shared aws-node view (environment, else what ipamd reports on
 * /v1/ipamd-env-settings), the pool as /v1/enis shows it in any of its shapes, and ipamd.log's pool changes and EC2
 * throttling for how much churn the settings cause.
 */
import { defineRule, type FileRef } from '../engine/rule.ts';
import type { IpamdLogEvent } from '../parsers/ipamd-log.ts';
import type { JsonEvent } from '../parsers/json-document.ts';
import type { Evidence, Fact, Severity } from '../report/model.ts';
import {
  AWS_NODE_ENV_ITEMS,
  createAwsNodeConfigCollector,
  describeEnv,
  disagreementCaveat,
  type EnvLookup,
  effectiveValue,
  envEvidence,
  isKnown,
  lookupEnv,
  missingConfigReason,
  parseGoBool,
  parseGoInt,
  sourceFacts,
  uniqueEvidence,
} from './shared/aws-node-config.ts';
import { ENI_SHAPE_VERSIONS, type EniSnapshot, readEniDocument } from './shared/enis.ts';

const POOL_UP = [
  'Successfully increased IP pool',
  'Successfully increased Prefix pool',
  'Successfully increased IP Pool',
];
const POOL_DOWN = ['Successfully decreased IP pool', 'Successfully prefix removing'];
const THROTTLED = ['RequestLimitExceeded', 'Throttling'];
const LOG_FILTERS = ['Successfully increased', 'Successfully decreased', 'Successfully prefix removing', ...THROTTLED];
const CONTAINER_LOG_FILTERS = ['WARM_PREFIX_TARGET = 0 is not supported', 'MUST be set when MINIMUM_IP_TARGET'];
/** Addresses in one IPv4 prefix (/28). */
const PREFIX_SIZE = 16;
const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

type FindingId =
  | 'pdWithoutTargets'
  | 'invalidNumber'
  | 'minimumWithoutWarmIp'
  | 'warmIpWithoutMinimum'
  | 'warmIpZero'
  | 'warmEniZero'
  | 'warmPrefixIgnored'
  | 'wastefulEniTarget'
  | 'wastefulPrefixTarget';

interface Finding {
  id: FindingId;
  severity: Severity;
  data: Record<string, string | number>;
  evidence: Evidence[];
  /** The finding in a few words, for the summary of another one. */
  short: string;
}

interface Target {
  lookup: EnvLookup;
  /** Value in force: a positive number, 0 for none (unset, 0 or negative), undefined when unknown or unparsable. */
  value?: number;
  invalid: boolean;
}

function target(lookup: EnvLookup): Target {
  const raw = effectiveValue(lookup);
  if (!isKnown(lookup)) return { lookup, invalid: false };
  if (raw === undefined) return { lookup, value: 0, invalid: false };
  const parsed = parseGoInt(raw);
  if (parsed === undefined) return { lookup, invalid: true };
  return { lookup, value: Math.max(parsed, 0), invalid: false };
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : /[sx]$/.test(word) ? 'es' : 's'}`;

export default defineRule({
  meta: {
    id: 'warm-pool-settings',
    title: 'Warm pool settings (WARM_ENI_TARGET, WARM_IP_TARGET, MINIMUM_IP_TARGET, WARM_PREFIX_TARGET)',
    severity: 'warning',
    description:
      'The warm pool targets decide how many spare addresses each node holds and how often ipamd calls EC2: some combinations stop aws-node from starting, some silently override each other, and some hold idle addresses the subnet needs or churn the EC2 API.',
    needs: [{ anyOf: [...AWS_NODE_ENV_ITEMS, 'ipamd-env'] }],
    uses: ['ipamd-enis', 'ipamd-log', 'aws-node-container-log'],
    filters: { 'ipamd-log': LOG_FILTERS, 'aws-node-container-log': CONTAINER_LOG_FILTERS },
    messages: {
      pdWithoutTargets:
        'Prefix delegation is on ({{pd}}) with {{targets}}: with no warm prefix, warm IP or minimum IP target the VPC CNI refuses to start, so aws-node exits and new pods on this node get no address{{more}}.',
      invalidNumber:
        '{{values}}: not an integer; recent aws-node versions refuse to start on such a value, older ones ignore it{{more}}.',
      minimumWithoutWarmIp:
        'MINIMUM_IP_TARGET is set ({{minimum}}) without WARM_IP_TARGET ({{warmIp}}): WARM_ENI_TARGET is then ignored, the node keeps no spare address beyond the minimum, each further pod waits for an EC2 call, and recent aws-node versions refuse this combination at start-up{{churn}}{{more}}.',
      warmIpWithoutMinimum:
        'WARM_IP_TARGET is set ({{warmIp}}) without MINIMUM_IP_TARGET: ipamd attaches and releases {{unit}} on every swing in the pod count, calling EC2 each time, which the VPC CNI docs advise against on large or busy clusters{{churn}}{{more}}.',
      warmIpZero:
        'WARM_IP_TARGET=0 with MINIMUM_IP_TARGET ({{minimum}}): the node holds that many addresses and no spare beyond them, so each pod past the minimum waits for an EC2 call{{churn}}{{more}}.',
      warmEniZero:
        'WARM_ENI_TARGET=0 ({{warmEni}}) with no IP targets: ipamd keeps no spare ENI and adds addresses only when none is left, so pods wait for an ENI to attach whenever the node fills up{{more}}.',
      warmPrefixIgnored:
        '{{prefix}} has no effect: under prefix delegation {{overrides}} take precedence over WARM_PREFIX_TARGET{{more}}.',
      wastefulEniTarget:
        'WARM_ENI_TARGET={{count}} keeps {{count}} whole spare ENIs with all their secondary addresses attached{{now}}: addresses the subnet cannot give other nodes{{more}}.',
      wastefulPrefixTarget:
        'WARM_PREFIX_TARGET={{count}} keeps {{count}} spare /28 prefixes ({{ips}} addresses) attached{{now}}: addresses the subnet cannot give other nodes{{more}}.',
      ipv6: 'IPv6 mode ({{v6}}): the WARM_* and MINIMUM_IP_TARGET settings do not apply; ipamd assigns pods addresses from one /80 prefix per ENI.',
      effective: 'Warm pool settings in force: {{settings}}. {{implies}}{{now}}.',
    },
    remediation: [
      'Keep the defaults unless the subnet is short of addresses: WARM_ENI_TARGET=1, or with prefix delegation WARM_PREFIX_TARGET=1.',
      'In small subnets use WARM_IP_TARGET together with MINIMUM_IP_TARGET (MINIMUM_IP_TARGET slightly above the usual pod count of a node, WARM_IP_TARGET small, e.g. 2): `kubectl -n kube-system set env daemonset aws-node -c aws-node MINIMUM_IP_TARGET=12 WARM_IP_TARGET=2`.',
      'With prefix delegation, never leave WARM_PREFIX_TARGET, WARM_IP_TARGET and MINIMUM_IP_TARGET all at 0 or unset.',
      'For the EKS managed add-on set these in its configuration values (`env`): they are not managed fields, so values set with kubectl also persist across add-on updates.',
      'Check what ipamd applied after the change: `curl -s http://localhost:61679/v1/ipamd-env-settings` on the node, and the pool with `curl -s http://localhost:61679/v1/enis`.',
    ],
    references: [
      {
        title: 'Amazon VPC CNI: WARM_ENI_TARGET, WARM_IP_TARGET and MINIMUM_IP_TARGET',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/eni-and-ip-target.md',
      },
      {
        title: 'Amazon VPC CNI: WARM_PREFIX_TARGET, WARM_IP_TARGET and MINIMUM_IP_TARGET',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/prefix-and-ip-target.md',
      },
      {
        title: 'AWS re:Post: best practices for the VPC CNI warm pool variables',
        url: 'https://repost.aws/knowledge-center/eks-configure-cni-plugin-use-ip-address',
      },
      {
        title: 'Amazon VPC CNI start-up validation (cmd/aws-vpc-cni/main.go)',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/blob/master/cmd/aws-vpc-cni/main.go',
      },
    ],
  },
  create(ctx) {
    const collector = createAwsNodeConfigCollector();
    let pool: { snapshot: EniSnapshot; path: string } | undefined;
    const churn = {
      up: 0,
      down: 0,
      throttled: 0,
      first: undefined as string | undefined,
      last: undefined as string | undefined,
    };
    let throttleSample: Evidence | undefined;
    const refusals: Evidence[] = [];
    return {
      ...collector.handlers,
      'ipamd-enis'(event: JsonEvent, file: FileRef) {
        if (event.kind !== 'document') return;
        const document = readEniDocument(event.value);
        if (document.kind === 'enis') pool = { snapshot: document.snapshot, path: file.path };
      },
      'ipamd-log'(event: IpamdLogEvent, file: FileRef) {
        if (event.kind !== 'entry') return;
        const text = `${event.msg} ${event.fields.error ?? ''}`;
        if (POOL_UP.some((message) => event.msg.startsWith(message))) churn.up++;
        else if (POOL_DOWN.some((message) => event.msg.startsWith(message))) churn.down++;
        else if (THROTTLED.some((code) => text.includes(code))) {
          churn.throttled++;
          throttleSample ??= ctx.evidence(file, event, { time: event.ts, highlight: true });
        } else return;
        if (event.ts) {
          churn.first ??= event.ts;
          churn.last = event.ts;
        }
      },
      'aws-node-container-log'(event, file) {
        if (refusals.length < 3 && CONTAINER_LOG_FILTERS.some((filter) => event.raw.includes(filter))) {
          refusals.push(ctx.evidence(file, event, { highlight: true }));
        }
      },
      done() {
        const config = collector.config(ctx.bundle);
        const warmEni = target(lookupEnv(config, 'WARM_ENI_TARGET'));
        const warmIp = target(lookupEnv(config, 'WARM_IP_TARGET'));
        const minimum = target(lookupEnv(config, 'MINIMUM_IP_TARGET'));
        const warmPrefix = target(lookupEnv(config, 'WARM_PREFIX_TARGET'));
        const pdLookup = lookupEnv(config, 'ENABLE_PREFIX_DELEGATION');
        const v6Lookup = lookupEnv(config, 'ENABLE_IPv6');
        const caveats: string[] = [];
        const facts: Fact[] = [...sourceFacts(config)];

        if (!isKnown(warmEni.lookup) || !isKnown(warmIp.lookup)) {
          ctx.notEvaluated(missingConfigReason(config, 'WARM_ENI_TARGET and WARM_IP_TARGET', true));
          return;
        }
        for (const t of [warmEni, warmIp, minimum, warmPrefix]) {
          facts.push({
            label: t.lookup.name,
            value: describeEnv(t.lookup),
            path: t.lookup.state === 'unknown' ? undefined : t.lookup.evidence.path,
          });
        }
        let now = '';
        if (pool) {
          const s = pool.snapshot;
          const prefixes = s.enis.reduce((sum, eni) => sum + eni.prefixes.length, 0);
          now = `; now ${s.assignedIps} of ${s.totalIps} addresses are assigned on ${plural(s.enis.length, 'ENI')}${prefixes > 0 ? ` (${plural(prefixes, 'prefix')})` : ''}, ${s.totalIps - s.assignedIps} spare`;
          facts.push({
            label: 'Pool per /v1/enis',
            value: `${s.assignedIps} assigned of ${s.totalIps}, ${plural(s.enis.length, 'ENI')}${prefixes > 0 ? `, ${plural(prefixes, 'prefix')}` : ''} (${ENI_SHAPE_VERSIONS[s.shape]})`,
            path: pool.path,
          });
        }
        const hours =
          churn.first && churn.last ? (Date.parse(churn.last) - Date.parse(churn.first)) / 3_600_000 : Number.NaN;
        const changes = churn.up + churn.down;
        const churnText =
          changes + churn.throttled === 0
            ? ''
            : `; ipamd.log shows ${plural(changes, 'pool change')}${Number.isFinite(hours) && hours >= 1 ? ` in ${hours.toFixed(1)} h` : ''}${churn.throttled > 0 ? ` and ${churn.throttled} throttled EC2 call(s)` : ''}`;
        if (changes + churn.throttled > 0) {
          facts.push({
            label: 'Pool changes / throttled EC2 calls in ipamd.log',
            value: `${changes} / ${churn.throttled}`,
          });
        }

        if (parseGoBool(effectiveValue(v6Lookup)) === true) {
          ctx.pass('ipv6', { v6: describeEnv(v6Lookup) }, { evidence: envEvidence(v6Lookup), facts });
          return;
        }
        let pd = isKnown(pdLookup) ? parseGoBool(effectiveValue(pdLookup)) === true : undefined;
        if (pd === undefined && pool && pool.snapshot.enis.length > 0) {
          pd = pool.snapshot.prefixDelegation;
          caveats.push(
            `ENABLE_PREFIX_DELEGATION is not in the bundle; ${pd ? 'the /28 prefixes' : 'the secondary IPs without prefixes'} in ${pool.path} show it ${pd ? 'on' : 'off'}`,
          );
        }
        if (pd === undefined)
          caveats.push('ENABLE_PREFIX_DELEGATION is not known, so the prefix settings were not judged');
        for (const t of [warmEni, warmIp, minimum, warmPrefix]) {
          const caveat = disagreementCaveat(t.lookup);
          if (caveat) caveats.push(caveat);
        }
        for (const t of [minimum, warmPrefix]) {
          if (!isKnown(t.lookup))
            caveats.push(`${t.lookup.name} is not known (${missingConfigReason(config, t.lookup.name)})`);
        }

        const findings: Finding[] = [];
        const ipTargets = (warmIp.value ?? 0) > 0 || (minimum.value ?? 0) > 0;
        const invalid = [warmEni, warmIp, minimum, warmPrefix].filter((t) => t.invalid);
        if (invalid.length > 0) {
          findings.push({
            id: 'invalidNumber',
            severity: 'warning',
            data: { values: invalid.map((t) => describeEnv(t.lookup)).join(', ') },
            evidence: invalid.flatMap((t) => envEvidence(t.lookup)),
            short: `${invalid.map((t) => t.lookup.name).join(', ')} not an integer`,
          });
        }
        if (
          pd === true &&
          warmIp.value === 0 &&
          minimum.value === 0 &&
          warmPrefix.value === 0 &&
          !warmIp.invalid &&
          !minimum.invalid &&
          !warmPrefix.invalid
        ) {
          findings.push({
            id: 'pdWithoutTargets',
            severity: 'critical',
            data: {
              pd: describeEnv(pdLookup),
              targets: [warmPrefix, warmIp, minimum].map((t) => describeEnv(t.lookup)).join(', '),
            },
            evidence: [
              ...envEvidence(pdLookup),
              ...[warmPrefix, warmIp, minimum].flatMap((t) => envEvidence(t.lookup)),
              ...refusals,
            ],
            short: 'prefix delegation with no warm target at all',
          });
        }
        if ((minimum.value ?? 0) > 0 && warmIp.lookup.state === 'not-set') {
          findings.push({
            id: 'minimumWithoutWarmIp',
            severity: 'warning',
            data: { minimum: describeEnv(minimum.lookup), warmIp: describeEnv(warmIp.lookup), churn: churnText },
            evidence: [...envEvidence(minimum.lookup), ...envEvidence(warmIp.lookup), ...refusals],
            short: 'MINIMUM_IP_TARGET without WARM_IP_TARGET',
          });
        } else if ((minimum.value ?? 0) > 0 && warmIp.value === 0 && warmIp.lookup.state === 'set') {
          findings.push({
            id: 'warmIpZero',
            severity: 'info',
            data: { minimum: describeEnv(minimum.lookup), churn: churnText },
            evidence: [...envEvidence(warmIp.lookup), ...envEvidence(minimum.lookup)],
            short: 'no spare address beyond MINIMUM_IP_TARGET',
          });
        }
        if ((warmIp.value ?? 0) > 0 && minimum.value === 0) {
          findings.push({
            id: 'warmIpWithoutMinimum',
            severity: 'warning',
            data: {
              warmIp: describeEnv(warmIp.lookup),
              unit: pd ? '/28 prefixes' : 'secondary IPs',
              churn: churnText,
            },
            evidence: [
              ...envEvidence(warmIp.lookup),
              ...envEvidence(minimum.lookup),
              ...(throttleSample ? [throttleSample] : []),
            ],
            short: 'WARM_IP_TARGET without MINIMUM_IP_TARGET',
          });
        }
        if (pd === true && ipTargets && warmPrefix.lookup.state === 'set' && (warmPrefix.value ?? 0) > 0) {
          findings.push({
            id: 'warmPrefixIgnored',
            severity: 'info',
            data: {
              prefix: describeEnv(warmPrefix.lookup),
              overrides: [warmIp, minimum]
                .filter((t) => (t.value ?? 0) > 0)
                .map((t) => describeEnv(t.lookup))
                .join(' and '),
            },
            evidence: [...envEvidence(warmPrefix.lookup), ...envEvidence(warmIp.lookup)],
            short: `${warmPrefix.lookup.name} overridden`,
          });
        }
        if (pd === false && !ipTargets && warmEni.value === 0 && !warmEni.invalid) {
          findings.push({
            id: 'warmEniZero',
            severity: 'warning',
            data: { warmEni: describeEnv(warmEni.lookup) },
            evidence: envEvidence(warmEni.lookup),
            short: 'no spare ENI',
          });
        }
        if (pd === false && !ipTargets && (warmEni.value ?? 0) >= 2) {
          findings.push({
            id: 'wastefulEniTarget',
            severity: 'info',
            data: { count: warmEni.value ?? 0, now },
            evidence: envEvidence(warmEni.lookup),
            short: `${warmEni.value} spare ENIs held`,
          });
        }
        if (pd === true && !ipTargets && (warmPrefix.value ?? 0) >= 2) {
          findings.push({
            id: 'wastefulPrefixTarget',
            severity: 'info',
            data: { count: warmPrefix.value ?? 0, ips: (warmPrefix.value ?? 0) * PREFIX_SIZE, now },
            evidence: envEvidence(warmPrefix.lookup),
            short: `${warmPrefix.value} spare prefixes held`,
          });
        }

        if (findings.length > 0) {
          findings.sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]);
          const [first, ...rest] = findings as [Finding, ...Finding[]];
          ctx.fail(
            first.id,
            {
              ...first.data,
              more: rest.length > 0 ? `; also: ${rest.map((finding) => finding.short).join('; ')}` : '',
            },
            {
              severity: first.severity,
              evidence: uniqueEvidence(findings.flatMap((finding) => finding.evidence)),
              facts,
              caveats,
              tables: [
                {
                  caption: 'Warm pool findings',
                  columns: ['Finding', 'Severity'],
                  rows: findings.map((finding) => [finding.short, finding.severity]),
                },
              ],
            },
          );
          return;
        }

        const settings = (pd === true ? [warmPrefix, warmIp, minimum] : [warmEni, warmIp, minimum])
          .map((t) => describeEnv(t.lookup))
          .join(', ');
        const warmIpCount = warmIp.value ?? 0;
        const minimumText = (minimum.value ?? 0) > 0 ? `, and at least ${minimum.value} in all` : '';
        const implies =
          (pd === undefined ? 'Without prefix delegation, ' : '') +
          (pd === true
            ? ipTargets
              ? `ipamd attaches /28 prefixes as needed to keep ${plural(warmIpCount, 'spare address')}${minimumText}`
              : `ipamd keeps ${plural(warmPrefix.value ?? 0, 'spare /28 prefix')} (${(warmPrefix.value ?? 0) * PREFIX_SIZE} addresses)`
            : ipTargets
              ? `ipamd keeps ${plural(warmIpCount, 'spare secondary IP')}${minimumText}`
              : `ipamd keeps ${plural(warmEni.value ?? 0, 'spare ENI')} with all ${warmEni.value === 1 ? 'its' : 'their'} secondary IPs attached`);
        ctx.pass(
          'effective',
          {
            settings: `${settings}, ${isKnown(pdLookup) ? describeEnv(pdLookup) : `prefix delegation ${pd === undefined ? 'unknown' : pd ? 'on' : 'off'}`}`,
            implies,
            now,
          },
          {
            evidence: uniqueEvidence([warmEni, warmIp, minimum, warmPrefix].flatMap((t) => envEvidence(t.lookup))),
            facts,
            caveats,
          },
        );
      },
    };
  },
});
