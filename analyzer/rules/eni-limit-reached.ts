/**
 * eni-limit-reached: the node has attached every ENI it may use, so ipamd cannot add addresses by adding ENIs.
 *
 * Evidence:
 * - metrics: `awscni_eni_allocated` equal to `awscni_eni_max` (the instance type's limit minus unmanaged ENIs,
 *   utils/prometheusmetrics/prometheusmetrics.go), with `awscni_ip_max` and the IP gauges for context;
 * - ipamd.log: `Skipping ENI allocation as the max ENI limit is already reached` (debug; older builds: `... the
 *   instance's max ENI limit of %d is already reached`, pkg/ipamd/ipamd.go) when the pool is low and no ENI can be
 *   added, and EC2's `AttachmentLimitExceeded` in `Failed to attach ENI <id>: ...` (pkg/awsutils/awsutils.go
 *   attachENI): ipamd counted a free slot that EC2 did not have (ENIs attached by something else).
 *
 * At the limit with free addresses is a ceiling worth knowing; at the limit while ipamd needs addresses, or with pods
 * failing for lack of one, is the cause of IP exhaustion on the node.
 */

import { defineRule, type FileRef } from '../engine/rule.ts';
import type { IpamdLogEvent } from '../parsers/ipamd-log.ts';
import type { PromTextEvent } from '../parsers/prom-text.ts';
import type { Evidence, Fact, FindingTable, Severity } from '../report/model.ts';
import { describeEni, type EniSnapshot, readEniDocument } from './shared/enis.ts';

const IPAMD_FILTERS = ['AttachmentLimitExceeded', 'ENI limit'] as const;
const ATTACHMENT_LIMIT = /AttachmentLimitExceeded/;
const SKIPPING_AT_LIMIT = /Skipping ENI allocation as the (?:instance's )?max ENI limit/;
const SAMPLES = 2;

const METRICS = [
  'awscni_eni_allocated',
  'awscni_eni_max',
  'awscni_ip_max',
  'awscni_total_ip_addresses',
  'awscni_assigned_ip_addresses',
  'awscni_no_available_ip_addresses',
] as const;
type MetricName = (typeof METRICS)[number];

interface Metric {
  /** Summed over label sets (a series per network card on multi-card instances). */
  value: number;
  evidence: Evidence[];
}

interface Signal {
  count: number;
  samples: Evidence[];
  last?: Evidence;
}

function times(count: number): string {
  return count === 1 ? 'once' : `${count} times`;
}

function span(signal: Signal): string {
  const first = signal.samples[0];
  const at = (e: Evidence | undefined) => e?.time ?? `line ${e?.line ?? '?'}`;
  return signal.count === 1 ? `at ${at(first)}` : `from ${at(first)} to ${at(signal.last)}`;
}

function withLast(signal: Signal): Evidence[] {
  const evidence = [...signal.samples];
  if (signal.count > signal.samples.length && signal.last)
    evidence.push({ ...signal.last, note: `last of ${signal.count}` });
  return evidence;
}

export default defineRule({
  meta: {
    id: 'eni-limit-reached',
    title: 'ENI limit of the instance reached',
    severity: 'warning',
    description:
      'Each instance type can attach a fixed number of ENIs, and each ENI holds a fixed number of addresses or /28 prefixes. Once every ENI is attached, ipamd cannot grow the pod address pool; when pods still need addresses they stay in ContainerCreating.',
    needs: [{ anyOf: ['ipamd-metrics', 'ipamd-log'] }],
    uses: ['ipamd-enis'],
    filters: { 'ipamd-log': IPAMD_FILTERS },
    messages: {
      attachmentLimit:
        'EC2 refused to attach another ENI: AttachmentLimitExceeded {{count}} {{span}}. ipamd counted a free slot the instance did not have, usually because something else attached ENIs{{state}}.',
      skipping:
        'ipamd needed more addresses but could not add an ENI: it logged "Skipping ENI allocation as the max ENI limit is already reached" {{count}} {{span}}{{state}}.',
      atLimit: 'Every ENI ipamd may use is attached ({{allocated}} of {{max}}){{state}}.',
      belowLimit: '{{allocated}} of {{max}} ENIs are attached{{state}}.',
      noLimitMessages: 'ipamd logged no ENI-limit refusal or AttachmentLimitExceeded in {{lines}} lines of {{source}}.',
    },
    remediation: [
      'Compare attached ENIs with the instance type\'s limit: `aws ec2 describe-instance-types --instance-types <type> --query "InstanceTypes[].NetworkInfo.[MaximumNetworkInterfaces,Ipv4AddressesPerInterface]"` and `aws ec2 describe-network-interfaces --filters Name=attachment.instance-id,Values=<instance-id> --query "NetworkInterfaces[].[NetworkInterfaceId,Description,Attachment.DeviceIndex]"`.',
      'ENIs not created by the VPC CNI (description not starting with `aws-K8S-`) take slots: tag them `node.k8s.amazonaws.com/no_manage=true` so ipamd counts them as unmanaged, or stop the tool that attaches them.',
      'Keep maxPods within what the instance can address (`max-pods-calculator.sh --instance-type <type> --cni-version <version>`), move pods to larger instance types, or enable prefix delegation on Nitro instances (each slot then holds a /28): `kubectl -n kube-system set env daemonset aws-node ENABLE_PREFIX_DELEGATION=true` on new nodes.',
    ],
    references: [
      {
        title: 'Amazon EC2: maximum IP addresses per network interface',
        url: 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/AvailableIpPerENI.html',
      },
      {
        title: 'EKS best practices: VPC CNI (IP address management, WARM_ENI_TARGET)',
        url: 'https://docs.aws.amazon.com/eks/latest/best-practices/vpc-cni.html',
      },
      {
        title: 'EKS: assign more IP addresses with prefixes',
        url: 'https://docs.aws.amazon.com/eks/latest/userguide/cni-increase-ip-addresses.html',
      },
    ],
  },
  create(ctx) {
    const metrics = new Map<MetricName, Metric>();
    let awscniSamples = 0;
    let fetchError: string | undefined;
    const attachment: Signal = { count: 0, samples: [] };
    const skipping: Signal = { count: 0, samples: [] };
    let snapshot: { snapshot: EniSnapshot; path: string } | undefined;

    const note = (signal: Signal, evidence: Evidence) => {
      signal.count++;
      signal.last = evidence;
      if (signal.samples.length < SAMPLES) signal.samples.push(evidence);
    };

    return {
      'ipamd-log'(event: IpamdLogEvent, file: FileRef) {
        if (event.kind !== 'entry') return;
        const evidence = () => ctx.evidence(file, event, { time: event.ts, highlight: true });
        if (ATTACHMENT_LIMIT.test(event.msg)) note(attachment, evidence());
        else if (SKIPPING_AT_LIMIT.test(event.msg)) note(skipping, evidence());
      },
      'ipamd-metrics'(event: PromTextEvent, file) {
        if (event.kind === 'fetch-error') fetchError ??= event.message;
        if (event.kind !== 'sample' || !event.name.startsWith('awscni_')) return;
        awscniSamples++;
        if (!(METRICS as readonly string[]).includes(event.name) || Number.isNaN(event.value)) return;
        const metric = metrics.get(event.name as MetricName) ?? { value: 0, evidence: [] };
        metric.value += event.value;
        metric.evidence.push(ctx.evidence(file, event));
        metrics.set(event.name as MetricName, metric);
      },
      'ipamd-enis'(event, file) {
        if (event.kind !== 'document') return;
        const document = readEniDocument(event.value);
        if (document.kind === 'enis') snapshot = { snapshot: document.snapshot, path: file.path };
      },
      done() {
        const allocated = metrics.get('awscni_eni_allocated');
        const max = metrics.get('awscni_eni_max');
        const ipMax = metrics.get('awscni_ip_max');
        const total = metrics.get('awscni_total_ip_addresses');
        const assigned = metrics.get('awscni_assigned_ip_addresses');
        const noAvailable = metrics.get('awscni_no_available_ip_addresses');
        const atLimit = allocated !== undefined && max !== undefined && max.value > 0 && allocated.value >= max.value;

        const facts: Fact[] = [];
        const tables: FindingTable[] = [];
        const contextEvidence: Evidence[] = [];
        if (allocated && max) {
          facts.push({
            label: 'ENIs attached / maximum (awscni_eni_allocated / awscni_eni_max)',
            value: `${allocated.value} / ${max.value}`,
          });
          contextEvidence.push(...allocated.evidence, ...max.evidence);
        }
        if (ipMax) facts.push({ label: 'Maximum IPs for the instance (awscni_ip_max)', value: String(ipMax.value) });
        const pool =
          snapshot && snapshot.snapshot.enis.length > 0
            ? { total: snapshot.snapshot.totalIps, assigned: snapshot.snapshot.assignedIps }
            : total && assigned
              ? { total: total.value, assigned: assigned.value }
              : undefined;
        if (pool) facts.push({ label: 'IPv4 addresses assigned / held', value: `${pool.assigned} / ${pool.total}` });
        if (snapshot) {
          const byCard = new Map<number, number>();
          for (const eni of snapshot.snapshot.enis) byCard.set(eni.networkCard, (byCard.get(eni.networkCard) ?? 0) + 1);
          facts.push({
            label: `ENIs in ${snapshot.path}`,
            value: [...byCard].map(([card, count]) => `${count} on network card ${card}`).join(', '),
            path: snapshot.path,
          });
          tables.push({
            caption: `ENIs in ${snapshot.path}`,
            columns: ['ENI', 'Network card', 'Device', 'Addresses'],
            rows: snapshot.snapshot.enis.map((eni) => [
              eni.id,
              String(eni.networkCard),
              eni.deviceNumber === undefined ? '' : String(eni.deviceNumber),
              describeEni(eni).replace(`${eni.id}: `, ''),
            ]),
          });
        }

        const podsFailing = (noAvailable?.value ?? 0) > 0;
        const poolFull = pool !== undefined && pool.assigned >= pool.total;
        const state = [
          pool ? `; ${pool.assigned} of ${pool.total} addresses are assigned` : '',
          podsFailing
            ? `; awscni_no_available_ip_addresses counts ${noAvailable?.value} pod IP assignments that failed`
            : '',
          ipMax && atLimit ? `; the node cannot hold more than ${ipMax.value} addresses` : '',
        ].join('');
        if (podsFailing && noAvailable) contextEvidence.push(...noAvailable.evidence);

        const pressure = podsFailing || poolFull;
        if (attachment.count > 0 || skipping.count > 0 || atLimit) {
          const severity: Severity =
            // At the limit while pods need addresses: the node cannot give them any.
            pressure ? 'critical' : attachment.count > 0 || skipping.count > 0 ? 'warning' : 'info';
          const outcome = { severity, facts, tables, evidence: contextEvidence };
          if (attachment.count > 0) {
            ctx.fail(
              'attachmentLimit',
              { count: times(attachment.count), span: span(attachment), state },
              { ...outcome, evidence: [...withLast(attachment), ...withLast(skipping), ...contextEvidence] },
            );
          } else if (skipping.count > 0) {
            ctx.fail(
              'skipping',
              { count: times(skipping.count), span: span(skipping), state },
              { ...outcome, evidence: [...withLast(skipping), ...contextEvidence] },
            );
          } else {
            ctx.fail(
              'atLimit',
              { allocated: allocated?.value ?? 0, max: max?.value ?? 0, state },
              { ...outcome, evidence: contextEvidence.map((e) => ({ ...e, highlight: true })) },
            );
          }
          return;
        }

        if (allocated && max && max.value > 0) {
          ctx.pass(
            'belowLimit',
            { allocated: allocated.value, max: max.value, state },
            { evidence: contextEvidence, facts, tables },
          );
          return;
        }
        const log = ctx.bundle.item('ipamd-log');
        const lines = log.files.reduce((sum, file) => sum + file.lines, 0);
        if (lines > 0) {
          const evidence: Evidence[] = log.files.flatMap((file) =>
            file.lastLine ? [{ path: file.path, line: file.lines, text: file.lastLine, note: 'last line' }] : [],
          );
          ctx.pass(
            'noLimitMessages',
            { lines: lines.toLocaleString('en-US'), source: log.paths.join(', ') },
            {
              evidence,
              facts,
              tables,
              caveats: [
                'Without awscni_eni_allocated and awscni_eni_max the ENI count against the limit is unknown; ipamd logs "Skipping ENI allocation" only at debug level (the default).',
              ],
            },
          );
          return;
        }
        const why: string[] = [];
        if (log.present) why.push(`${log.paths.join(', ')} is empty`);
        if (ctx.bundle.item('ipamd-metrics').present) {
          why.push(
            fetchError
              ? `the metrics file holds a curl error (${fetchError})`
              : awscniSamples > 0
                ? 'the metrics have no awscni_eni_allocated/awscni_eni_max'
                : 'the metrics file holds no awscni metrics',
          );
        }
        ctx.notEvaluated(`nothing to compare with the ENI limit: ${why.join('; ')}`);
      },
    };
  },
});
