/**
 * `collect` options, validated all at once: every problem is reported together, with the option that has it, before
 * anything runs on the node (changesets' validateConfig pattern). Durations and sizes use the `ms` and `bytes`
 * libraries; `MiB`/`GiB` spellings are accepted too.
 */
import parseBytes from 'bytes';
import parseMs from 'ms';
import { bundlePaths } from '../../contract/bundle.ts';
import { inventory } from '../items/index.ts';
import { readUploadForm } from '../upload/post.ts';
import { inspectPresignedPut, type UploadTarget, uploadUrlProblem } from '../upload/target.ts';

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
  /** Set with --upload-url or --upload-form: the bundle goes to S3 instead of a file. */
  upload?: UploadTarget;
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
  /** A presigned POST form: inline JSON or a JSON file, `{ url, fields }` or the fields alone. */
  uploadForm?: string;
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

/** `--upload-url` alone: a presigned PUT; with `--upload-form`: a presigned POST form (whose JSON may hold the URL). */
function uploadTarget(raw: RawCollectOptions, problems: string[]): UploadTarget | undefined {
  if (raw.uploadUrl === undefined && raw.uploadForm === undefined) return undefined;
  if (raw.out !== undefined)
    problems.push('--upload-url/--upload-form and --out cannot be combined: the upload replaces the file');
  const read = raw.uploadForm === undefined ? undefined : readUploadForm(raw.uploadForm);
  for (const problem of read?.problems ?? []) problems.push(`--upload-form: ${problem}`);
  const formUrl = read?.form?.url;
  if (raw.uploadUrl !== undefined && formUrl !== undefined && formUrl !== raw.uploadUrl)
    problems.push('--upload-url and the url in --upload-form differ: give one of them');
  const text = raw.uploadUrl ?? formUrl;
  if (text === undefined) {
    if (read?.form) problems.push('--upload-form: the form has no "url": give it with --upload-url');
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problems.push('--upload-url: not a URL');
    return undefined;
  }
  const rule = uploadUrlProblem(url, raw.allowHttpUpload === true);
  if (rule) problems.push(`--upload-url: ${rule}`);
  if (raw.uploadForm !== undefined) {
    if (!read?.form) return undefined;
    const { expiresAt } = read.form;
    return { method: 'POST', url, fields: read.form.fields, ...(expiresAt ? { expiresAt } : {}) };
  }
  const inspected = inspectPresignedPut(url);
  for (const problem of inspected.problems) problems.push(`--upload-url: ${problem}`);
  return { method: 'PUT', url, ...(inspected.expiresAt ? { expiresAt: inspected.expiresAt } : {}) };
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
  const upload = uploadTarget(raw, problems);
  if (problems.length > 0) throw new OptionsError(problems);
  return {
    out: raw.out,
    sinceMs: sinceMs as number,
    root: raw.root ?? '/',
    only,
    skip,
    deadlineMs: deadlineMs as number,
    maxBytes: maxBytes as number,
    uploadUrl: upload?.url.href ?? raw.uploadUrl,
    ...(upload ? { upload } : {}),
    allowHttpUpload: raw.allowHttpUpload === true,
    redact: raw.redact !== false,
    offline: raw.offline === true,
    ...(itemTimeoutMs === undefined ? {} : { itemTimeoutMs }),
  };
}
