/**
 * VPC CNI and network policy agent versions with known defects, each with the public record it comes from.
 * Read by the known-bad-versions rule, which matches them against the versions found in the bundle.
 *
 * Ranges follow OSV (see versions.ts): `introduced` inclusive, `fixed` exclusive, `lastAffected` inclusive. Add an
 * entry only with a reference that names the affected and the fixed versions; say in `summary` what breaks on the
 * node and in `remedy` what to upgrade to.
 */
import type { Reference, Severity } from '../../report/model.ts';
import type { VersionRange } from './versions.ts';

/** When the table was last reviewed against the upstream release notes and issues. */
export const KNOWN_BAD_VERSIONS_REVIEWED = '2026-09';

export type Component = 'vpc-cni' | 'network-policy-agent';

/** What must hold on the node for the defect to bite; the rule reads it from the aws-node settings and logs. */
export type DefectCondition = 'network-policy-enabled' | 'strict-mode';

export interface KnownBadVersion {
  id: string;
  component: Component;
  affected: VersionRange;
  /**
   * The same defect seen through the other component's version, used only when this component's version is not in
   * the bundle (the VPC CNI release that bundled the affected agent).
   */
  bundledWith?: { component: Component; affected: VersionRange };
  /** The other component must also be in this range (a pairing defect). */
  requires?: { component: Component; affected: VersionRange };
  condition?: DefectCondition;
  severity: Severity;
  title: string;
  /** What goes wrong on the node. */
  summary: string;
  /** What to run instead, in words. */
  remedy: string;
  /** A log line that shows the defect at work, counted when the bundle has the log. */
  symptom?: { item: 'ipamd-log'; text: string };
  references: Reference[];
}

const EKS_NP_TROUBLESHOOTING: Reference = {
  title: 'Amazon EKS: troubleshooting Kubernetes network policies, known issues and solutions',
  url: 'https://docs.aws.amazon.com/eks/latest/userguide/network-policies-troubleshooting.html',
};
const OPERATIONS_GUIDE: Reference = {
  title: 'VPC CNI operations guide: network policy implementation and troubleshooting',
  url: 'https://docs.aws.amazon.com/eks/latest/best-practices/vpc-cni.html',
};

export const KNOWN_BAD_VERSIONS: readonly KnownBadVersion[] = [
  {
    id: 'vpc-cni-1.10.2-ip-leak',
    component: 'vpc-cni',
    affected: { introduced: '1.10.2', fixed: '1.10.3' },
    severity: 'warning',
    title: 'Pod IP addresses leak (empty network namespace)',
    summary:
      'VPC CNI v1.10.2 can leak pod IP addresses in certain scenarios where the pod network namespace is empty: the addresses stay assigned in ipamd, and the node runs short of pod IPs over time.',
    remedy: 'Upgrade the VPC CNI to v1.10.3 or later.',
    references: [
      {
        title: 'amazon-vpc-cni-k8s v1.10.2 release notes: known issue that might leak IP addresses (#1939)',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/releases/tag/v1.10.2',
      },
      {
        title: 'amazon-vpc-cni-k8s v1.10.3 release notes: fixed the IP leak caused by an empty NetNS (#1941)',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/releases/tag/v1.10.3',
      },
    ],
  },
  {
    id: 'vpc-cni-1.16.3-eni-limit-busy-loop',
    component: 'vpc-cni',
    affected: { introduced: '1.16.3', fixed: '1.16.4' },
    severity: 'warning',
    title: 'ipamd busy loop at the ENI limit (high CPU)',
    summary:
      'Once the node has attached its maximum number of ENIs, ipamd v1.16.3 retries the pool increase without pause, logging "Skipping ENI allocation as the max ENI limit is already reached" continuously: aws-node uses a full CPU (worst on medium instances), which starves its probes, and ipamd.log floods.',
    remedy: 'Upgrade the VPC CNI to v1.16.4 or later (it reverts the change, #2744, that caused the livelock).',
    symptom: { item: 'ipamd-log', text: 'max ENI limit is already reached' },
    references: [
      {
        title: 'aws/amazon-vpc-cni-k8s#2807: v1.16.3 high CPU usage on medium instance size',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/issues/2807',
      },
      {
        title: 'amazon-vpc-cni-k8s v1.16.4 release notes: revert #2744 to prevent livelock when increasing the pool',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/releases/tag/v1.16.4',
      },
    ],
  },
  {
    id: 'vpc-cni-1.19.3-eksbuild.1-np-map-cleanup',
    component: 'vpc-cni',
    affected: { introduced: '1.19.3-eksbuild.1', lastAffected: '1.19.3-eksbuild.1' },
    condition: 'network-policy-enabled',
    severity: 'warning',
    title: 'Network policy state not cleaned up (1.19.3-eksbuild.1)',
    summary:
      'With network policy enabled, VPC CNI 1.19.3-eksbuild.1 does not clean up network policy state (the agent’s eBPF maps and PolicyEndpoints) after pods are deleted: stale entries accumulate and can keep enforcing rules for pods that are gone.',
    remedy: 'Move the vpc-cni add-on to a later build or release (any version after 1.19.3-eksbuild.1).',
    references: [EKS_NP_TROUBLESHOOTING, OPERATIONS_GUIDE],
  },
  {
    id: 'network-policy-agent-strict-mode-default-allow',
    component: 'network-policy-agent',
    affected: { fixed: '1.2.0' },
    bundledWith: { component: 'vpc-cni', affected: { introduced: '1.17.1', fixed: '1.19.3' } },
    condition: 'strict-mode',
    severity: 'warning',
    title: 'Strict mode falls to default-allow after policy deletion',
    summary:
      'In strict mode pods start default-deny and are allowed only what their policies allow; with network policy agent versions before v1.2.0, deleting the policies that selected a pod leaves it default-allow instead of returning it to default-deny.',
    remedy:
      'Upgrade to VPC CNI v1.19.3 or later (network policy agent v1.2.0 or later); until then, replace policies rather than deleting them on strict-mode clusters.',
    references: [EKS_NP_TROUBLESHOOTING, OPERATIONS_GUIDE],
  },
  {
    id: 'vpc-cni-1.23-needs-network-policy-agent-1.4.1',
    component: 'vpc-cni',
    affected: { introduced: '1.23.0' },
    requires: { component: 'network-policy-agent', affected: { fixed: '1.4.1' } },
    condition: 'network-policy-enabled',
    severity: 'critical',
    title: 'VPC CNI v1.23+ paired with a network policy agent older than v1.4.1',
    summary:
      'VPC CNI v1.23.0 moved ipamd’s gRPC service from TCP to the Unix socket /var/run/aws-node/ipamd.sock; network policy agents before v1.4.1 cannot reach it, so the agent cannot start and network policy (and, with NETWORK_POLICY_ENFORCING_MODE set, pod creation) stops working.',
    remedy:
      'Upgrade the network policy agent to v1.4.1 or later together with the VPC CNI, or roll both back to VPC CNI v1.22.4.',
    references: [
      {
        title: 'amazon-vpc-cni-k8s v1.23.0 release notes: must be paired with Network Policy Agent v1.4.1',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/releases/tag/v1.23.0',
      },
    ],
  },
];
