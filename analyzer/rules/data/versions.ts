/**
 * Version strings of EKS components, read and compared.
 *
 * Shapes seen in bundles: `v1.19.2` (ipamd's startup line, upstream image tags), `v1.19.3-eksbuild.1` (EKS add-on
 * image tags), `v1.31.2-eks-94953ac` (kubelet: the suffix is a commit, not a build), `v1.31.2-minimal-eksbuild.3`
 * (kube-proxy add-on). Only `eksbuild.N` orders builds of one release; any other suffix is ignored.
 *
 * Ranges follow OSV: `introduced` inclusive, `fixed` exclusive, `lastAffected` inclusive. A bound without a build
 * (`1.16.4`) covers every build of that release. A version read without a build (ipamd's `v1.19.3`) matched against
 * a bound that names one (`1.19.3-eksbuild.1`) cannot be placed: the match is `possible`.
 */

export interface Version {
  major: number;
  minor: number;
  patch: number;
  /** The N of `-eksbuild.N`, when written. */
  build?: number;
  /** As written. */
  text: string;
}

export interface VersionRange {
  introduced?: string;
  fixed?: string;
  lastAffected?: string;
}

export type RangeMatch = 'affected' | 'possible' | 'unaffected';

const VERSION = /^v?(\d+)\.(\d+)(?:\.(\d+))?/;
const EKS_BUILD = /eksbuild\.(\d+)/;

export function parseVersion(text: string): Version | undefined {
  const trimmed = text.trim();
  const match = VERSION.exec(trimmed);
  if (!match) return undefined;
  const version: Version = {
    major: Number(match[1]),
    minor: Number(match[2]),
    patch: Number(match[3] ?? 0),
    text: trimmed,
  };
  const build = EKS_BUILD.exec(trimmed.slice(match[0].length));
  if (build) version.build = Number(build[1]);
  return version;
}

/** `1.29` of a version: the Kubernetes minor a kubelet or kube-proxy version belongs to. */
export function minorOf(version: Version): string {
  return `${version.major}.${version.minor}`;
}

/** Compares major.minor.patch only. */
export function compareCore(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/**
 * Orders two versions; `undefined` when they are the same release and only one of them names a build, so the order
 * is unknown.
 */
export function compareVersions(a: Version, b: Version): number | undefined {
  const core = compareCore(a, b);
  if (core !== 0) return core;
  if (a.build === undefined && b.build === undefined) return 0;
  if (a.build === undefined || b.build === undefined) return undefined;
  return a.build - b.build;
}

/** Like compareVersions, but a bound without a build covers every build of its release. */
function compareToBound(version: Version, bound: Version): number | undefined {
  if (bound.build === undefined) return compareCore(version, bound);
  return compareVersions(version, bound);
}

function bound(text: string | undefined): Version | undefined {
  if (text === undefined) return undefined;
  const version = parseVersion(text);
  if (!version) throw new Error(`version range bound is not a version: ${text}`);
  return version;
}

export function matchRange(version: Version, range: VersionRange): RangeMatch {
  const checks: (boolean | undefined)[] = [];
  const introduced = bound(range.introduced);
  if (introduced) {
    const order = compareToBound(version, introduced);
    checks.push(order === undefined ? undefined : order >= 0);
  }
  const fixed = bound(range.fixed);
  if (fixed) {
    const order = compareToBound(version, fixed);
    checks.push(order === undefined ? undefined : order < 0);
  }
  const lastAffected = bound(range.lastAffected);
  if (lastAffected) {
    const order = compareToBound(version, lastAffected);
    checks.push(order === undefined ? undefined : order <= 0);
  }
  if (checks.includes(false)) return 'unaffected';
  return checks.includes(undefined) ? 'possible' : 'affected';
}

/** `>= 1.17.1, < 1.19.3`, for messages. */
export function describeRange(range: VersionRange): string {
  const parts: string[] = [];
  if (range.introduced) parts.push(`>= ${range.introduced}`);
  if (range.fixed) parts.push(`< ${range.fixed}`);
  if (range.lastAffected) parts.push(`<= ${range.lastAffected}`);
  if (range.introduced && range.lastAffected && range.introduced === range.lastAffected) return range.introduced;
  return parts.length > 0 ? parts.join(', ') : 'every version';
}
