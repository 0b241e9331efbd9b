/**
 * Maps archive member names of every known bundle layout onto the canonical paths of the bundle contract.
 *
 * - eks-node-diag (ours): canonical paths as they are, plus `manifest.json`.
 * - eks-log-collector.sh (= today's /opt/cni/bin/aws-cni-support.sh): the same paths, members start with `./`;
 *   re-packed copies often add a top folder (`eks_i-0abc_2026-11-20_0912-UTC_0.7.9/kubelet/kubelet.log`).
 * - legacy aws-cni-support.sh (before 2020): flat `var/log/aws-routed-eni/*.out` files, `messages`, the CNI logs.
 *
 * Mapping works member by member, so the layout never has to be known before the first entry is read: the
 * archive is read once, in the order it was written.
 */
import { BUNDLE_FOLDERS, bundlePaths, type ItemId, itemIdForPath, MANIFEST_PATH } from '../../contract/bundle.ts';
import type { BundleLayout } from '../report/model.ts';

/** Top-level folders of the stock collector (always created) and ours. */
const KNOWN_TOP_FOLDERS = new Set<string>(BUNDLE_FOLDERS);

const LEGACY_PREFIX = 'var/log/aws-routed-eni/';

/** Legacy aws-cni-support.sh outputs (and their pre-2019 `.output` names) mapped to today's paths. */
const LEGACY_FILES: Record<string, string> = {
  'eni.out': bundlePaths['ipamd-enis'],
  'pod.out': 'ipamd/pods.json',
  'networkutils-env.out': bundlePaths['ipamd-networkutils-env'],
  'ipamd-env.out': bundlePaths['ipamd-env'],
  'eni-configs.out': bundlePaths['ipamd-eni-configs'],
  'metrics.out': bundlePaths['ipamd-metrics'],
  'kubelet.out': 'kubelet/pods.json',
  'ifconfig.out': 'networking/ifconfig.txt',
  'iprule.out': bundlePaths['ip-rule'],
  'route.out': bundlePaths['ip-route'],
  'iptables-save.out': bundlePaths['iptables-save'],
  'iptables.out': bundlePaths['iptables-list'],
  'iptables-nat.out': bundlePaths['iptables-list-nat'],
  'iptables-mangle.out': bundlePaths['iptables-list-mangle'],
  'sysctls.out': 'sysctls/rp_filter.txt',
  messages: bundlePaths['system-messages'],
};
for (const name of Object.keys(LEGACY_FILES)) {
  if (name.endsWith('.out')) LEGACY_FILES[name.replace(/\.out$/, '.output')] = LEGACY_FILES[name] as string;
}

/** Files only our agent writes: a bundle holding them but no manifest is ours, cut short before the manifest. */
const OURS_ONLY = new Set<string>([bundlePaths['proc-loadavg'], bundlePaths['psi-cpu'], bundlePaths['proc-meminfo']]);

export type MemberName =
  | { ok: true; canonical: string; layoutHint: BundleLayout | undefined }
  | { ok: false; reason: string };

/**
 * Canonical path of an archive member, or why it cannot be taken. Names that climb out (`..`) or are absolute are
 * refused: the analyzer never writes them anywhere, but a name like that is a sign of a hostile or broken archive
 * and must not be mistaken for a node file.
 */
export function canonicalMemberPath(member: string): MemberName {
  if (member.includes('\0')) return { ok: false, reason: 'the name contains a NUL byte' };
  if (member.startsWith('/') || /^[A-Za-z]:[\\/]/.test(member)) {
    return { ok: false, reason: 'the name is an absolute path' };
  }
  const segments = member.replaceAll('\\', '/').split('/');
  if (segments.includes('..')) return { ok: false, reason: "the name climbs out of the bundle with '..'" };
  const parts = segments.filter((segment) => segment !== '' && segment !== '.');
  if (parts.length === 0) return { ok: true, canonical: '', layoutHint: undefined };
  const path = parts.join('/');

  const first = parts[0] as string;
  // Legacy members sit at `var/log/aws-routed-eni/` (tar strips the leading `/`), possibly under one top folder.
  const legacyAt = path.startsWith(LEGACY_PREFIX)
    ? 0
    : path.startsWith(LEGACY_PREFIX, first.length + 1) && parts.length > 1
      ? first.length + 1
      : -1;
  if (legacyAt >= 0) {
    const rest = path.slice(legacyAt + LEGACY_PREFIX.length);
    const mapped = LEGACY_FILES[rest];
    if (mapped) return { ok: true, canonical: mapped, layoutHint: 'aws-cni-support-legacy' };
    if (rest.startsWith('cni/')) return { ok: true, canonical: rest, layoutHint: 'aws-cni-support-legacy' };
    return { ok: true, canonical: `var_log/aws-routed-eni/${rest}`, layoutHint: 'aws-cni-support-legacy' };
  }

  // Strip one top folder when the next segment is a known one (re-packed or our `eks-node-diag_<id>/` folder).
  let start = 0;
  if (!KNOWN_TOP_FOLDERS.has(first) && first !== MANIFEST_PATH && parts.length > 1) {
    const second = parts[1] as string;
    if (KNOWN_TOP_FOLDERS.has(second) || (second === MANIFEST_PATH && parts.length === 2)) start = 1;
  }
  const canonical = parts.slice(start).join('/');
  let layoutHint: BundleLayout | undefined;
  if (canonical === MANIFEST_PATH || OURS_ONLY.has(canonical)) layoutHint = 'eks-node-diag';
  else if (KNOWN_TOP_FOLDERS.has(parts[start] as string)) layoutHint = 'eks-log-collector';
  return { ok: true, canonical, layoutHint };
}

/**
 * Items whose files come in families: rotated CNI logs (lumberjack: `ipamd-2026-11-20T09-12-00.000.log.gz`,
 * or `ipamd.log.1`), cgroup stats per slice. Checked only when the exact path is not a known item.
 */
/**
 * A CNI log and its rotated siblings: lumberjack's `ipamd-2026-11-20T09-12-00.000.log.gz`, numbered `ipamd.log.1`,
 * and the pre-1.6 seelog hourly `ipamd.log.2019-06-12-08`.
 */
function rotatedCniLog(name: string): RegExp {
  return new RegExp(
    `^var_log/aws-routed-eni/${name}(?:\\.log\\.\\d+|\\.log\\.\\d{4}-\\d{2}-\\d{2}-\\d{2}|-[\\d-]+T[\\d-]+(?:\\.\\d+)?\\.log)(?:\\.gz)?$`,
  );
}

const ITEM_FAMILIES: { pattern: RegExp; id: ItemId }[] = [
  { pattern: rotatedCniLog('ipamd'), id: 'ipamd-log' },
  { pattern: rotatedCniLog('plugin'), id: 'plugin-log' },
  { pattern: rotatedCniLog('network-policy-agent'), id: 'network-policy-agent-log' },
  { pattern: /^var_log\/messages[.-]\d+(?:\.gz)?$/, id: 'system-messages' },
  // Stock bundles copy /var/log/containers/aws-node-*.log flattened into var_log/, and the pod log folders whole.
  { pattern: /^var_log\/aws-node-[^/]*_kube-system_aws-node-[0-9a-f]+\.log$/, id: 'aws-node-container-log' },
  {
    pattern: /^var_log\/(?:pods\/)?kube-system_aws-node-[^/]+\/aws-node\/\d+\.log(?:\.\d+)?(?:\.gz)?$/,
    id: 'aws-node-container-log',
  },
  {
    pattern: /^var_log\/aws-node-[^/]*_kube-system_aws-eks-nodeagent-[0-9a-f]+\.log$/,
    id: 'network-policy-agent-container-log',
  },
  {
    pattern: /^var_log\/(?:pods\/)?kube-system_aws-node-[^/]+\/aws-eks-nodeagent\/\d+\.log(?:\.\d+)?(?:\.gz)?$/,
    id: 'network-policy-agent-container-log',
  },
];

/** The contract item a canonical path holds, if any. */
export function itemForPath(canonical: string): ItemId | undefined {
  const exact = itemIdForPath(canonical);
  if (exact) return exact;
  for (const family of ITEM_FAMILIES) if (family.pattern.test(canonical)) return family.id;
  return undefined;
}

/** Decides the layout from what the members suggested, once the whole archive has been read. */
export function decideLayout(hints: ReadonlySet<BundleLayout>): BundleLayout {
  if (hints.has('eks-node-diag')) return 'eks-node-diag';
  if (hints.has('aws-cni-support-legacy')) return 'aws-cni-support-legacy';
  if (hints.has('eks-log-collector')) return 'eks-log-collector';
  return 'unknown';
}
