/**
 * Attempts, backoff and the reading of S3's answers shared by the PUT and POST uploads.
 *
 * Retried: connection failures (reset, refused, dropped mid-body, no progress), 500/502/503/504 (503 SlowDown
 * included), 429, and 400 RequestTimeout (S3 gave up waiting for a slow body), as the AWS SDKs retry them. Never
 * retried: every other 4xx, since the same request gets the same answer; each gets a message saying what to do.
 * Backoff is exponential with "equal jitter" (half fixed, half random) so a fleet of nodes told to slow down does not
 * come back in step, and a delay never collapses to zero.
 */
import { ConnectionError, type HttpAnswer } from './http.ts';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 500, maxDelayMs: 20_000 };

export interface S3ErrorDocument {
  code?: string;
  message?: string;
  /** Other elements of `<Error>` (Expires, ServerTime, HeadersNotSigned, MaxSizeAllowed, ...). */
  details: Record<string, string>;
}

export class UploadError extends Error {
  readonly code = 'ENDIAG_UPLOAD';
  readonly attempts: number;
  readonly status: number | undefined;
  readonly s3Code: string | undefined;
  constructor(message: string, attempts: number, status?: number, s3Code?: string) {
    super(message);
    this.attempts = attempts;
    this.status = status;
    this.s3Code = s3Code;
  }
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeXmlText(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity[0] === '#') {
      const point = entity[1]?.toLowerCase() === 'x' ? Number.parseInt(entity.slice(2), 16) : Number(entity.slice(1));
      return Number.isFinite(point) && point <= 0x10ffff ? String.fromCodePoint(point) : whole;
    }
    return ENTITIES[entity.toLowerCase()] ?? whole;
  });
}

/** The leaf elements of a small XML document (S3's error and POST response documents are flat), text decoded. */
export function xmlLeaves(xml: string): Record<string, string> {
  const leaves: Record<string, string> = {};
  for (const match of xml.matchAll(/<([A-Za-z][\w.-]*)>([^<]*)<\/\1>/g)) {
    const [, name, value] = match as unknown as [string, string, string];
    leaves[name] = decodeXmlText(value);
  }
  return leaves;
}

/** Reads S3's `<Error><Code>..</Code><Message>..</Message>...</Error>`; anything else yields no code. */
export function parseS3Error(body: string): S3ErrorDocument {
  const error = /<Error>([\s\S]*)<\/Error>/.exec(body)?.[1];
  if (error === undefined) return { details: {} };
  const { Code: code, Message: message, ...details } = xmlLeaves(error);
  return { ...(code ? { code } : {}), ...(message ? { message } : {}), details };
}

/** Answers worth another attempt. */
export function retryableAnswer(status: number, s3Code: string | undefined): boolean {
  if (status === 429 || status === 500 || status === 502 || status === 503 || status === 504) return true;
  return status === 400 && s3Code === 'RequestTimeout';
}

/** Connection failures that another attempt will not cure: a name that does not resolve, certificates, local files. */
const PERMANENT_CONNECTION_CODES =
  /^(ENOTFOUND|ENOENT|EACCES|EISDIR|ERR_INVALID_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/;

export function retryableConnectionError(error: ConnectionError): boolean {
  return !PERMANENT_CONNECTION_CODES.test(error.code ?? '');
}

/** What a refused upload means and what to do about it, from S3's status and error document. */
export function explainRefusal(
  answer: HttpAnswer,
  error: S3ErrorDocument,
  what: { method: string; bytes: number },
): string {
  const code = error.code ?? `HTTP ${answer.status}`;
  const said = `${answer.status} ${code}${error.message ? `: ${error.message}` : ''}`;
  const d = error.details;
  if (error.code === 'SignatureDoesNotMatch')
    return (
      `S3 rejected the signature of the upload (${said}). The URL or form was changed after it was presigned (pass ` +
      `the URL whole and quoted: it contains '&'), or it was presigned for another method, bucket, key or region, or ` +
      `by other credentials. Ask for a new presigned ${what.method}.`
    );
  if (error.code === 'AccessDenied' && /request has expired/i.test(error.message ?? ''))
    return (
      `the presigned URL has expired (${said}${d.Expires ? `; it expired at ${d.Expires}` : ''}` +
      `${d.ServerTime ? `, S3's clock says ${d.ServerTime}` : ''}). Ask for a new one that lives longer than the ` +
      'collection (--deadline) plus the upload.'
    );
  if (error.code === 'AccessDenied' && /policy expired/i.test(error.message ?? ''))
    return `the presigned POST policy has expired (${said}). Ask for a new upload form.`;
  if (error.code === 'AccessDenied' && /invalid according to policy/i.test(error.message ?? ''))
    return `S3 refused the upload form under its POST policy (${said}). The form's fields must satisfy every condition of the policy (for example the key prefix).`;
  if (error.code === 'AccessDenied' && d.HeadersNotSigned)
    return `S3 refused headers the URL did not sign (${said}; ${d.HeadersNotSigned}).`;
  if (
    error.code === 'InvalidAccessKeyId' ||
    error.code === 'InvalidToken' ||
    error.code === 'ExpiredToken' ||
    error.code === 'TokenRefreshRequired'
  )
    return (
      `the credentials that presigned the upload are not valid (${said}). A URL presigned with temporary ` +
      'credentials stops working when they expire: presign with current credentials.'
    );
  if (answer.status === 403)
    return (
      `S3 denied the upload (${said}). The credentials that presigned it may lack s3:PutObject on this key, or a ` +
      'bucket policy denies it (for example one that requires encryption headers).'
    );
  if (error.code === 'BadDigest')
    return (
      `S3 found that a checksum signed into the upload does not match the bundle (${said}). Presign without a ` +
      "checksum (AWS SDK for JavaScript v3: requestChecksumCalculation: 'WHEN_REQUIRED')."
    );
  if (error.code === 'EntityTooLarge')
    return (
      `the bundle (${what.bytes} bytes) is larger than the upload allows (${said}${d.MaxSizeAllowed ? `; at most ${d.MaxSizeAllowed} bytes` : ''}). ` +
      "Raise the POST policy's content-length-range, or lower --max-bytes."
    );
  if (error.code === 'NoSuchBucket')
    return `the bucket does not exist (${said}${d.BucketName ? `: ${d.BucketName}` : ''}).`;
  return `S3 refused the upload (${said}).`;
}

export interface AttemptFailure {
  retryable: boolean;
  /** One line for progress and for the final error. */
  reason: string;
  status?: number;
  s3Code?: string;
}

/** Equal jitter: half of the exponential step fixed, half random. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export type AttemptOutcome<T> = { done: T } | { failed: AttemptFailure };

/**
 * Runs `attempt` until it succeeds, fails for good, or the attempts run out. Connection errors that `attempt` throws
 * are classified here; anything else it throws ends the upload as it is.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  attempt: (number: number) => Promise<AttemptOutcome<T>>,
  progress: (line: string) => void,
  signal?: AbortSignal,
): Promise<{ result: T; attempts: number }> {
  let last: AttemptFailure = { retryable: true, reason: 'no attempt made' };
  for (let number = 1; number <= policy.attempts; number++) {
    if (signal?.aborted) throw new UploadError(`upload stopped (${String(signal.reason)})`, number - 1);
    let outcome: AttemptFailure;
    try {
      const result = await attempt(number);
      if ('done' in result) return { result: result.done, attempts: number };
      outcome = result.failed;
    } catch (error) {
      if (signal?.aborted) throw new UploadError(`upload stopped (${String(signal.reason)})`, number);
      if (!(error instanceof ConnectionError)) throw error;
      outcome = {
        retryable: retryableConnectionError(error),
        reason: `connection failed: ${error.message}${error.code && !error.message.includes(error.code) ? ` (${error.code})` : ''}`,
      };
    }
    last = outcome;
    if (!outcome.retryable) throw new UploadError(outcome.reason, number, outcome.status, outcome.s3Code);
    if (number < policy.attempts) {
      const delay = backoffDelay(number, policy);
      progress(
        `upload attempt ${number}/${policy.attempts} failed: ${outcome.reason}; retrying in ${(delay / 1000).toFixed(1)}s`,
      );
      try {
        await sleep(delay, signal);
      } catch {
        throw new UploadError(`upload stopped (${String(signal?.reason)})`, number);
      }
    }
  }
  throw new UploadError(
    `upload failed after ${policy.attempts} attempts; the last one: ${last.reason}`,
    policy.attempts,
    last.status,
    last.s3Code,
  );
}

/** Turns a non-2xx answer into an AttemptFailure. */
export function failureOf(answer: HttpAnswer, what: { method: string; bytes: number }): AttemptFailure {
  const error = parseS3Error(answer.body);
  if (retryableAnswer(answer.status, error.code))
    return {
      retryable: true,
      reason: `${answer.status} ${error.code ?? 'HTTP error'}${error.message ? `: ${error.message}` : ''}`,
      status: answer.status,
      ...(error.code ? { s3Code: error.code } : {}),
    };
  return {
    retryable: false,
    reason: explainRefusal(answer, error, what),
    status: answer.status,
    ...(error.code ? { s3Code: error.code } : {}),
  };
}
