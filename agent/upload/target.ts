/**
 * Where an upload goes, checked before anything is collected: the https rule, and the mistakes in a presigned URL or
 * POST form that S3 would only report after a five-minute collection (expired, a checksum of some other body signed
 * into the URL, headers signed that the agent cannot reproduce).
 */

export type UploadTarget =
  | { method: 'PUT'; url: URL; expiresAt?: Date }
  | { method: 'POST'; url: URL; fields: Record<string, string>; expiresAt?: Date };

export interface S3Location {
  bucket?: string;
  key?: string;
  /** `s3://bucket/key` when both are known, else the URL without its query. */
  location: string;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** S3 endpoints that carry the bucket in the host name: `<bucket>.s3.<region>.amazonaws.com`, `<bucket>.s3-accelerate...`. */
const VIRTUAL_HOSTED = /^(.+)\.s3(?:[.-][a-z0-9.-]*)?\.amazonaws\.com(?:\.cn)?$/i;

/** The https rule: presigned S3 URLs are https; http only on loopback, and only when a test says so. */
export function uploadUrlProblem(url: URL, allowHttpLoopback: boolean): string | undefined {
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && allowHttpLoopback && LOOPBACK.has(url.hostname)) return undefined;
  return 'must be https (presigned S3 URLs are); http is allowed only on loopback for tests';
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Bucket and key of an S3 object URL, path-style or virtual-hosted. */
export function s3Location(url: URL): S3Location {
  const path = url.pathname.replace(/^\//, '');
  const hosted = VIRTUAL_HOSTED.exec(url.hostname);
  let bucket: string | undefined;
  let keyPath: string;
  if (hosted) {
    bucket = hosted[1];
    keyPath = path;
  } else {
    const slash = path.indexOf('/');
    bucket = slash < 0 ? path : path.slice(0, slash);
    keyPath = slash < 0 ? '' : path.slice(slash + 1);
  }
  const key = keyPath ? keyPath.split('/').map(decodeSegment).join('/') : undefined;
  bucket = bucket ? decodeSegment(bucket) : undefined;
  const location = bucket && key ? `s3://${bucket}/${key}` : `${url.origin}${url.pathname}`;
  return { ...(bucket ? { bucket } : {}), ...(key ? { key } : {}), location };
}

function parseAmzDate(text: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  return Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
}

/** Headers the agent sends on a PUT, so a URL may sign them; any other signed header cannot be reproduced. */
const REPRODUCIBLE_HEADERS = new Set(['host', 'content-type']);

/** Problems S3 would answer a PUT to this presigned URL with, plus when the URL expires. */
export function inspectPresignedPut(url: URL, now = Date.now()): { problems: string[]; expiresAt?: Date } {
  const problems: string[] = [];
  const query = url.searchParams;
  let expiresAt: Date | undefined;
  const signedAt = parseAmzDate(query.get('X-Amz-Date') ?? '');
  const expires = Number(query.get('X-Amz-Expires') ?? Number.NaN);
  if (signedAt !== undefined && Number.isFinite(expires)) expiresAt = new Date(signedAt + expires * 1000);
  const v2Expires = Number(query.get('Expires') ?? Number.NaN);
  if (expiresAt === undefined && query.has('Signature') && Number.isFinite(v2Expires))
    expiresAt = new Date(v2Expires * 1000);
  if (expiresAt && expiresAt.getTime() < now)
    problems.push(`the presigned URL expired at ${expiresAt.toISOString()}: ask for a new one`);

  const checksums = [...query.keys()].filter((name) => name.toLowerCase().startsWith('x-amz-checksum-'));
  for (const name of checksums) {
    const value = query.get(name);
    const emptyBody = name.toLowerCase() === 'x-amz-checksum-crc32' && value === 'AAAAAA==';
    problems.push(
      `the URL signs ${name}=${value}${emptyBody ? ' (the CRC32 of an empty body)' : ''}, which no bundle will match: ` +
        'S3 would answer 400 BadDigest. Presign it with a client that adds no checksum ' +
        "(AWS SDK for JavaScript v3: new S3Client({ requestChecksumCalculation: 'WHEN_REQUIRED' }))",
    );
  }
  const signed = (query.get('X-Amz-SignedHeaders') ?? 'host').split(';').filter(Boolean);
  const foreign = signed.filter((name) => !REPRODUCIBLE_HEADERS.has(name.toLowerCase()));
  if (foreign.length > 0)
    problems.push(
      `the URL signs headers the agent cannot send (${foreign.join(', ')}): presign it with only the host header signed`,
    );
  return { problems, ...(expiresAt ? { expiresAt } : {}) };
}
