/**
 * Presigned PUT uploads made by the real AWS SDK v3, against the local S3 protocol server (SigV4-verifying, with
 * injected faults). Nothing leaves 127.0.0.1.
 */
import { createHash } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CREDENTIALS,
  DROP_MID_BODY,
  INTERNAL_ERROR,
  type S3Server,
  SLOW_DOWN,
} from '../../test/support/s3-server.ts';
import { putBundle } from './put.ts';
import { backoffDelay, parseS3Error, UploadError } from './retry.ts';
import { inspectPresignedPut, s3Location, uploadUrlProblem } from './target.ts';
import { fast, useUploadTestBed } from './test-bed.ts';

let server: S3Server;
let bundle: string;
let bundleBytes: Buffer;

function presigner(checksums: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED' = 'WHEN_REQUIRED') {
  return new S3Client({
    region: server.region,
    endpoint: server.url,
    forcePathStyle: true,
    credentials: DEFAULT_CREDENTIALS,
    requestChecksumCalculation: checksums,
  });
}

async function presignPut(key: string, options: { expiresIn?: number; signingDate?: Date } = {}): Promise<URL> {
  return new URL(
    await getSignedUrl(presigner(), new PutObjectCommand({ Bucket: 'bundles', Key: key }), {
      expiresIn: options.expiresIn ?? 600,
      ...(options.signingDate ? { signingDate: options.signingDate } : {}),
    }),
  );
}

useUploadTestBed(
  {
    server: { buckets: ['bundles'] },
    dirPrefix: 'upload-put-',
    bundleName: 'bundle.tar.gz',
    // Larger than one read chunk and than socket buffers, so a drop mid-body really is mid-body.
    bundleBytes: Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251)),
  },
  (bed) => ({ server, bundle, bundleBytes } = bed),
);

describe('putBundle', () => {
  it('uploads the file to a URL presigned by the SDK and reports key, ETag and attempts', async () => {
    const lines: string[] = [];
    const result = await putBundle(bundle, await presignPut('nodes/i-0abc/bundle.tar.gz'), {
      ...fast,
      progress: (line) => lines.push(line),
    });
    const md5 = createHash('md5').update(bundleBytes).digest('hex');
    expect(result).toEqual({
      method: 'PUT',
      location: 's3://bundles/nodes/i-0abc/bundle.tar.gz',
      bucket: 'bundles',
      key: 'nodes/i-0abc/bundle.tar.gz',
      etag: `"${md5}"`,
      bytes: bundleBytes.length,
      attempts: 1,
    });
    const stored = server.object('bundles', 'nodes/i-0abc/bundle.tar.gz');
    expect(stored?.body.equals(bundleBytes)).toBe(true);
    expect(stored?.contentType).toBe('application/gzip');
    expect(lines).toEqual([`uploading ${bundleBytes.length} bytes to s3://bundles/nodes/i-0abc/bundle.tar.gz (PUT)`]);
  });

  it('retries 503 SlowDown and 500 InternalError with backoff, then succeeds', async () => {
    server.failNext(2, SLOW_DOWN, 'PUT');
    server.failNext(1, INTERNAL_ERROR, 'PUT');
    const lines: string[] = [];
    const result = await putBundle(bundle, await presignPut('retry/5xx'), { ...fast, progress: (l) => lines.push(l) });
    expect(result.attempts).toBe(4);
    expect(server.object('bundles', 'retry/5xx')?.body.equals(bundleBytes)).toBe(true);
    expect(lines.filter((line) => line.startsWith('upload attempt'))).toEqual([
      expect.stringMatching(
        /^upload attempt 1\/5 failed: 503 SlowDown: Please reduce your request rate\.; retrying in /,
      ),
      expect.stringMatching(/^upload attempt 2\/5 failed: 503 SlowDown/),
      expect.stringMatching(/^upload attempt 3\/5 failed: 500 InternalError/),
    ]);
  });

  it('retries a connection dropped in the middle of the body', async () => {
    server.failNext(2, DROP_MID_BODY, 'PUT');
    const result = await putBundle(bundle, await presignPut('retry/drop'), fast);
    expect(result.attempts).toBe(3);
    expect(server.object('bundles', 'retry/drop')?.body.equals(bundleBytes)).toBe(true);
    expect(server.requests.filter((r) => r.key === 'retry/drop').map((r) => r.fault ?? r.status)).toEqual([
      'drop',
      'drop',
      200,
    ]);
  });

  it('waits for 100 Continue, so a refusal before the body is read as S3 said it, not as a broken pipe', async () => {
    server.failNext(1, { ...SLOW_DOWN, early: true }, 'PUT');
    const lines: string[] = [];
    const result = await putBundle(bundle, await presignPut('retry/early'), {
      ...fast,
      progress: (l) => lines.push(l),
    });
    expect(result.attempts).toBe(2);
    expect(lines[1]).toMatch(/^upload attempt 1\/5 failed: 503 SlowDown: Please reduce your request rate\./);
  });

  it('sends the body after a second when the server never answers Expect: 100-continue', async () => {
    let received = 0;
    const deaf = createHttpServer();
    deaf.on('checkContinue', (req, res) => {
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
      });
      req.on('end', () => res.writeHead(200, { ETag: '"deaf"' }).end());
    });
    await new Promise<void>((resolve) => deaf.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = deaf.address() as { port: number };
      const started = Date.now();
      const result = await putBundle(bundle, new URL(`http://127.0.0.1:${port}/b/k`), fast);
      expect(result).toMatchObject({ etag: '"deaf"', attempts: 1 });
      expect(received).toBe(bundleBytes.length);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    } finally {
      deaf.closeAllConnections();
      await new Promise((resolve) => deaf.close(resolve));
    }
  });

  it('gives up after the last attempt, naming the last failure', async () => {
    server.failNext(3, SLOW_DOWN, 'PUT');
    const upload = putBundle(bundle, await presignPut('retry/never'), {
      ...fast,
      retry: { ...fast.retry, attempts: 3 },
    });
    await expect(upload).rejects.toThrow(/upload failed after 3 attempts; the last one: 503 SlowDown/);
    await expect(upload).rejects.toMatchObject({ code: 'ENDIAG_UPLOAD', attempts: 3, status: 503, s3Code: 'SlowDown' });
    expect(server.object('bundles', 'retry/never')).toBeUndefined();
  });

  it('retries a refused connection, then gives up with the network error', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const url = new URL((await presignPut('nowhere')).href.replace(/:\d+\//, `:${port}/`));
    const upload = putBundle(bundle, url, { ...fast, retry: { ...fast.retry, attempts: 2 } });
    await expect(upload).rejects.toThrow(/after 2 attempts; the last one: connection failed: .*ECONNREFUSED/);
  });

  it('does not retry a 403 SignatureDoesNotMatch and says what went wrong', async () => {
    const url = await presignPut('signed/key');
    url.pathname = '/bundles/signed/other-key';
    const before = server.requests.length;
    const upload = putBundle(bundle, url, fast);
    await expect(upload).rejects.toThrow(
      /S3 rejected the signature of the upload \(403 SignatureDoesNotMatch: The request signature we calculated does not match/,
    );
    await expect(upload).rejects.toMatchObject({ attempts: 1, status: 403, s3Code: 'SignatureDoesNotMatch' });
    expect(server.requests.length - before).toBe(1);
  });

  it('reports an expired URL with its expiry time, without retrying', async () => {
    const signingDate = new Date(Date.now() - 2 * 3600_000);
    const url = await presignPut('late', { expiresIn: 3600, signingDate });
    const expiry = new Date(signingDate.getTime() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const upload = putBundle(bundle, url, fast);
    await expect(upload).rejects.toThrow(
      new RegExp(`the presigned URL has expired \\(403 AccessDenied: Request has expired; it expired at ${expiry}`),
    );
    await expect(upload).rejects.toMatchObject({ attempts: 1 });
  });

  it('does not retry a BadDigest from a URL that signs the CRC32 of an empty body', async () => {
    const url = new URL(
      await getSignedUrl(presigner('WHEN_SUPPORTED'), new PutObjectCommand({ Bucket: 'bundles', Key: 'crc' })),
    );
    const upload = putBundle(bundle, url, fast);
    await expect(upload).rejects.toThrow(/checksum signed into the upload does not match .*WHEN_REQUIRED/);
    await expect(upload).rejects.toMatchObject({ attempts: 1, s3Code: 'BadDigest' });
  });

  it('refuses http URLs unless allowed, and then only on loopback', async () => {
    const url = await presignPut('plain-http');
    await expect(putBundle(bundle, url, { ...fast, allowHttpLoopback: false })).rejects.toThrow(/must be https/);
    await expect(putBundle(bundle, new URL('http://198.51.100.7/bundles/k?X-Amz-Signature=x'), fast)).rejects.toThrow(
      /must be https/,
    );
    expect(server.object('bundles', 'plain-http')).toBeUndefined();
  });

  it('stops when its signal aborts, without further attempts', async () => {
    server.failNext(1, SLOW_DOWN, 'PUT');
    const controller = new AbortController();
    const upload = putBundle(bundle, await presignPut('aborted'), {
      retry: { baseDelayMs: 10_000, maxDelayMs: 10_000 },
      allowHttpLoopback: true,
      progress: (line) => {
        if (line.startsWith('upload attempt')) controller.abort('SIGTERM');
      },
      signal: controller.signal,
    });
    await expect(upload).rejects.toThrow(/upload stopped \(SIGTERM\)/);
    expect(server.object('bundles', 'aborted')).toBeUndefined();
  });
});

describe('upload targets and S3 answers', () => {
  it('applies the https rule', () => {
    expect(uploadUrlProblem(new URL('https://b.s3.amazonaws.com/k'), false)).toBeUndefined();
    expect(uploadUrlProblem(new URL('http://127.0.0.1:9000/b/k'), false)).toMatch(/must be https/);
    expect(uploadUrlProblem(new URL('http://127.0.0.1:9000/b/k'), true)).toBeUndefined();
    expect(uploadUrlProblem(new URL('http://[::1]:9000/b/k'), true)).toBeUndefined();
    expect(uploadUrlProblem(new URL('http://localhost/b/k'), true)).toBeUndefined();
    expect(uploadUrlProblem(new URL('http://10.0.0.5/b/k'), true)).toMatch(/only on loopback/);
    expect(uploadUrlProblem(new URL('ftp://127.0.0.1/b/k'), true)).toMatch(/must be https/);
  });

  it('finds bucket and key in path-style and virtual-hosted URLs', () => {
    expect(s3Location(new URL('https://my.bucket.s3.eu-west-1.amazonaws.com/a/b%20c.tgz?X-Amz-Signature=1'))).toEqual({
      bucket: 'my.bucket',
      key: 'a/b c.tgz',
      location: 's3://my.bucket/a/b c.tgz',
    });
    expect(s3Location(new URL('https://s3.us-east-1.amazonaws.com/bkt/k'))).toMatchObject({ bucket: 'bkt', key: 'k' });
    expect(s3Location(new URL('https://bkt.s3-accelerate.amazonaws.com/k'))).toMatchObject({ bucket: 'bkt', key: 'k' });
    expect(s3Location(new URL('http://127.0.0.1:9/bkt/deep/k%2Bv'))).toMatchObject({ bucket: 'bkt', key: 'deep/k+v' });
    expect(s3Location(new URL('https://example.com/'))).toEqual({ location: 'https://example.com/' });
  });

  it('flags presigned URLs S3 would refuse, before anything is collected', async () => {
    const now = Date.parse('2026-11-20T12:00:00Z');
    const base = 'https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=host';
    expect(inspectPresignedPut(new URL(`${base}&X-Amz-Date=20261120T110000Z&X-Amz-Expires=7200`), now)).toEqual({
      problems: [],
      expiresAt: new Date('2026-11-20T13:00:00Z'),
    });
    expect(inspectPresignedPut(new URL(`${base}&X-Amz-Date=20261120T110000Z&X-Amz-Expires=600`), now).problems).toEqual(
      ['the presigned URL expired at 2026-11-20T11:10:00.000Z: ask for a new one'],
    );
    const defaultClient = await getSignedUrl(
      presigner('WHEN_SUPPORTED'),
      new PutObjectCommand({ Bucket: 'bundles', Key: 'k' }),
    );
    expect(inspectPresignedPut(new URL(defaultClient)).problems).toEqual([
      expect.stringMatching(/signs x-amz-checksum-crc32=AAAAAA== \(the CRC32 of an empty body\).*WHEN_REQUIRED/),
    ]);
    expect(
      inspectPresignedPut(new URL('https://b.s3.amazonaws.com/k?X-Amz-SignedHeaders=content-md5%3Bhost')).problems,
    ).toEqual([expect.stringMatching(/signs headers the agent cannot send \(content-md5\)/)]);
  });

  it('reads S3 error documents, entities decoded, and nothing from other bodies', () => {
    expect(
      parseS3Error(
        '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Invalid &amp; &quot;odd&quot; &#x41;</Message>' +
          '<Expires>2026-11-20T11:10:00Z</Expires></Error>',
      ),
    ).toEqual({ code: 'AccessDenied', message: 'Invalid & "odd" A', details: { Expires: '2026-11-20T11:10:00Z' } });
    expect(parseS3Error('<html>502 Bad Gateway</html>')).toEqual({ details: {} });
    expect(parseS3Error('')).toEqual({ details: {} });
    expect(parseS3Error('<Error><Code>Trunc')).toEqual({ details: {} });
  });

  it('backs off exponentially with jitter, within the cap', () => {
    const policy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(1, policy, () => 0)).toBe(50);
    expect(backoffDelay(1, policy, () => 1)).toBe(100);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(300);
    expect(backoffDelay(10, policy, () => 1)).toBe(1000);
  });

  it('UploadError carries a stable code for the CLI', () => {
    expect(new UploadError('x', 2)).toMatchObject({ code: 'ENDIAG_UPLOAD', attempts: 2 });
  });
});
