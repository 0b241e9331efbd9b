/**
 * The rule catalog: one line per rule, alphabetical. Adding a rule means a rule file, its test, and a line here.
 */
import type { Rule } from '../engine/rule.ts';
import cpuStarvation from './cpu-starvation.ts';
import evidenceCoverage from './evidence-coverage.ts';
import forwardPolicyDrop from './forward-policy-drop.ts';
import kubeletProbeFailures from './kubelet-probe-failures.ts';

export const rules: readonly Rule[] = [
  cpuStarvation,
  evidenceCoverage,
  forwardPolicyDrop,
  kubeletProbeFailures,
] as Rule[];

export function ruleById(id: string): Rule | undefined {
  return rules.find((rule) => rule.meta.id === id);
}
