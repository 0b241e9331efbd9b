/**
 * `dispatch` flags, checked before anything talks to AWS: every problem is named at once, as a usage error.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import parseMs from 'ms';

export type DispatchTarget =
  | { kind: 'instances'; instanceIds: string[] }
  | { kind: 'cluster'; cluster: string }
  | { kind: 'tag'; key: string; value: string };

export interface DispatchOptions {
  target: DispatchTarget;
  bucket: string;
  /** Key prefix without leading or trailing slash. */
  prefix: string;
  region?: string;
  profile?: string;
  maxConcurrency: string;
  maxErrors: string;
  /** How long each node may run the script (the document's execution timeout). */
  timeoutMs: number;
  since: string;
  out: string;
  analyze: boolean;
  keepOnNode: boolean;
  installDocument: boolean;
  /** Name of the project's SSM document; undefined runs the script inline through AWS-RunShellScript. */
  documentName?: string;
  agentDir: string;
  json?: string;
  pollIntervalMs: number;
}

export interface RawDispatchOptions {
  instanceIds?: string;
  cluster?: string;
  tag?: string;
  bucket?: string;
  prefix?: string;
  region?: string;
  profile?: string;
  maxConcurrency?: string;
  maxErrors?: string;
  timeout?: string;
  since?: string;
  out?: string;
  analyze?: boolean;
  keepOnNode?: boolean;
  installDocument?: boolean;
  document?: string;
  agentDir?: string;
  json?: string;
  pollInterval?: string;
}

export class DispatchUsageError extends Error {
  readonly code = 'ENDIAG_USAGE';
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? (problems[0] as string) : `\n  - ${problems.join('\n  - ')}`);
  }
}

/** SSM's SendCommand takes at most 50 instance ids; beyond that, tags reach any number of nodes in one command. */
export const MAX_INSTANCE_IDS = 50;
export const DEFAULT_PREFIX = 'eks-node-diag';
export const DEFAULT_DOCUMENT_NAME = 'EKSNodeDiag-Collect';

const INSTANCE_ID = /^(i-[0-9a-f]{8}|i-[0-9a-f]{17}|mi-[0-9a-f]{17})$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Characters the node script can carry through its form parsing unharmed (no quotes, backslashes or spaces). */
const PREFIX_SEGMENT = /^[A-Za-z0-9._-]+$/;
const CLUSTER = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
const SSM_CONCURRENCY = /^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$/;
const SSM_ERRORS = /^([1-9][0-9]*|0|[1-9][0-9]%|[0-9]%|100%)$/;
const SINCE = /^[1-9][0-9]{0,5}(s|m|h|d)$/;
const DOCUMENT_NAME = /^[a-zA-Z0-9_\-.]{3,128}$/;

function duration(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = parseMs(text as parseMs.StringValue);
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

/** Where the agent binaries are by default: beside the running CLI (dist/ for the bundle, or the executable's folder). */
export function defaultAgentDir(): string {
  const candidates = [process.argv[1], process.execPath].filter((path): path is string => typeof path === 'string');
  for (const candidate of candidates) {
    const dir = dirname(resolve(candidate));
    if (
      existsSync(resolve(dir, 'eks-node-diag-agent-linux-x64')) ||
      existsSync(resolve(dir, 'eks-node-diag-agent-linux-arm64'))
    )
      return dir;
  }
  return dirname(resolve(candidates[0] ?? '.'));
}

function stamp(now: Date): string {
  return now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
}

export function validateDispatchOptions(raw: RawDispatchOptions, now = new Date()): DispatchOptions {
  const problems: string[] = [];
  const chosen = [raw.instanceIds, raw.cluster, raw.tag].filter((value) => value !== undefined);
  let target: DispatchTarget | undefined;
  if (chosen.length !== 1) problems.push('give exactly one of --instance-ids, --cluster or --tag');
  else if (raw.instanceIds !== undefined) {
    const ids = [
      ...new Set(
        raw.instanceIds
          .split(',')
          .map((id) => id.trim())
          .filter(Boolean),
      ),
    ];
    const bad = ids.filter((id) => !INSTANCE_ID.test(id));
    if (ids.length === 0) problems.push('--instance-ids: no instance id given');
    if (bad.length > 0) problems.push(`--instance-ids: not an instance id: ${bad.join(', ')}`);
    if (ids.length > MAX_INSTANCE_IDS)
      problems.push(
        `--instance-ids: SSM takes at most ${MAX_INSTANCE_IDS} instance ids in one command (${ids.length} given): ` +
          'reach more nodes with --cluster or --tag',
      );
    target = { kind: 'instances', instanceIds: ids };
  } else if (raw.cluster !== undefined) {
    if (!CLUSTER.test(raw.cluster)) problems.push(`--cluster "${raw.cluster}": not an EKS cluster name`);
    target = { kind: 'cluster', cluster: raw.cluster };
  } else if (raw.tag !== undefined) {
    const eq = raw.tag.indexOf('=');
    const key = eq < 0 ? '' : raw.tag.slice(0, eq);
    const value = eq < 0 ? '' : raw.tag.slice(eq + 1);
    if (key === '' || value === '' || key.length > 128 || value.length > 256)
      problems.push(`--tag "${raw.tag}": expected KEY=VALUE, e.g. eks:nodegroup-name=workers`);
    target = { kind: 'tag', key, value };
  }

  if (raw.bucket === undefined) problems.push('--bucket is required: the S3 bucket that carries agents and bundles');
  else if (!BUCKET.test(raw.bucket) || raw.bucket.includes('..'))
    problems.push(`--bucket "${raw.bucket}": not an S3 bucket name`);

  const prefix = (raw.prefix ?? DEFAULT_PREFIX).replace(/^\/+|\/+$/g, '');
  if (prefix === '' || !prefix.split('/').every((segment) => PREFIX_SEGMENT.test(segment) && segment !== '..'))
    problems.push(`--prefix "${raw.prefix}": use letters, digits, '.', '_', '-' and '/' between segments`);

  const maxConcurrency = raw.maxConcurrency ?? '50';
  if (!SSM_CONCURRENCY.test(maxConcurrency))
    problems.push(`--max-concurrency "${maxConcurrency}": expected a number of nodes (1 or more) or a percentage`);
  const maxErrors = raw.maxErrors ?? '100%';
  if (!SSM_ERRORS.test(maxErrors))
    problems.push(`--max-errors "${maxErrors}": expected a number of nodes (0 or more) or a percentage`);

  const timeoutMs = duration(raw.timeout ?? '15m');
  if (timeoutMs === undefined || timeoutMs < 60_000 || timeoutMs > 48 * 3_600_000)
    problems.push(`--timeout "${raw.timeout}": expected a duration from 1m to 48h, e.g. 15m`);
  const since = raw.since ?? '24h';
  if (!SINCE.test(since)) problems.push(`--since "${since}": expected a duration such as 6h or 2d`);
  const pollIntervalMs = duration(raw.pollInterval ?? '5s');
  if (pollIntervalMs === undefined || pollIntervalMs < 10)
    problems.push(`--poll-interval "${raw.pollInterval}": expected a duration such as 5s`);

  const documentName = raw.document ?? (raw.installDocument ? DEFAULT_DOCUMENT_NAME : undefined);
  if (documentName !== undefined && !DOCUMENT_NAME.test(documentName))
    problems.push(`--document "${documentName}": SSM document names are 3-128 letters, digits, '_', '-', '.'`);
  if (documentName !== undefined && /^(aws|amazon|amzn)/i.test(documentName))
    problems.push(`--document "${documentName}": names starting with aws, amazon or amzn belong to AWS`);

  if (problems.length > 0 || !target) throw new DispatchUsageError(problems);
  return {
    target,
    bucket: raw.bucket as string,
    prefix,
    ...(raw.region ? { region: raw.region } : {}),
    ...(raw.profile ? { profile: raw.profile } : {}),
    maxConcurrency,
    maxErrors,
    timeoutMs: timeoutMs as number,
    since,
    out: resolve(raw.out ?? `eks-node-diag-dispatch-${stamp(now)}`),
    analyze: raw.analyze === true,
    keepOnNode: raw.keepOnNode === true,
    installDocument: raw.installDocument === true,
    ...(documentName ? { documentName } : {}),
    agentDir: resolve(raw.agentDir ?? defaultAgentDir()),
    ...(raw.json ? { json: resolve(raw.json) } : {}),
    pollIntervalMs: pollIntervalMs as number,
  };
}

/** What the command targets, in words, for the progress lines and the fleet index heading. */
export function describeTarget(target: DispatchTarget): string {
  if (target.kind === 'instances')
    return target.instanceIds.length === 1
      ? `instance ${target.instanceIds[0]}`
      : `${target.instanceIds.length} instances`;
  if (target.kind === 'cluster') return `cluster ${target.cluster}`;
  return `tag ${target.key}=${target.value}`;
}
