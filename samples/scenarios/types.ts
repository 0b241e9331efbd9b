/**
 * What a sample scenario is: a simulated node and the bundle its collector would have produced.
 */
import type { ItemId, ManifestItem, NodeIdentity } from '../../contract/bundle.ts';

export type SampleLayout = 'eks-node-diag' | 'eks-log-collector' | 'aws-cni-support-legacy';

export type ExpectedVerdict = 'fail' | 'pass' | 'not-evaluated';

/** The three headline rules every sample states an expectation for. */
export type HeadlineRuleId = 'kubelet-probe-failures' | 'cpu-starvation' | 'forward-policy-drop';

export type ExpectedVerdicts = Record<HeadlineRuleId, ExpectedVerdict>;

export interface ManifestOverrides {
  /** Records for items that produced no file (timeout, skipped, error), or that replace a derived record. */
  items?: (Partial<ManifestItem> & { id: ItemId; status: ManifestItem['status'] })[];
  parameters?: Record<string, unknown>;
  interrupted?: boolean;
}

export interface ScenarioDefinition {
  /** Bundle name: `samples/bundles/<name>.tar.gz`. */
  name: string;
  /** One line for samples/README.md. */
  description: string;
  layout: SampleLayout;
  /** When collection started (ISO 8601, UTC). Fixes the archive mtimes and the manifest's createdAt. */
  createdAt: string;
  node: NodeIdentity;
  /**
   * Bundle content. Our layout and the stock layout: canonical paths (the builder adds `./` and directory entries
   * for the stock layout). Legacy layout: member names as tar stores them (`var/log/aws-routed-eni/…`).
   * Rendered on first access, so importing the scenario list stays cheap.
   */
  readonly files: Readonly<Record<string, string>>;
  /** Directories the collector creates even when nothing lands in them (the stock script's `gpu/`, `docker/`). */
  emptyDirectories?: readonly string[];
  manifestOverrides?: ManifestOverrides;
  expected: ExpectedVerdicts;
}

/** Defines a scenario whose files are rendered once, on first access. */
export function defineScenario(
  definition: Omit<ScenarioDefinition, 'files'>,
  render: () => Record<string, string>,
): ScenarioDefinition {
  let cache: Readonly<Record<string, string>> | undefined;
  return {
    ...definition,
    get files() {
      cache ??= Object.freeze(render());
      return cache;
    },
  };
}
