/**
 * Upload by presigned POST form (S3's browser-based upload), the way fleet dispatch hands out uploads: one policy per
 * run, limited to a key prefix, with `key` = `<prefix>/${filename}` so every node's bundle lands under its own name.
 *
 * The form is what `@aws-sdk/s3-presigned-post` returns: `{ url, fields }`, the fields being `key`, `bucket`,
 * `Policy`, `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Signature` (and `X-Amz-Security-Token`
 * with temporary credentials) plus whatever the policy allows. The agent takes it with `--upload-form`: inline JSON
 * or a file holding JSON, either that whole object or only its fields (then `--upload-url` gives the URL).
 *
 * The multipart/form-data body is built by hand around the spooled bundle file (see put.ts for why it is spooled):
 * a small preamble with the fields, the file streamed from disk, a closing boundary, so the exact Content-Length is
 * known and memory stays bounded. The file part must come last: S3 ignores fields after it.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type HttpAnswer, send } from './http.ts';
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  READ_CHUNK_BYTES,
  retryPolicy,
  type UploadOptions,
  type UploadResult,
} from './options.ts';
import { failureOf, UploadError, withRetries, xmlLeaves } from './retry.ts';
import { s3Location, uploadUrlProblem } from './target.ts';

export interface UploadForm {
  /** The form's URL, when the JSON carried one. */
  url?: string;
  fields: Record<string, string>;
  /** The policy's expiration. */
  expiresAt?: Date;
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: S3 substitutes this literal placeholder in POST keys
export const FILENAME_PLACEHOLDER = '${filename}';

/** Field names S3 needs in a SigV4 POST form (compared case-insensitively, as S3 does). */
const REQUIRED_FIELDS = ['key', 'policy', 'x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-signature'];

function fieldProblems(fields: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const names = new Map(Object.keys(fields).map((name) => [name.toLowerCase(), name]));
  const missing = REQUIRED_FIELDS.filter((name) => !names.has(name));
  if (missing.length > 0)
    problems.push(`missing the field${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of a presigned POST form`);
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value !== 'string') problems.push(`field "${name}" is not a string`);
    else if (/[\r\n]/.test(name) || name.includes('"') || name === '')
      problems.push(`field name ${JSON.stringify(name)} cannot be sent`);
    if (name.toLowerCase() === 'file') problems.push('field "file" is the bundle itself and cannot be given');
  }
  return problems;
}

function policyExpiration(fields: Record<string, string>): { expiresAt?: Date; problem?: string } {
  const policy = Object.entries(fields).find(([name]) => name.toLowerCase() === 'policy')?.[1];
  if (policy === undefined) return {};
  try {
    const document = JSON.parse(Buffer.from(policy, 'base64').toString('utf8')) as { expiration?: unknown };
    const expiration = typeof document.expiration === 'string' ? Date.parse(document.expiration) : Number.NaN;
    if (Number.isNaN(expiration)) return { problem: 'the Policy field has no valid expiration' };
    return { expiresAt: new Date(expiration) };
  } catch {
    return { problem: 'the Policy field is not a base64-encoded JSON policy document' };
  }
}

/**
 * Reads `--upload-form`: inline JSON (starts with `{`) or a file holding it; either `{ url, fields }` as
 * createPresignedPost returns it, or the fields alone.
 */
export function readUploadForm(argument: string, now = Date.now()): { form?: UploadForm; problems: string[] } {
  let text = argument;
  if (!argument.trimStart().startsWith('{')) {
    try {
      text = readFileSync(argument, 'utf8');
    } catch (error) {
      return { problems: [`cannot read ${argument}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`] };
    }
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return { problems: ['not JSON: expected {"url": ..., "fields": {...}} or the fields of a presigned POST form'] };
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    return { problems: ['expected a JSON object'] };
  const wrapped = 'fields' in document && typeof (document as { fields: unknown }).fields === 'object';
  const url = wrapped ? (document as { url?: unknown }).url : undefined;
  const fields = (wrapped ? (document as { fields: unknown }).fields : document) as Record<string, unknown> | null;
  if (fields === null || Array.isArray(fields)) return { problems: ['"fields" must be an object'] };
  const problems = fieldProblems(fields);
  if (url !== undefined && typeof url !== 'string') problems.push('"url" must be a string');
  if (problems.length > 0) return { problems };
  const { expiresAt, problem } = policyExpiration(fields as Record<string, string>);
  if (problem) problems.push(problem);
  if (expiresAt && expiresAt.getTime() < now)
    problems.push(`the POST policy expired at ${expiresAt.toISOString()}: ask for a new upload form`);
  return {
    form: {
      ...(typeof url === 'string' ? { url } : {}),
      fields: fields as Record<string, string>,
      ...(expiresAt ? { expiresAt } : {}),
    },
    problems,
  };
}

/** The multipart/form-data body around the file: fields, then the file part's header; and the closing boundary. */
export function formEnvelope(
  fields: Record<string, string>,
  filename: string,
  boundary: string,
): { head: Buffer; tail: Buffer } {
  const parts = Object.entries(fields).map(
    ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  const safeName = filename.replace(/["\r\n\\]/g, '_');
  parts.push(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${safeName}"\r\n` +
      'Content-Type: application/gzip\r\n\r\n',
  );
  return { head: Buffer.from(parts.join(''), 'utf8'), tail: Buffer.from(`\r\n--${boundary}--\r\n`) };
}

function keyFromFields(fields: Record<string, string>, filename: string): string | undefined {
  const key = Object.entries(fields).find(([name]) => name.toLowerCase() === 'key')?.[1];
  return key?.replaceAll(FILENAME_PLACEHOLDER, filename);
}

export async function postBundle(
  file: string,
  filename: string,
  url: URL,
  fields: Record<string, string>,
  options: UploadOptions = {},
): Promise<UploadResult> {
  const problem = uploadUrlProblem(url, options.allowHttpLoopback === true);
  if (problem) throw new UploadError(`upload URL ${url.origin}: ${problem}`, 0);
  const { size } = await stat(file);
  const progress = options.progress ?? (() => {});
  const policy = retryPolicy(options);
  const planned = s3Location(url);
  const plannedKey = keyFromFields(fields, filename);
  const bucket = planned.bucket ?? fields.bucket;
  progress(`uploading ${size} bytes to s3://${bucket ?? '?'}/${plannedKey ?? '?'} (POST form)`);
  const { result, attempts } = await withRetries<HttpAnswer>(
    policy,
    async () => {
      // A fresh boundary each attempt; it only has to be absent from the fields (the file part ends at its length).
      const boundary = `----eks-node-diag-${randomBytes(16).toString('hex')}`;
      const { head, tail } = formEnvelope(fields, filename, boundary);
      const answer = await send({
        url,
        method: 'POST',
        headers: {
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': head.length + size + tail.length,
        },
        body: async function* () {
          yield head;
          yield* createReadStream(file, { highWaterMark: READ_CHUNK_BYTES }) as AsyncIterable<Buffer>;
          yield tail;
        },
        idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if ((answer.status >= 200 && answer.status < 300) || answer.status === 303) return { done: answer };
      return { failed: failureOf(answer, { method: 'POST form', bytes: size }) };
    },
    progress,
    options.signal,
  );

  // Where S3 put it: the 201 document, else the Location header, else the form's key with the file name in it.
  const document = /<PostResponse>/.test(result.body) ? xmlLeaves(result.body) : {};
  let stored = { bucket: document.Bucket ?? bucket, key: document.Key ?? plannedKey };
  const locationHeader = result.headers.location;
  if (!document.Key && typeof locationHeader === 'string' && result.status !== 303) {
    try {
      const fromHeader = s3Location(new URL(locationHeader));
      if (fromHeader.key) stored = { bucket: fromHeader.bucket ?? stored.bucket, key: fromHeader.key };
    } catch {
      // An unparsable Location changes nothing: the key from the form stands.
    }
  }
  const etag = document.ETag ?? result.headers.etag;
  return {
    method: 'POST',
    location: stored.bucket && stored.key ? `s3://${stored.bucket}/${stored.key}` : `${url.origin}${url.pathname}`,
    ...(stored.bucket ? { bucket: stored.bucket } : {}),
    ...(stored.key ? { key: stored.key } : {}),
    ...(typeof etag === 'string' ? { etag } : {}),
    bytes: size,
    attempts,
  };
}
