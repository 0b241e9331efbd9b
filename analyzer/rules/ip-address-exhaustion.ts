/**
 * ip-address-exhaustion: pods on the node cannot get an IP address, or are about to run out.
 *
 * Evidence, from whichever the bundle has:
 * - ipamd.log: `DataStore has no available IP/Prefix addresses` (v1.9+; `... IP addresses` before,
 *   pkg/ipamd/datastore/data_store.go), and EC2's `InsufficientFreeAddressesInSubnet` / `InsufficientCidrBlocks` in
 *   `Failed to allocate a private IP/Prefix addresses on ENI ...` (pkg/awsutils/awsutils.go);
 * - plugin.log: `Failed to assign an IP address to container <id>` (cmd/routed-eni-cni-plugin/cni.go), and the
 *   kubelet journal's sandbox failures ending `add cmd: failed to assign an IP address to container`;
 * - metrics: `awscni_no_available_ip_addresses` (assignments that failed for lack of IPs since ipamd started),
 *   `awscni_total_ip_addresses` / `awscni_assigned_ip_addresses`;
 * - `/v1/enis`: assigned against total addresses, in any of its historical shapes.
 *
 * A full subnet (`InsufficientFreeAddressesInSubnet`) and a fragmented one under prefix delegation
 * (`InsufficientCidrBlocks`: no contiguous free /28, even when scattered addresses remain) need different fixes,
 * so they get different findings.
 */

import { defineRule, type FileRef, type FileSummary } from '../engine/rule.ts';
import type { IpamdLogEvent } from '../parsers/ipamd-log.ts';
import type { JournalEvent } from '../parsers/journal.ts';
import { parseStructured } from '../parsers/journal.ts';
import type { PromTextEvent } from '../parsers/prom-text.ts';
import type { Evidence, Fact, FindingTable } from '../report/model.ts';
import { describeEni, ENI_SHAPE_VERSIONS, type EniSnapshot, readEniDocument } from './shared/enis.ts';

const IPAMD_FILTERS = ['no available IP', 'InsufficientCidrBlocks', 'InsufficientFreeAddressesInSubnet'] as const;
const PLUGIN_FILTERS = ['an IP address to container'] as const;
const KUBELET_FILTERS = ['failed to assign an IP address to container'] as const;

const SUBNET_FULL = /InsufficientFreeAddressesInSubnet/;
const NO_CIDR_BLOCKS = /InsufficientCidrBlocks/;
const DATASTORE_EMPTY = /data ?store has no available IP/i;
const NO_AVAILABLE_IP = /no available IP(?:\/Prefix)? addresses/i;
const ASSIGN_FAILED = /failed to assign an IP address to container/i;
/** Debug lines that only echo an error logged on the line before. */
const ECHO = /^(?:Insufficient IP Addresses due to|containsInsufficientCIDRsOrSubnetIPs encountered)/;

const SAMPLES_PER_SIGNAL = 2;
const MAX_PODS_LISTED = 10;

type SignalName = 'subnetFull' | 'noCidrBlocks' | 'datastoreEmpty' | 'pluginFailed' | 'kubeletFailed';

interface Signal {
  count: number;
  first?: Evidence;
  last?: Evidence;
  samples: Evidence[];
}

interface Metric {
  value: number;
  evidence: Evidence;
}

const METRICS = [
  'awscni_no_available_ip_addresses',
  'awscni_total_ip_addresses',
  'awscni_assigned_ip_addresses',
  'awscni_ip_max',
  'awscni_eni_allocated',
  'awscni_eni_max',
  'awscni_total_ipv4_prefixes',
] as const;
type MetricName = (typeof METRICS)[number];

function newSignal(): Signal {
  return { count: 0, samples: [] };
}

function note(signal: Signal, evidence: Evidence): void {
  signal.count++;
  signal.first ??= evidence;
  signal.last = evidence;
  if (signal.samples.length < SAMPLES_PER_SIGNAL) signal.samples.push(evidence);
}

function times(count: number): string {
  return count === 1 ? 'once' : `${count} times`;
}

function when(evidence: Evidence | undefined): string {
  return evidence?.time ?? (evidence?.line !== undefined ? `line ${evidence.line}` : 'unknown time');
}

function span(signal: Signal): string {
  return signal.count === 1 ? `at ${when(signal.first)}` : `from ${when(signal.first)} to ${when(signal.last)}`;
}

function logWindow(files: FileSummary[]): string {
  const lines = files.reduce((sum, file) => sum + file.lines, 0);
  return `${lines.toLocaleString('en-US')} lines of ${files.map((file) => file.path).join(', ')}`;
}

export default defineRule({
  meta: {
    id: 'ip-address-exhaustion',
    title: 'Pod IP address exhaustion',
    severity: 'critical',
    description:
      'Every pod on the node needs an IP address from the VPC subnet. When ipamd has none left (the subnet is full, a fragmented subnet has no free /28 for prefix delegation, or the node cannot hold more), new pods stay in ContainerCreating with "failed to assign an IP address to container".',
    needs: [{ anyOf: ['ipamd-log', 'ipamd-metrics', 'ipamd-enis'] }],
    uses: ['plugin-log', 'kubelet-log'],
    filters: { 'ipamd-log': IPAMD_FILTERS, 'plugin-log': PLUGIN_FILTERS, 'kubelet-log': KUBELET_FILTERS },
    messages: {
      subnetFull:
        'The subnet has no free IP addresses left: EC2 answered InsufficientFreeAddressesInSubnet {{count}} {{span}}, so ipamd could not add IPs{{impact}}.',
      fragmented:
        'Prefix delegation could not get a /28 prefix: EC2 answered InsufficientCidrBlocks {{count}} {{span}}. The subnet has no contiguous free /28 block; it may still have free addresses, scattered (fragmentation){{impact}}.',
      exhausted: 'Pods could not get an IP address: {{signals}}{{pool}}.',
      poolFull:
        'No free IP address is left on the node: {{held}} ({{source}}), so the next pod waits for ipamd to add IPs{{limit}}.',
      available: 'ipamd has free IP addresses and no pod IP assignment failed: {{observed}}.',
    },
    remediation: [
      'List the pods stuck without an address: `kubectl get pods -A -o wide --field-selector spec.nodeName=<node> | grep ContainerCreating`; `kubectl describe pod <pod>` shows "failed to assign an IP address to container".',
      'Check the free addresses of the node\'s subnets: `aws ec2 describe-subnets --subnet-ids <subnet-id> --query "Subnets[].[SubnetId,CidrBlock,AvailableIpAddressCount]"`.',
      'If the subnet is full: add address space (a secondary VPC CIDR used through custom networking and ENIConfig, or larger subnets for new node groups) and stop idle IPs from piling up on nodes with `WARM_IP_TARGET`/`MINIMUM_IP_TARGET` instead of the default `WARM_ENI_TARGET=1`: `kubectl -n kube-system set env daemonset aws-node WARM_IP_TARGET=<n> MINIMUM_IP_TARGET=<m>`.',
      'Under prefix delegation with InsufficientCidrBlocks: reserve contiguous space for /28 prefixes, `aws ec2 create-subnet-cidr-reservation --subnet-id <subnet-id> --cidr <cidr> --reservation-type prefix`, or move prefix-mode node groups to fresh subnets.',
      'If the node itself is full (every ENI attached and every address assigned), keep maxPods within what the instance type can address (`max-pods-calculator.sh --instance-type <type> --cni-version <version>`) or use prefix delegation on Nitro instances.',
    ],
    references: [
      {
        title: 'EKS best practices: optimizing IP address utilization',
        url: 'https://docs.aws.amazon.com/eks/latest/best-practices/ip-opt.html',
      },
      {
        title: 'EKS best practices: prefix mode for Linux (subnet reservations against fragmentation)',
        url: 'https://docs.aws.amazon.com/eks/latest/best-practices/prefix-mode-linux.html',
      },
      {
        title: 'Amazon VPC: subnet CIDR reservations',
        url: 'https://docs.aws.amazon.com/vpc/latest/userguide/subnet-cidr-reservation.html',
      },
      {
        title: 'VPC CNI troubleshooting guide',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/troubleshooting.md',
      },
    ],
  },
  create(ctx) {
    const signals: Record<SignalName, Signal> = {
      subnetFull: newSignal(),
      noCidrBlocks: newSignal(),
      datastoreEmpty: newSignal(),
      pluginFailed: newSignal(),
      kubeletFailed: newSignal(),
    };
    /** "no available IP" lines that are not the DataStore's own (rpc_handler echoes), used when it wrote none. */
    const otherNoIp = newSignal();
    const stuckPods = new Set<string>();
    const metrics = new Map<MetricName, Metric>();
    let awscniSamples = 0;
    let fetchError: Evidence | undefined;
    let snapshot: { snapshot: EniSnapshot; path: string } | undefined;
    const eniProblems: string[] = [];

    const onIpamdLog = (event: IpamdLogEvent, file: FileRef) => {
      if (event.kind !== 'entry' || ECHO.test(event.msg)) return;
      const text = Object.keys(event.fields).length === 0 ? event.msg : `${event.msg} ${JSON.stringify(event.fields)}`;
      const evidence = () => ctx.evidence(file, event, { time: event.ts, highlight: true });
      if (SUBNET_FULL.test(text)) note(signals.subnetFull, evidence());
      else if (NO_CIDR_BLOCKS.test(text)) note(signals.noCidrBlocks, evidence());
      else if (DATASTORE_EMPTY.test(text)) note(signals.datastoreEmpty, evidence());
      else if (NO_AVAILABLE_IP.test(text)) note(otherNoIp, evidence());
    };

    return {
      'ipamd-log': onIpamdLog,
      'plugin-log'(event, file) {
        if (event.kind !== 'entry' || !ASSIGN_FAILED.test(event.msg)) return;
        note(signals.pluginFailed, ctx.evidence(file, event, { time: event.ts, highlight: true }));
      },
      'kubelet-log'(event: JournalEvent, file) {
        if (event.kind !== 'entry' || !ASSIGN_FAILED.test(event.text)) return;
        note(signals.kubeletFailed, ctx.evidence(file, event, { time: event.timestamp, highlight: true }));
        const pod = parseStructured(event.text).kv.pod;
        if (pod && stuckPods.size < MAX_PODS_LISTED) stuckPods.add(pod);
      },
      'ipamd-metrics'(event: PromTextEvent, file) {
        if (event.kind === 'fetch-error') {
          fetchError ??= ctx.evidence(file, event);
          return;
        }
        if (event.kind !== 'sample' || !event.name.startsWith('awscni_')) return;
        awscniSamples++;
        if ((METRICS as readonly string[]).includes(event.name)) {
          metrics.set(event.name as MetricName, { value: event.value, evidence: ctx.evidence(file, event) });
        }
      },
      'ipamd-enis'(event, file) {
        if (event.kind !== 'document') return;
        const document = readEniDocument(event.value);
        if (document.kind === 'enis') snapshot = { snapshot: document.snapshot, path: file.path };
        else if (document.kind === 'available-commands')
          eniProblems.push(`${file.path} holds ipamd's AvailableCommands answer, not ENI data`);
        else eniProblems.push(`${file.path}: ${document.reason}`);
      },
      done() {
        const ipamdLog = ctx.bundle.item('ipamd-log');
        const logLines = ipamdLog.files.reduce((sum, file) => sum + file.lines, 0);
        const metricsUsable = awscniSamples > 0;
        const facts: Fact[] = [];
        const evidence: Evidence[] = [];
        const caveats: string[] = [];
        const tablesOut: FindingTable[] = [];

        const metric = (name: MetricName) => metrics.get(name);
        const noAvailable = metric('awscni_no_available_ip_addresses');
        const total = metric('awscni_total_ip_addresses');
        const assigned = metric('awscni_assigned_ip_addresses');

        // The current pool: /v1/enis first (per ENI), the gauges otherwise.
        let pool: { total: number; assigned: number; source: string; evidence: Evidence[] } | undefined;
        if (snapshot && snapshot.snapshot.enis.length > 0) {
          const s = snapshot.snapshot;
          pool = {
            total: s.totalIps,
            assigned: s.assignedIps,
            source: `${snapshot.path}, ${ENI_SHAPE_VERSIONS[s.shape]}`,
            evidence: [
              {
                path: snapshot.path,
                text: `${s.enis.length} ENIs, ${s.assignedIps} of ${s.totalIps} IPv4 addresses assigned${s.prefixDelegation ? ' (prefix delegation)' : ''}`,
              },
            ],
          };
        } else if (total && assigned) {
          pool = {
            total: total.value,
            assigned: assigned.value,
            source: 'awscni_total_ip_addresses / awscni_assigned_ip_addresses',
            evidence: [total.evidence, assigned.evidence],
          };
        }
        const poolFull = pool !== undefined && pool.assigned >= pool.total;
        const prefixDelegation =
          (snapshot?.snapshot.prefixDelegation ?? false) || (metric('awscni_total_ipv4_prefixes')?.value ?? 0) > 0;

        if (pool) {
          facts.push({
            label: 'IPv4 addresses assigned / held by ipamd',
            value: `${pool.assigned} / ${pool.total}`,
            path: pool.evidence[0]?.path,
          });
        }
        const eniMax = metric('awscni_eni_max');
        const eniAllocated = metric('awscni_eni_allocated');
        const atEniLimit = eniMax !== undefined && eniAllocated !== undefined && eniAllocated.value >= eniMax.value;
        if (eniMax && eniAllocated) {
          facts.push({ label: 'ENIs attached / maximum', value: `${eniAllocated.value} / ${eniMax.value}` });
        }
        const ipMax = metric('awscni_ip_max');
        if (ipMax) facts.push({ label: 'Maximum IPs for the instance (awscni_ip_max)', value: String(ipMax.value) });
        if (prefixDelegation) facts.push({ label: 'Prefix delegation', value: 'in use (/28 prefixes attached)' });
        if (snapshot) {
          const table: FindingTable = {
            caption: `ENIs in ${snapshot.path}`,
            columns: ['ENI', 'Network card', 'Device', 'Subnet', 'Assigned / total', 'Prefixes'],
            rows: snapshot.snapshot.enis.map((eni) => [
              eni.id,
              String(eni.networkCard),
              eni.deviceNumber === undefined ? '' : String(eni.deviceNumber),
              eni.subnetId ?? '',
              `${eni.assignedIps} / ${eni.totalIps}`,
              eni.prefixes.join(' '),
            ]),
          };
          if (table.rows.length > 0) tablesOut.push(table);
        }

        const datastore = signals.datastoreEmpty.count > 0 ? signals.datastoreEmpty : otherNoIp;
        const podFailures: string[] = [];
        if (datastore.count > 0) {
          podFailures.push(
            `ipamd logged "no available IP/Prefix addresses" ${times(datastore.count)} ${span(datastore)}`,
          );
        }
        if (signals.pluginFailed.count > 0) {
          podFailures.push(
            `the CNI plugin failed to assign an IP address to ${signals.pluginFailed.count} containers ${span(signals.pluginFailed)}`,
          );
        }
        if (signals.kubeletFailed.count > 0) {
          podFailures.push(
            `kubelet reported ${signals.kubeletFailed.count} sandbox failures for lack of an IP${stuckPods.size > 0 ? ` (pods ${[...stuckPods].join(', ')})` : ''}`,
          );
        }
        if (noAvailable && noAvailable.value > 0) {
          podFailures.push(
            `awscni_no_available_ip_addresses counts ${noAvailable.value} failed assignments since ipamd started`,
          );
        }
        for (const signal of [datastore, signals.pluginFailed, signals.kubeletFailed]) {
          evidence.push(...signal.samples);
          if (signal.count > signal.samples.length && signal.last) {
            evidence.push({ ...signal.last, note: `last of ${signal.count}` });
          }
        }
        if (noAvailable && noAvailable.value > 0) evidence.push({ ...noAvailable.evidence, highlight: true });

        const impact = (): string =>
          podFailures.length > 0
            ? `; ${podFailures.join('; ')}`
            : poolFull
              ? '; every address the node holds is assigned, so the next pod will fail'
              : pool
                ? `; no pod has failed yet (${pool.total - pool.assigned} addresses still free on the node)`
                : '';
        // A failure in the past, with free addresses now, is a warning; failing now (or unknown now) is critical.
        const severityNow = podFailures.length > 0 && (poolFull || !pool) ? 'critical' : 'warning';

        if (signals.subnetFull.count > 0 || signals.noCidrBlocks.count > 0) {
          const fragmentedOnly = signals.subnetFull.count === 0;
          const signal = fragmentedOnly ? signals.noCidrBlocks : signals.subnetFull;
          const subnetEvidence = [...signal.samples];
          if (signal.count > signal.samples.length && signal.last) {
            subnetEvidence.push({ ...signal.last, note: `last of ${signal.count}` });
          }
          if (!fragmentedOnly && signals.noCidrBlocks.count > 0) {
            subnetEvidence.push({
              ...(signals.noCidrBlocks.first as Evidence),
              note: `InsufficientCidrBlocks too, ${times(signals.noCidrBlocks.count)}`,
            });
          }
          if (fragmentedOnly && !prefixDelegation) {
            caveats.push(
              'InsufficientCidrBlocks is returned for prefix (/28) requests, so prefix delegation was in use when it was logged.',
            );
          }
          facts.push({
            label: fragmentedOnly ? 'InsufficientCidrBlocks answers' : 'InsufficientFreeAddressesInSubnet answers',
            value: String(signal.count),
          });
          ctx.fail(
            fragmentedOnly ? 'fragmented' : 'subnetFull',
            { count: times(signal.count), span: span(signal), impact: impact() },
            {
              severity: podFailures.length > 0 || poolFull ? 'critical' : 'warning',
              evidence: [...subnetEvidence, ...evidence, ...(pool?.evidence ?? [])],
              facts,
              tables: tablesOut,
              caveats,
              remediation: fragmentedOnly
                ? [
                    'The subnet is fragmented for prefix delegation: create a prefix reservation in it (`aws ec2 create-subnet-cidr-reservation --subnet-id <subnet-id> --cidr <free-cidr> --reservation-type prefix`) or launch prefix-mode nodes in a new subnet.',
                  ]
                : [
                    'The subnet is out of addresses: give pods more room (secondary CIDR with custom networking, or new node groups in larger subnets) and lower the warm pool so idle nodes release addresses.',
                  ],
            },
          );
          return;
        }

        if (podFailures.length > 0) {
          ctx.fail(
            'exhausted',
            {
              signals: podFailures.join('; '),
              pool: pool
                ? `; now ${pool.assigned} of ${pool.total} addresses are assigned${atEniLimit ? ' and every ENI the instance allows is attached' : ''}`
                : '',
            },
            {
              severity: severityNow,
              evidence: [...evidence, ...(pool?.evidence ?? [])],
              facts,
              tables: tablesOut,
              caveats,
            },
          );
          return;
        }

        if (pool && poolFull) {
          ctx.fail(
            'poolFull',
            {
              held:
                pool.total > 0
                  ? `all ${pool.total} addresses ipamd holds are assigned to pods`
                  : 'ipamd holds no address for pods at all',
              source: pool.source,
              limit: atEniLimit ? '; every ENI the instance allows is attached, so it cannot add more' : '',
            },
            {
              severity: atEniLimit ? 'critical' : 'warning',
              evidence: pool.evidence,
              facts,
              tables: tablesOut,
              caveats,
            },
          );
          return;
        }

        // Nothing failed: pass only on what was actually looked at.
        const observed: string[] = [];
        const passEvidence: Evidence[] = [];
        if (pool) {
          observed.push(`${pool.total - pool.assigned} of ${pool.total} addresses free (${pool.source})`);
          passEvidence.push(...pool.evidence);
        }
        if (noAvailable) {
          observed.push('awscni_no_available_ip_addresses is 0');
          passEvidence.push(noAvailable.evidence);
        }
        if (logLines > 0) {
          observed.push(`no exhaustion message in ${logWindow(ipamdLog.files)}`);
          for (const file of ipamdLog.files) {
            if (file.lastLine)
              passEvidence.push({ path: file.path, line: file.lines, text: file.lastLine, note: 'last line' });
          }
        }
        if (observed.length === 0) {
          const why: string[] = [];
          if (ipamdLog.present) why.push(`${ipamdLog.paths.join(', ')} is empty`);
          if (ctx.bundle.item('ipamd-metrics').present) {
            why.push(
              fetchError
                ? `the metrics file holds a curl error (${fetchError.text})`
                : metricsUsable
                  ? 'the metrics hold no awscni IP address series'
                  : 'the metrics file holds no awscni metrics',
            );
          }
          if (ctx.bundle.item('ipamd-enis').present) {
            why.push(
              eniProblems[0] ?? `${ctx.bundle.item('ipamd-enis').paths.join(', ')} is empty (ipamd did not answer)`,
            );
          }
          ctx.notEvaluated(`nothing to judge IP exhaustion on: ${why.join('; ')}`);
          return;
        }
        if (snapshot?.snapshot.scrubbed) {
          caveats.push(
            'This ipamd blanks container ids in /v1/enis (v1.23+); assignments were read from the network name, pod metadata and assignment times.',
          );
        }
        if (!pool) caveats.push('The current pool (free against assigned addresses) is not in the bundle.');
        if (snapshot) {
          for (const eni of snapshot.snapshot.enis.slice(0, 4))
            passEvidence.push({ path: snapshot.path, text: describeEni(eni) });
        }
        ctx.pass(
          'available',
          { observed: observed.join('; ') },
          { evidence: passEvidence, facts, tables: tablesOut, caveats },
        );
      },
    };
  },
});
