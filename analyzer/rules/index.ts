/**
 * The rule catalog: one import and one entry per rule, alphabetical. Adding a rule means a rule file, its test,
 * and a line in each list here.
 */
import type { Rule } from '../engine/rule.ts';
import cniNotReady from './cni-not-ready.ts';
import cniVersionSkew from './cni-version-skew.ts';
import cpuStarvation from './cpu-starvation.ts';
import ec2ApiErrors from './ec2-api-errors.ts';
import eniLimitReached from './eni-limit-reached.ts';
import evidenceCoverage from './evidence-coverage.ts';
import forwardPolicyDrop from './forward-policy-drop.ts';
import ipAddressExhaustion from './ip-address-exhaustion.ts';
import ipamdApiServerUnreachable from './ipamd-api-server-unreachable.ts';
import knownBadVersions from './known-bad-versions.ts';
import kubeletProbeFailures from './kubelet-probe-failures.ts';
import networkPolicyAgentErrors from './network-policy-agent-errors.ts';

export const rules: readonly Rule[] = [
  cniNotReady,
  cniVersionSkew,
  cpuStarvation,
  ec2ApiErrors,
  eniLimitReached,
  evidenceCoverage,
  forwardPolicyDrop,
  ipAddressExhaustion,
  ipamdApiServerUnreachable,
  knownBadVersions,
  kubeletProbeFailures,
  networkPolicyAgentErrors,
] as Rule[];

export function ruleById(id: string): Rule | undefined {
  return rules.find((rule) => rule.meta.id === id);
}
