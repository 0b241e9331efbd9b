/**
 * Upload by presigned PUT URL.
 *
 * Why the bundle is spooled to a private file first instead of streamed straight into the request: S3's PUT Object
 * needs the length before the body. A plain `Transfer-Encoding: chunked` PUT is answered 501 NotImplemented
 * ("A header you provided implies functionality that is not implemented", Header Transfer-Encoding), and a PUT with
 * neither length nor chunking 411 MissingContentLength. The SDKs stream unknown lengths with `aws-chunked` encoding,
 * which needs `x-amz-decoded-content-length` (still the total length) and `Content-Encoding: aws-chunked` headers,
 * and S3 refuses `x-amz-*` headers a presigned URL did not sign (403 "There were headers present in the request which
 * were not signed"); a presigner cannot sign a length nobody knows yet. Multipart upload would stream in 5 MiB parts,
 * but needs a presigned URL per part plus create/complete calls: more than a node should be handed. A POST form
 * (post.ts) does not escape this either: whether S3 takes a chunked POST is undocumented, so it gets a length too.
 *
 * So the compressed bundle (small: tens of MB at most, and bounded by --max-bytes) is written to a 0600 file in a
 * private directory under /var/tmp after the free-disk check, and uploaded from disk with an exact Content-Length,
 * in 64 KiB reads: memory stays bounded whatever the bundle's size. The file is deleted after the upload, whether it
 * succeeded or not (collect.ts).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type HttpAnswer, send } from './http.ts';
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  READ_CHUNK_BYTES,
  retryPolicy,
  type UploadOptions,
  type UploadResult,
} from './options.ts';
import { failureOf, UploadError, withRetries } from './retry.ts';
import { s3Location, uploadUrlProblem } from './target.ts';

export async function putBundle(file: string, url: URL, options: UploadOptions = {}): Promise<UploadResult> {
  const problem = uploadUrlProblem(url, options.allowHttpLoopback === true);
  if (problem) throw new UploadError(`upload URL ${url.origin}: ${problem}`, 0);
  const { size } = await stat(file);
  const where = s3Location(url);
  const progress = options.progress ?? (() => {});
  const policy = retryPolicy(options);
  progress(`uploading ${size} bytes to ${where.location} (PUT)`);
  const { result, attempts } = await withRetries<HttpAnswer>(
    policy,
    async () => {
      const answer = await send({
        url,
        method: 'PUT',
        // Content-Type is sent unsigned (S3 allows that for non-x-amz headers) or matches a signed application/gzip.
        headers: { 'content-length': size, 'content-type': 'application/gzip' },
        body: () => createReadStream(file, { highWaterMark: READ_CHUNK_BYTES }),
        idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (answer.status >= 200 && answer.status < 300) return { done: answer };
      return { failed: failureOf(answer, { method: 'PUT URL', bytes: size }) };
    },
    progress,
    options.signal,
  );
  const etag = result.headers.etag;
  return {
    method: 'PUT',
    location: where.location,
    ...(where.bucket ? { bucket: where.bucket } : {}),
    ...(where.key ? { key: where.key } : {}),
    ...(typeof etag === 'string' ? { etag } : {}),
    bytes: size,
    attempts,
  };
}
