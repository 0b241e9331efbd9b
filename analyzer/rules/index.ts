/**
 * The rule catalog: one import and one entry per rule, alphabetical. Adding a rule means a rule file, its test,
 * and a line in each list here.
 */
import type { Rule } from '../engine/rule.ts';
import addonManagement from './addon-management.ts';
import annotatePodIpPermissions from './annotate-pod-ip-permissions.ts';
import awsNodePrivileges from './aws-node-privileges.ts';
import awsNodeResources from './aws-node-resources.ts';
import cniNotReady from './cni-not-ready.ts';
import cniUsesNodeIamRole from './cni-uses-node-iam-role.ts';
import cniVersionSkew from './cni-version-skew.ts';
import conntrackTableFull from './conntrack-table-full.ts';
import cpuStarvation from './cpu-starvation.ts';
import ec2ApiErrors from './ec2-api-errors.ts';
import eniLimitReached from './eni-limit-reached.ts';
import evidenceCoverage from './evidence-coverage.ts';
import forwardPolicyDrop from './forward-policy-drop.ts';
import invalidVethPrefix from './invalid-veth-prefix.ts';
import ipAddressExhaustion from './ip-address-exhaustion.ts';
import ipForwardingDisabled from './ip-forwarding-disabled.ts';
import ipamdApiServerUnreachable from './ipamd-api-server-unreachable.ts';
import iptablesBackendMismatch from './iptables-backend-mismatch.ts';
import ipv6WithoutPrefixDelegation from './ipv6-without-prefix-delegation.ts';
import knownBadVersions from './known-bad-versions.ts';
import kubeletProbeFailures from './kubelet-probe-failures.ts';
import networkPolicyAgentErrors from './network-policy-agent-errors.ts';
import oomKills from './oom-kills.ts';
import rpFilterStrict from './rp-filter-strict.ts';
import warmPoolSettings from './warm-pool-settings.ts';

export const rules: readonly Rule[] = [
  addonManagement,
  annotatePodIpPermissions,
  awsNodePrivileges,
  awsNodeResources,
  cniNotReady,
  cniUsesNodeIamRole,
  cniVersionSkew,
  conntrackTableFull,
  cpuStarvation,
  ec2ApiErrors,
  eniLimitReached,
  evidenceCoverage,
  forwardPolicyDrop,
  invalidVethPrefix,
  ipAddressExhaustion,
  ipForwardingDisabled,
  ipamdApiServerUnreachable,
  iptablesBackendMismatch,
  ipv6WithoutPrefixDelegation,
  knownBadVersions,
  kubeletProbeFailures,
  networkPolicyAgentErrors,
  oomKills,
  rpFilterStrict,
  warmPoolSettings,
] as Rule[];

export function ruleById(id: string): Rule | undefined {
  return rules.find((rule) => rule.meta.id === id);
}
