/**
 * Every sample scenario, in the order the README lists them, with the verdicts the headline rules must give.
 */
import { awsNodeCpuStarvation } from './aws-node-cpu-starvation.ts';
import { forwardDropCustomAmi } from './forward-drop-custom-ami.ts';
import { healthyNode } from './healthy-node.ts';
import { legacyAwsCniSupport } from './legacy-aws-cni-support.ts';
import { stockEksLogCollector } from './stock-eks-log-collector.ts';
import { stockMissingFiles } from './stock-missing-files.ts';
import type { ExpectedVerdicts, ScenarioDefinition } from './types.ts';

export const scenarios: readonly ScenarioDefinition[] = [
  healthyNode,
  awsNodeCpuStarvation,
  forwardDropCustomAmi,
  stockEksLogCollector,
  stockMissingFiles,
  legacyAwsCniSupport,
];

export const expectedVerdicts: Readonly<Record<string, ExpectedVerdicts>> = Object.fromEntries(
  scenarios.map((scenario) => [scenario.name, scenario.expected]),
);

export type { ExpectedVerdict, ExpectedVerdicts, HeadlineRuleId, SampleLayout, ScenarioDefinition } from './types.ts';
