/**
 * VPC CNI versions per Kubernetes minor, for the cni-version-skew rule: what the CNI must at least be once the
 * node's kubelet runs a given minor.
 *
 * Three published lists, each with its date:
 * - `oldestRecommended`: the VPC CNI project's "Recommended Version" table, the *oldest* CNI it recommends for each
 *   supported Kubernetes release (README of aws/amazon-vpc-cni-k8s, table covering 1.24 to 1.29).
 * - `eksDefault`: the add-on version EKS installs on new clusters of that minor (`aws eks describe-addon-versions
 *   --kubernetes-version 1.N`, `defaultVersion: true`). It is fixed when EKS launches the minor and never changes
 *   afterwards (aws/amazon-vpc-cni-k8s#2357), so a CNI older than it was not upgraded along with the cluster.
 * - `latestListed`: the EKS User Guide table "Amazon VPC CNI versions" (latest add-on version per Kubernetes
 *   version), as of CNI_VERSIONS_AS_OF. EKS recommends running the latest version; this is shown, not enforced.
 */
import type { Reference } from '../../report/model.ts';
import { compareCore, parseVersion } from './versions.ts';

/** Date of the newest source below (the EKS User Guide table). */
export const CNI_VERSIONS_AS_OF = '2025-07';

export interface CniVersionsForKubernetes {
  /** Kubernetes minor, `1.29`. */
  kubernetes: string;
  oldestRecommended?: string;
  eksDefault?: string;
  latestListed?: string;
}

export const CNI_VERSION_REFERENCES: readonly Reference[] = [
  {
    title: 'Amazon EKS User Guide: Amazon VPC CNI versions (latest add-on version per Kubernetes version)',
    url: 'https://docs.aws.amazon.com/eks/latest/userguide/managing-vpc-cni.html#vpc-cni-latest-available-version',
  },
  {
    title: 'amazon-vpc-cni-k8s README: Recommended Version (oldest recommended VPC CNI per Kubernetes release)',
    url: 'https://github.com/aws/amazon-vpc-cni-k8s#recommended-version',
  },
  {
    title: 'aws/amazon-vpc-cni-k8s#2357: the default add-on version is set at the EKS minor launch and never changes',
    url: 'https://github.com/aws/amazon-vpc-cni-k8s/issues/2357',
  },
];

/**
 * Sources per column: oldestRecommended from the README table; eksDefault for 1.23-1.27 from
 * `describe-addon-versions` output quoted in cilium/cilium#28392 (2023-10-04), 1.28 from
 * aws/amazon-vpc-cni-k8s#2747 (2024-01-10), 1.21 from dfds/infrastructure-modules#270 (2021-08-03);
 * latestListed from awsdocs/amazon-eks-user-guide `managing-vpc-cni.adoc` (1.27-1.33 all `v1.20.1-eksbuild.3`).
 */
export const CNI_VERSIONS: readonly CniVersionsForKubernetes[] = [
  { kubernetes: '1.21', eksDefault: 'v1.7.5-eksbuild.2' },
  { kubernetes: '1.23', eksDefault: 'v1.10.4-eksbuild.1' },
  { kubernetes: '1.24', oldestRecommended: 'v1.9.3', eksDefault: 'v1.11.4-eksbuild.1' },
  { kubernetes: '1.25', oldestRecommended: 'v1.11.4', eksDefault: 'v1.12.2-eksbuild.1' },
  { kubernetes: '1.26', oldestRecommended: 'v1.12.0', eksDefault: 'v1.12.5-eksbuild.2' },
  {
    kubernetes: '1.27',
    oldestRecommended: 'v1.12.5',
    eksDefault: 'v1.12.6-eksbuild.2',
    latestListed: 'v1.20.1-eksbuild.3',
  },
  {
    kubernetes: '1.28',
    oldestRecommended: 'v1.13.4',
    eksDefault: 'v1.14.1-eksbuild.1',
    latestListed: 'v1.20.1-eksbuild.3',
  },
  { kubernetes: '1.29', oldestRecommended: 'v1.14.1', latestListed: 'v1.20.1-eksbuild.3' },
  { kubernetes: '1.30', latestListed: 'v1.20.1-eksbuild.3' },
  { kubernetes: '1.31', latestListed: 'v1.20.1-eksbuild.3' },
  { kubernetes: '1.32', latestListed: 'v1.20.1-eksbuild.3' },
  { kubernetes: '1.33', latestListed: 'v1.20.1-eksbuild.3' },
];

export interface CniFloor {
  /** The oldest VPC CNI the node's minor should run. */
  version: string;
  /** Which list it comes from, in words. */
  basis: string;
  /** The Kubernetes minor whose row gave it (an older minor's when this one has no row or no value). */
  fromKubernetes: string;
  /** Whether the row of the minor asked about has a value of its own (else every value is inherited). */
  exact: boolean;
}

function minorNumber(kubernetes: string): number {
  const [, minor] = kubernetes.split('.');
  return Number(minor);
}

/**
 * The floor for a Kubernetes minor: the higher of the oldest recommended version and the EKS default of that minor.
 * A minor newer than the lists, or without values in them, inherits the floor of the nearest older minor that has
 * one (a newer minor never needs an older CNI); a minor older than every row has no floor.
 */
export function cniFloorFor(kubernetes: string): CniFloor | undefined {
  const wanted = minorNumber(kubernetes);
  const rows = CNI_VERSIONS.filter((row) => minorNumber(row.kubernetes) <= wanted).sort(
    (a, b) => minorNumber(b.kubernetes) - minorNumber(a.kubernetes),
  );
  let recommended: { version: string; from: string } | undefined;
  let eksDefault: { version: string; from: string } | undefined;
  for (const row of rows) {
    if (!recommended && row.oldestRecommended) recommended = { version: row.oldestRecommended, from: row.kubernetes };
    if (!eksDefault && row.eksDefault) eksDefault = { version: row.eksDefault, from: row.kubernetes };
    if (recommended && eksDefault) break;
  }
  const candidates: Omit<CniFloor, 'exact'>[] = [];
  if (recommended) {
    candidates.push({
      version: recommended.version,
      basis: `oldest VPC CNI the project recommends for Kubernetes ${recommended.from}`,
      fromKubernetes: recommended.from,
    });
  }
  if (eksDefault) {
    candidates.push({
      version: eksDefault.version,
      basis: `add-on version EKS installs on new Kubernetes ${eksDefault.from} clusters`,
      fromKubernetes: eksDefault.from,
    });
  }
  const exact = rows[0]?.kubernetes === kubernetes && Boolean(rows[0].oldestRecommended || rows[0].eksDefault);
  const floor = candidates.sort((a, b) => compareLoose(b.version, a.version))[0];
  return floor ? { ...floor, exact } : undefined;
}

/** Latest listed add-on version for a minor, or the newest row's when the minor is newer than the table. */
export function latestListedFor(kubernetes: string): { version: string; fromKubernetes: string } | undefined {
  const wanted = minorNumber(kubernetes);
  const row = CNI_VERSIONS.filter((candidate) => candidate.latestListed && minorNumber(candidate.kubernetes) <= wanted)
    .sort((a, b) => minorNumber(b.kubernetes) - minorNumber(a.kubernetes))
    .at(0);
  return row?.latestListed ? { version: row.latestListed, fromKubernetes: row.kubernetes } : undefined;
}

/** Release order of two table versions; a build (`-eksbuild.2`) sorts after the bare release. */
function compareLoose(a: string, b: string): number {
  const left = parseVersion(a);
  const right = parseVersion(b);
  if (!left || !right) throw new Error(`CNI version table holds a non-version: ${left ? b : a}`);
  return compareCore(left, right) || (left.build ?? 0) - (right.build ?? 0);
}
