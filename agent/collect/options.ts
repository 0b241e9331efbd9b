/**
 * `collect` options, validated all at once: every problem is reported together, with the option that has it, before
 * anything runs on the node (changesets' validateConfig pattern). Durations and sizes use the `ms` and `bytes`
 * libraries; `MiB`/`GiB` spellings are accepted too.
 */
import parseBytes from 'bytes';
import parseMs from 'ms';
import { bundlePaths } from '../../contract/bundle.ts';
import { inventory } from '../items/index.ts';

export interface CollectOptions {
  /** Bundle file, `-` for stdout, or undefined for the default `/var/log/eks_<instance-id>_<UTC>_eks-node-diag.tar.gz`. */
  out?: string;
  /** Journal window: journal items start this long ago. */
  sinceMs: number;
  /** Node root for files, journals and configs. */
  root: string;
  only?: Set<string>;
  skip: Set<string>;
  /** Whole-run deadline. */
  deadlineMs: number;
  /** Total budget of collected bytes (before compression). */
  maxBytes: number;
  uploadUrl?: string;
  /** Allow http:// upload URLs on loopback (tests only). */
  allowHttpUpload: boolean;
  redact: boolean;
  /** Skip live-state items (commands, endpoints, IMDS): for a dead node's disk mounted with --root. */
  offline: boolean;
  /** Replaces every item's own time limit (hidden `--item-timeout`, for fault tests). */
  itemTimeoutMs?: number;
}

export interface RawCollectOptions {
  out?: string;
  since?: string;
  root?: string;
  only?: string;
  skip?: string;
  deadline?: string;
  maxBytes?: string;
  uploadUrl?: string;
  allowHttpUpload?: boolean;
  redact?: boolean;
  offline?: boolean;
  itemTimeout?: string;
}

export class OptionsError extends Error {
  readonly code = 'ENDIAG_USAGE';
  constructor(readonly problems: string[]) {
    super(`invalid options:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

export function parseDuration(text: string): number | undefined {
  const value = parseMs(text.trim() as parseMs.StringValue);
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

export function parseSize(text: string): number | undefined {
  const value = parseBytes.parse(text.trim().replace(/iB$/i, 'B'));
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

const KNOWN_IDS = new Set<string>([...inventory.map((item) => item.id), ...Object.keys(bundlePaths)]);

function idList(text: string | undefined, option: string, problems: string[]): Set<string> | undefined {
  if (text === undefined) return undefined;
  const ids = text
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  for (const id of ids) {
    if (!KNOWN_IDS.has(id)) problems.push(`${option} "${id}": no such item (see \`eks-node-diag collect --list\`)`);
  }
  return new Set(ids);
}

export function validateCollectOptions(raw: RawCollectOptions): CollectOptions {
  const problems: string[] = [];
  const sinceMs = parseDuration(raw.since ?? '10d');
  if (sinceMs === undefined) problems.push(`--since "${raw.since}": expected a duration such as 24h, 10d or 90m`);
  const deadlineMs = parseDuration(raw.deadline ?? '5m');
  if (deadlineMs === undefined) problems.push(`--deadline "${raw.deadline}": expected a duration such as 300s or 5m`);
  const maxBytes = parseSize(raw.maxBytes ?? '2GiB');
  if (maxBytes === undefined) problems.push(`--max-bytes "${raw.maxBytes}": expected a size such as 500MB or 2GiB`);
  const itemTimeoutMs = raw.itemTimeout === undefined ? undefined : parseDuration(raw.itemTimeout);
  if (raw.itemTimeout !== undefined && itemTimeoutMs === undefined)
    problems.push(`--item-timeout "${raw.itemTimeout}": expected a duration such as 2s or 500ms`);
  const only = idList(raw.only, '--only', problems);
  const skip = idList(raw.skip, '--skip', problems) ?? new Set<string>();
  if (raw.uploadUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(raw.uploadUrl);
    } catch {
      problems.push('--upload-url: not a URL');
    }
    if (url && url.protocol !== 'https:') {
      const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
      if (!(raw.allowHttpUpload && url.protocol === 'http:' && loopback)) {
        problems.push(
          '--upload-url: must be https (presigned S3 URLs are); http is allowed only on loopback for tests',
        );
      }
    }
    if (raw.out !== undefined)
      problems.push('--upload-url and --out cannot be combined: the upload streams the bundle');
  }
  if (problems.length > 0) throw new OptionsError(problems);
  return {
    out: raw.out,
    sinceMs: sinceMs as number,
    root: raw.root ?? '/',
    only,
    skip,
    deadlineMs: deadlineMs as number,
    maxBytes: maxBytes as number,
    uploadUrl: raw.uploadUrl,
    allowHttpUpload: raw.allowHttpUpload === true,
    redact: raw.redact !== false,
    offline: raw.offline === true,
    ...(itemTimeoutMs === undefined ? {} : { itemTimeoutMs }),
  };
}
