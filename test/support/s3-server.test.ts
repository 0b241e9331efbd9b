/**
 * The local S3 server against the real AWS SDK v3: what the SDK signs must verify, and what S3 would refuse must be
 * refused here with S3's codes, or tests built on this server would pass against something S3 rejects.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CREDENTIALS, DROP_MID_BODY, S3Server, SLOW_DOWN } from './s3-server.ts';

let server: S3Server;
// biome-ignore lint/suspicious/noTemplateCurlyInString: S3's literal placeholder for the uploaded file's name
const FILENAME = '${filename}';

function client(
  options: { region?: string; checksums?: 'WHEN_REQUIRED'; credentials?: typeof DEFAULT_CREDENTIALS } = {},
) {
  return new S3Client({
    region: options.region ?? 'us-east-1',
    endpoint: server.url,
    forcePathStyle: true,
    credentials: options.credentials ?? DEFAULT_CREDENTIALS,
    maxAttempts: 1,
    ...(options.checksums ? { requestChecksumCalculation: options.checksums } : {}),
  });
}

async function put(url: string, body: string | Buffer, headers: Record<string, string> = {}) {
  const payload = typeof body === 'string' ? body : new Uint8Array(body);
  const response = await fetch(url, { method: 'PUT', body: payload, headers });
  return { status: response.status, text: await response.text() };
}

function code(xml: string): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(xml)?.[1];
}

async function postForm(url: string, fields: Record<string, string>, file: Buffer, filename = 'bundle.tar.gz') {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([new Uint8Array(file)]), filename);
  const response = await fetch(url, { method: 'POST', body: form });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

beforeAll(async () => {
  server = await S3Server.start({ buckets: ['diag'] });
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  expect(server.pendingFaults).toBe(0);
});

describe('presigned PUT and GET', () => {
  it('stores a PUT to a URL presigned by the SDK and serves it back through presigned GET and the SDK', async () => {
    const s3 = client({ checksums: 'WHEN_REQUIRED' });
    const key = 'nodes/i-0abc/bundle one+two.tar.gz';
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'diag', Key: key }), { expiresIn: 300 });
    expect(url).toMatch(/X-Amz-Signature=/);
    expect(await put(url, 'bundle bytes')).toEqual({ status: 200, text: '' });
    expect(server.object('diag', key)?.body.toString()).toBe('bundle bytes');
    expect(server.object('diag', key)?.via).toBe('put');

    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'diag', Key: key }), { expiresIn: 60 });
    expect(await (await fetch(getUrl)).text()).toBe('bundle bytes');
    const got = await s3.send(new GetObjectCommand({ Bucket: 'diag', Key: key }));
    expect(await got.Body?.transformToString()).toBe('bundle bytes');
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'diag', Key: key }));
    expect(head.ContentLength).toBe(12);
    expect(head.ETag).toBe(`"${createHash('md5').update('bundle bytes').digest('hex')}"`);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'diag', Prefix: 'nodes/' }));
    expect(listed.Contents?.map((o) => o.Key)).toContain(key);
  });

  it('verifies SDK header-signed PutObject, with a buffer and with an aws-chunked stream and CRC32 trailer', async () => {
    const s3 = client();
    await s3.send(new PutObjectCommand({ Bucket: 'diag', Key: 'sdk/buffer', Body: Buffer.from('from a buffer') }));
    expect(server.object('diag', 'sdk/buffer')?.body.toString()).toBe('from a buffer');
    const big = Buffer.alloc(100_000, 'x');
    await s3.send(
      new PutObjectCommand({
        Bucket: 'diag',
        Key: 'sdk/stream',
        Body: Readable.from([big]),
        ContentLength: big.length,
      }),
    );
    expect(server.object('diag', 'sdk/stream')?.body.equals(big)).toBe(true);
    expect(server.requests.at(-1)?.auth).toBe('header');
  });

  it('answers BadDigest to a URL from a default-configured client, which signs the CRC32 of an empty body', async () => {
    const url = await getSignedUrl(client(), new PutObjectCommand({ Bucket: 'diag', Key: 'crc' }), { expiresIn: 60 });
    expect(url).toMatch(/x-amz-checksum-crc32=AAAAAA%3D%3D/);
    const result = await put(url, 'not empty');
    expect(result.status).toBe(400);
    expect(code(result.text)).toBe('BadDigest');
    expect(server.object('diag', 'crc')).toBeUndefined();
    // The same URL does accept the empty body it was signed for.
    expect((await put(url, '')).status).toBe(200);
  });

  it('refuses a tampered URL, a foreign key, an expired URL and unsigned x-amz headers', async () => {
    const s3 = client({ checksums: 'WHEN_REQUIRED' });
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'diag', Key: 'a' }), { expiresIn: 60 });

    const otherKey = url.replace('/diag/a?', '/diag/b?');
    const tampered = await put(otherKey, 'x');
    expect(tampered.status).toBe(403);
    expect(code(tampered.text)).toBe('SignatureDoesNotMatch');
    expect(tampered.text).toMatch(/<CanonicalRequest>PUT\n\/diag\/b\n/);

    const wrongSecret = client({
      checksums: 'WHEN_REQUIRED',
      credentials: { ...DEFAULT_CREDENTIALS, secretAccessKey: 'not-the-secret' },
    });
    const forged = await getSignedUrl(wrongSecret, new PutObjectCommand({ Bucket: 'diag', Key: 'a' }));
    expect(code((await put(forged, 'x')).text)).toBe('SignatureDoesNotMatch');

    const stranger = client({
      checksums: 'WHEN_REQUIRED',
      credentials: { accessKeyId: 'AKIANOBODY', secretAccessKey: 's' },
    });
    const unknown = await put(await getSignedUrl(stranger, new PutObjectCommand({ Bucket: 'diag', Key: 'a' })), 'x');
    expect([unknown.status, code(unknown.text)]).toEqual([403, 'InvalidAccessKeyId']);

    const expiredUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'diag', Key: 'a' }), {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 3600_000),
    });
    const expired = await put(expiredUrl, 'x');
    expect([expired.status, code(expired.text)]).toEqual([403, 'AccessDenied']);
    expect(expired.text).toMatch(/<Message>Request has expired<\/Message>.*<Expires>/s);

    const unsigned = await put(url, 'x', { 'x-amz-acl': 'public-read' });
    expect(unsigned.status).toBe(403);
    expect(unsigned.text).toMatch(/<HeadersNotSigned>x-amz-acl<\/HeadersNotSigned>/);

    const otherRegion = client({ region: 'eu-west-1', checksums: 'WHEN_REQUIRED' });
    const regional = await put(
      await getSignedUrl(otherRegion, new PutObjectCommand({ Bucket: 'diag', Key: 'a' })),
      'x',
    );
    expect([regional.status, code(regional.text)]).toEqual([400, 'AuthorizationQueryParametersError']);
    expect(regional.text).toMatch(/the region 'eu-west-1' is wrong; expecting 'us-east-1'/);

    const bare = await put(`${server.url}/diag/a`, 'x');
    expect([bare.status, code(bare.text)]).toEqual([403, 'AccessDenied']);
    const partial = await put(`${server.url}/diag/a?X-Amz-Algorithm=AWS4-HMAC-SHA256`, 'x');
    expect([partial.status, code(partial.text)]).toEqual([400, 'AuthorizationQueryParametersError']);
    expect(server.object('diag', 'a')).toBeUndefined();
  });

  it('refuses an expired URL before 100 Continue, so the client never sends the body', async () => {
    const s3 = client({ checksums: 'WHEN_REQUIRED' });
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'diag', Key: 'never-sent' }), {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 3600_000),
    });
    const answer = await new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = httpRequest(url, { method: 'PUT', headers: { expect: '100-continue', 'content-length': 5 } });
      req.on('continue', () => {
        continued = true;
        req.end('hello');
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, continued });
        });
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(answer).toEqual({ status: 403, continued: false });
  });

  it('needs a Content-Length on PUT: plain chunked transfer is NotImplemented, as on S3', async () => {
    const s3 = client({ checksums: 'WHEN_REQUIRED' });
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'diag', Key: 'chunked' }), { expiresIn: 60 });
    const response = await fetch(url, {
      method: 'PUT',
      body: Readable.toWeb(Readable.from([Buffer.from('streamed')])) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    const text = await response.text();
    expect(response.status).toBe(501);
    expect(code(text)).toBe('NotImplemented');
    expect(text).toMatch(/<Header>Transfer-Encoding<\/Header>/);
  });

  it('answers NoSuchKey and NoSuchBucket with S3 error XML', async () => {
    const s3 = client({ checksums: 'WHEN_REQUIRED' });
    const missing = await fetch(await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'diag', Key: 'nope' })));
    expect([missing.status, code(await missing.text())]).toEqual([404, 'NoSuchKey']);
    const noBucket = await put(await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'other', Key: 'k' })), 'x');
    expect([noBucket.status, code(noBucket.text)]).toEqual([404, 'NoSuchBucket']);
  });
});

describe('POST Object with a presigned POST policy', () => {
  async function presignedPost(options: { expires?: number; maxBytes?: number; fields?: Record<string, string> } = {}) {
    return createPresignedPost(client(), {
      Bucket: 'diag',
      Key: `fleet/run-1/${FILENAME}`,
      Conditions: [['content-length-range', 1, options.maxBytes ?? 1024 * 1024]],
      Fields: options.fields ?? {},
      Expires: options.expires ?? 300,
    });
  }

  it('stores the file under the policy prefix with the file name substituted, and answers 204 with Location', async () => {
    const { url, fields } = await presignedPost({ fields: { 'x-amz-meta-node': 'i-0abc' } });
    const result = await postForm(url, fields, Buffer.from('tarball'), 'eks_i-0abc.tar.gz');
    expect(result.status).toBe(204);
    expect(result.headers.get('location')).toBe(`${server.url}/diag/fleet/run-1/eks_i-0abc.tar.gz`);
    expect(result.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
    const stored = server.object('diag', 'fleet/run-1/eks_i-0abc.tar.gz');
    expect(stored?.body.toString()).toBe('tarball');
    expect(stored?.metadata).toEqual({ node: 'i-0abc' });
    expect(stored?.via).toBe('post');
  });

  it('answers 201 with a PostResponse document when success_action_status is 201', async () => {
    const { url, fields } = await createPresignedPost(client(), {
      Bucket: 'diag',
      Key: `fleet/run-2/${FILENAME}`,
      Conditions: [{ success_action_status: '201' }],
      Fields: { success_action_status: '201' },
    });
    const result = await postForm(url, fields, Buffer.from('x'), 'b.tgz');
    expect(result.status).toBe(201);
    expect(result.text).toMatch(/<Key>fleet\/run-2\/b\.tgz<\/Key>/);
  });

  it('enforces the key prefix, the size range, the expiry, field coverage and the signature', async () => {
    const { url, fields } = await presignedPost({ maxBytes: 10 });
    const outside = await postForm(url, { ...fields, key: `elsewhere/${FILENAME}` }, Buffer.from('x'));
    expect(outside.status).toBe(403);
    expect(outside.text).toMatch(
      /Invalid according to Policy: Policy Condition failed: \["starts-with","\$key","fleet\/run-1\/"\]/,
    );

    const large = await postForm(url, fields, Buffer.alloc(11));
    expect([large.status, code(large.text)]).toEqual([400, 'EntityTooLarge']);
    const empty = await postForm(url, fields, Buffer.alloc(0));
    expect([empty.status, code(empty.text)]).toEqual([400, 'EntityTooSmall']);

    const extra = await postForm(url, { ...fields, 'x-amz-meta-sneaky': '1' }, Buffer.from('x'));
    expect(extra.status).toBe(403);
    expect(extra.text).toMatch(/Extra input fields: x-amz-meta-sneaky/);

    const forged = await postForm(url, { ...fields, 'X-Amz-Signature': '0'.repeat(64) }, Buffer.from('x'));
    expect([forged.status, code(forged.text)]).toEqual([403, 'SignatureDoesNotMatch']);

    const expiredServer = await S3Server.start({ buckets: ['diag'], now: () => Date.now() + 3600_000 });
    try {
      const late = await postForm(url.replace(server.url, expiredServer.url), fields, Buffer.from('x'));
      expect(late.status).toBe(403);
      expect(late.text).toMatch(/Policy expired/);
    } finally {
      await expiredServer.close();
    }
    expect(server.objects('diag').filter((o) => o.key.startsWith('elsewhere'))).toEqual([]);
  });

  it('rejects malformed forms: no file, no key, a body that is not multipart', async () => {
    const { url, fields } = await presignedPost();
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    const noFile = await fetch(url, { method: 'POST', body: form });
    expect([noFile.status, code(await noFile.text())]).toEqual([400, 'InvalidArgument']);

    const { key: _key, ...withoutKey } = fields;
    const noKey = await postForm(url, withoutKey, Buffer.from('x'));
    expect([noKey.status, code(noKey.text)]).toEqual([400, 'InvalidArgument']);

    const garbage = await fetch(url, {
      method: 'POST',
      body: 'this is not multipart',
      headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
    });
    expect([garbage.status, code(await garbage.text())]).toEqual([400, 'MalformedPOSTRequest']);
  });
});

describe('fault injection', () => {
  it('answers the next requests with SlowDown, then serves normally, and records each', async () => {
    const s3 = client({ checksums: 'WHEN_REQUIRED' });
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'diag', Key: 'slow' }), { expiresIn: 60 });
    server.failNext(2, SLOW_DOWN, 'PUT');
    const before = server.requests.length;
    const first = await put(url, 'x');
    expect([first.status, code(first.text)]).toEqual([503, 'SlowDown']);
    expect((await put(url, 'x')).status).toBe(503);
    expect((await put(url, 'x')).status).toBe(200);
    expect(server.requests.slice(before).map((r) => [r.status, r.fault ?? null])).toEqual([
      [503, 'error'],
      [503, 'error'],
      [200, null],
    ]);
  });

  it('drops the connection in the middle of the request body', async () => {
    const s3 = client({ checksums: 'WHEN_REQUIRED' });
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'diag', Key: 'dropped' }), { expiresIn: 60 });
    server.failNext(1, DROP_MID_BODY);
    await expect(put(url, Buffer.alloc(256 * 1024, 'y'))).rejects.toThrow();
    expect(server.object('diag', 'dropped')).toBeUndefined();
    expect(server.requests.at(-1)?.fault).toBe('drop');
  });
});
