/**
 * rp-filter-strict: strict reverse-path filtering on the primary interface, where the VPC CNI needs loose mode.
 *
 * NodePort and LoadBalancer (instance target) traffic arrives on the primary ENI and is DNATed to a pod. For a pod on
 * a secondary ENI, the VPC CNI's source-based rule routes the pod's address out of that ENI, so a strict (1)
 * reverse-path check on the primary interface drops the packet; loose mode (2) passes it. That is why the VPC CNI sets
 * `net.ipv4.conf.<primary>/rp_filter = 2`: ipamd in SetupHostNetwork (pkg/networkutils/network.go, when
 * AWS_VPC_CNI_NODE_PORT_SUPPORT and AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER are true, the defaults) and, since the init
 * container took the job over, aws-vpc-cni-init (cmd/aws-vpc-cni-init). A hardening baseline or a sysctl file
 * applied after aws-node started puts it back to 1.
 *
 * The kernel applies max(conf.all.rp_filter, conf.<interface>.rp_filter). The primary interface is the one holding the
 * main table's default route in `ip route show table all` (lowest metric), else eth0 or ens5, whichever the sysctls
 * list (AL2 and Bottlerocket name it eth0, AL2023 and Ubuntu ens5).
 */

import { defineRule } from '../engine/rule.ts';
import type { Evidence, Fact } from '../report/model.ts';

const RP_FILTER_KEY = /^net\.ipv4\.conf\.(.+)\.rp_filter$/;
const DEFAULT_ROUTE = /^default\b.*\bdev (\S+)/;
const FALLBACK_PRIMARY = ['eth0', 'ens5'];

interface RpFilter {
  value: number;
  evidence: Evidence;
}

const MODE: Record<number, string> = { 0: 'off', 1: 'strict', 2: 'loose' };

function modeOf(value: number): string {
  return `${value} (${MODE[value] ?? 'unknown'})`;
}

export default defineRule({
  meta: {
    id: 'rp-filter-strict',
    title: 'Strict reverse-path filtering on the primary interface',
    severity: 'warning',
    description:
      'The VPC CNI sets loose reverse-path filtering (rp_filter = 2) on the primary interface: NodePort and LoadBalancer traffic to pods on secondary ENIs arrives on the primary ENI, but the route back to the pod leaves by its own ENI, so strict mode (1) drops it.',
    needs: [{ anyOf: ['sysctl-all', 'sysctl-rp-filter'] }],
    uses: ['ip-route'],
    filters: { 'sysctl-all': ['rp_filter'], 'sysctl-rp-filter': ['rp_filter'], 'ip-route': ['default'] },
    messages: {
      strict:
        'Reverse-path filtering on the primary interface {{interface}} is strict: effective {{effective}} = max(all {{all}}, {{interface}} {{own}}){{primaryFrom}}.',
      loose:
        'Reverse-path filtering on the primary interface {{interface}} is {{effective}} = max(all {{all}}, {{interface}} {{own}}){{primaryFrom}}.',
    },
    remediation: [
      'Set loose mode on the primary interface now: `sudo sysctl -w net.ipv4.conf.<primary interface>.rp_filter=2`, and make sure `net.ipv4.conf.all.rp_filter` is not 1 (the kernel uses the larger of the two).',
      'Find what sets strict mode, usually a hardening baseline or a sysctl file applied after aws-node starts: `sudo grep -rn rp_filter /etc/sysctl.conf /etc/sysctl.d/ /usr/lib/sysctl.d/ /run/sysctl.d/`; remove the setting for the primary interface and `all`, or set it to 2.',
      'Restart aws-node on the node so the VPC CNI applies its setting again: `kubectl -n kube-system delete pod <aws-node pod on the node>`; if AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER=false was set on purpose, whoever manages rp_filter must set 2 on the primary interface.',
    ],
    references: [
      {
        title:
          'amazon-vpc-cni-k8s: SetupHostNetwork sets rp_filter = 2 on the primary ENI (pkg/networkutils/network.go)',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/blob/master/pkg/networkutils/network.go',
      },
      {
        title: 'amazon-vpc-cni-k8s: aws-vpc-cni-init configures rp_filter in loose mode',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/blob/master/cmd/aws-vpc-cni-init/main.go',
      },
      {
        title: 'Linux kernel: ip-sysctl rp_filter (max of conf/all and conf/<interface>)',
        url: 'https://docs.kernel.org/networking/ip-sysctl.html',
      },
    ],
  },
  create(ctx) {
    const values = new Map<string, RpFilter>();
    let defaultRoute: { dev: string; metric: number; evidence: Evidence } | undefined;

    return {
      'sysctl-all'(event, file) {
        if (event.kind !== 'value') return;
        const name = RP_FILTER_KEY.exec(event.key)?.[1];
        if (name === undefined || values.has(name) || !/^\d+$/.test(event.value)) return;
        values.set(name, { value: Number(event.value), evidence: ctx.evidence(file, event) });
      },
      'sysctl-rp-filter'(event, file) {
        if (event.kind !== 'value') return;
        const name = RP_FILTER_KEY.exec(event.key)?.[1];
        if (name === undefined || values.has(name) || !/^\d+$/.test(event.value)) return;
        values.set(name, { value: Number(event.value), evidence: ctx.evidence(file, event) });
      },
      'ip-route'(event, file) {
        // Main-table routes print without `table`; the VPC CNI's per-ENI tables (`table 2`) and `local` do not count.
        if (/\btable\b/.test(event.text) && !/\btable main\b/.test(event.text)) return;
        const dev = DEFAULT_ROUTE.exec(event.text)?.[1];
        if (!dev) return;
        const metric = Number(/\bmetric (\d+)/.exec(event.text)?.[1] ?? 0);
        if (!defaultRoute || metric < defaultRoute.metric) {
          defaultRoute = { dev, metric, evidence: ctx.evidence(file, event) };
        }
      },
      done() {
        let primary: string | undefined;
        let primaryFrom = '';
        if (defaultRoute && values.has(defaultRoute.dev)) {
          primary = defaultRoute.dev;
          primaryFrom = ', the interface of the default route';
        } else {
          primary = FALLBACK_PRIMARY.find((name) => values.has(name));
          if (primary) {
            primaryFrom = defaultRoute
              ? `; the default route's ${defaultRoute.dev} has no rp_filter value, so ${primary} is taken as primary`
              : `; no default route in the bundle, so ${primary} is taken as primary`;
          }
        }
        const all = values.get('all');
        if (!primary) {
          const seen = [...values.keys()].filter((name) => name !== 'all' && name !== 'default');
          ctx.notEvaluated(
            values.size === 0
              ? 'the sysctls hold no net.ipv4.conf.*.rp_filter values'
              : `no rp_filter value for the primary interface (${defaultRoute ? `${defaultRoute.dev}, from the default route` : 'eth0 or ens5'}); interfaces seen: ${seen.join(', ') || 'none'}`,
          );
          return;
        }
        const own = values.get(primary) as RpFilter;
        const effective = Math.max(own.value, all?.value ?? 0);
        const facts: Fact[] = [
          {
            label: `rp_filter on ${primary}`,
            value: modeOf(own.value),
            path: own.evidence.path,
            line: own.evidence.line,
          },
          {
            label: 'rp_filter on all',
            value: all ? modeOf(all.value) : 'not in the bundle (taken as 0)',
            ...(all ? { path: all.evidence.path, line: all.evidence.line } : {}),
          },
          { label: `Effective on ${primary}`, value: modeOf(effective) },
        ];
        const evidence: Evidence[] = [own.evidence];
        if (all) evidence.push(all.evidence);
        if (defaultRoute) evidence.push(defaultRoute.evidence);
        const caveats = all
          ? []
          : ['net.ipv4.conf.all.rp_filter is not in the bundle; it could make the effective mode stricter.'];
        const data = {
          interface: primary,
          effective: modeOf(effective),
          all: all ? String(all.value) : '?',
          own: own.value,
          primaryFrom,
        };
        if (effective === 1) {
          const culprits = [own, all].filter((v): v is RpFilter => v?.value === 1);
          ctx.fail('strict', data, {
            evidence: evidence.map((e) => (culprits.some((c) => c.evidence === e) ? { ...e, highlight: true } : e)),
            facts,
            caveats,
          });
          return;
        }
        ctx.pass('loose', data, { evidence, facts, caveats });
      },
    };
  },
});
