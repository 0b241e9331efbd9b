/**
 * Presigned POST form uploads, the form made by the real `@aws-sdk/s3-presigned-post` with a key-prefix policy as
 * fleet dispatch hands it out, against the local S3 protocol server. Nothing leaves 127.0.0.1.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CREDENTIALS,
  DROP_MID_BODY,
  INTERNAL_ERROR,
  S3Server,
  SLOW_DOWN,
} from '../../test/support/s3-server.ts';
import { FILENAME_PLACEHOLDER, formEnvelope, postBundle, readUploadForm } from './post.ts';
import { fast, useUploadTestBed } from './test-bed.ts';

let server: S3Server;
let dir: string;
let bundle: string;
let bundleBytes: Buffer;
const NAME = 'eks_i-0abc123_2026-11-20_0912-UTC_eks-node-diag-0.1.0.tar.gz';

async function presignedPost(
  options: { prefix?: string; maxBytes?: number; expires?: number; status?: string; sessionToken?: string } = {},
) {
  const client = new S3Client({
    region: server.region,
    endpoint: server.url,
    forcePathStyle: true,
    credentials: { ...DEFAULT_CREDENTIALS, ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}) },
  });
  const prefix = options.prefix ?? 'runs/2026-11-20T0912Z';
  return createPresignedPost(client, {
    Bucket: 'fleet',
    Key: `${prefix}/${FILENAME_PLACEHOLDER}`,
    Conditions: [
      ['content-length-range', 1, options.maxBytes ?? 50 * 1024 * 1024],
      ...(options.status ? [{ success_action_status: options.status }] : []),
    ],
    Fields: options.status ? { success_action_status: options.status } : {},
    Expires: options.expires ?? 900,
  });
}

useUploadTestBed(
  {
    server: {
      buckets: ['fleet'],
      credentials: [
        DEFAULT_CREDENTIALS,
        { accessKeyId: 'ASIATEMP', secretAccessKey: 'temp-secret', sessionToken: 'tok' },
      ],
    },
    dirPrefix: 'upload-post-',
    bundleName: 'spooled.tar.gz',
    bundleBytes: Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31) % 256)),
  },
  (bed) => ({ server, dir, bundle, bundleBytes } = bed),
);

describe('postBundle', () => {
  it('uploads under the policy prefix with the bundle name as the file name', async () => {
    const { url, fields } = await presignedPost();
    const lines: string[] = [];
    const result = await postBundle(bundle, NAME, new URL(url), fields, { ...fast, progress: (l) => lines.push(l) });
    const key = `runs/2026-11-20T0912Z/${NAME}`;
    expect(result).toMatchObject({
      method: 'POST',
      location: `s3://fleet/${key}`,
      bucket: 'fleet',
      key,
      bytes: bundleBytes.length,
      attempts: 1,
    });
    expect(result.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(server.object('fleet', key)?.body.equals(bundleBytes)).toBe(true);
    expect(server.object('fleet', key)?.via).toBe('post');
    expect(lines).toEqual([`uploading ${bundleBytes.length} bytes to s3://fleet/${key} (POST form)`]);
  });

  it('reads the key from the 201 PostResponse when the form asks for one', async () => {
    const { url, fields } = await presignedPost({ prefix: 'status201', status: '201' });
    const result = await postBundle(bundle, 'b.tar.gz', new URL(url), fields, fast);
    expect(result).toMatchObject({ key: 'status201/b.tar.gz', location: 's3://fleet/status201/b.tar.gz' });
  });

  it('signs with temporary credentials (X-Amz-Security-Token in the form)', async () => {
    const client = new S3Client({
      region: server.region,
      endpoint: server.url,
      forcePathStyle: true,
      credentials: { accessKeyId: 'ASIATEMP', secretAccessKey: 'temp-secret', sessionToken: 'tok' },
    });
    const { url, fields } = await createPresignedPost(client, { Bucket: 'fleet', Key: `sts/${FILENAME_PLACEHOLDER}` });
    expect(fields['X-Amz-Security-Token']).toBe('tok');
    expect((await postBundle(bundle, 'n.tgz', new URL(url), fields, fast)).key).toBe('sts/n.tgz');
  });

  it('retries 503, 500 and dropped connections with the same form', async () => {
    server.failNext(1, SLOW_DOWN, 'POST');
    server.failNext(1, DROP_MID_BODY, 'POST');
    server.failNext(1, INTERNAL_ERROR, 'POST');
    const { url, fields } = await presignedPost({ prefix: 'flaky' });
    const result = await postBundle(bundle, NAME, new URL(url), fields, fast);
    expect(result.attempts).toBe(4);
    expect(server.object('fleet', `flaky/${NAME}`)?.body.equals(bundleBytes)).toBe(true);
  });

  it('does not retry a policy refusal: a bundle over the size range', async () => {
    const { url, fields } = await presignedPost({ prefix: 'small', maxBytes: 1000 });
    const before = server.requests.length;
    const upload = postBundle(bundle, NAME, new URL(url), fields, fast);
    await expect(upload).rejects.toThrow(
      /the bundle \(200000 bytes\) is larger than the upload allows \(400 EntityTooLarge.*at most 1000 bytes\)/,
    );
    await expect(upload).rejects.toMatchObject({ attempts: 1, status: 400 });
    expect(server.requests.length - before).toBe(1);
  });

  it('does not retry a key outside the policy prefix or a forged signature', async () => {
    const { url, fields } = await presignedPost({ prefix: 'allowed' });
    await expect(
      postBundle(bundle, NAME, new URL(url), { ...fields, key: `elsewhere/${FILENAME_PLACEHOLDER}` }, fast),
    ).rejects.toThrow(/refused the upload form under its POST policy \(403 AccessDenied: Invalid according to Policy/);
    const forged = { ...fields, 'X-Amz-Signature': 'f'.repeat(64) };
    const upload = postBundle(bundle, NAME, new URL(url), forged, fast);
    await expect(upload).rejects.toThrow(/rejected the signature .*Ask for a new presigned POST form/);
    await expect(upload).rejects.toMatchObject({ attempts: 1, s3Code: 'SignatureDoesNotMatch' });
    expect(server.objects('fleet').filter((o) => o.key.startsWith('elsewhere'))).toEqual([]);
  });

  it('reports an expired policy without retrying', async () => {
    const late = await S3Server.start({ buckets: ['fleet'], now: () => Date.now() + 2 * 3600_000 });
    try {
      const { url, fields } = await presignedPost({ expires: 60 });
      const upload = postBundle(bundle, NAME, new URL(url.replace(server.url, late.url)), fields, fast);
      await expect(upload).rejects.toThrow(/the presigned POST policy has expired \(403 AccessDenied/);
      await expect(upload).rejects.toMatchObject({ attempts: 1 });
    } finally {
      await late.close();
    }
  });

  it('refuses http URLs off loopback', async () => {
    const { fields } = await presignedPost();
    await expect(postBundle(bundle, NAME, new URL('http://203.0.113.9/fleet'), fields, fast)).rejects.toThrow(
      /must be https/,
    );
  });
});

describe('readUploadForm', () => {
  it('takes the SDK output whole, or only its fields, inline or from a file', async () => {
    const post = await presignedPost();
    const whole = readUploadForm(JSON.stringify(post));
    expect(whole.problems).toEqual([]);
    expect(whole.form?.url).toBe(post.url);
    expect(whole.form?.fields).toEqual(post.fields);
    expect(whole.form?.expiresAt?.getTime()).toBeGreaterThan(Date.now());

    const file = join(dir, 'form.json');
    await writeFile(file, JSON.stringify(post.fields));
    const fromFile = readUploadForm(file);
    expect(fromFile.problems).toEqual([]);
    expect(fromFile.form?.url).toBeUndefined();
    expect(fromFile.form?.fields.key).toBe(`runs/2026-11-20T0912Z/${FILENAME_PLACEHOLDER}`);
  });

  it('names what is wrong with malformed forms', async () => {
    const { fields } = await presignedPost();
    expect(readUploadForm(join(dir, 'missing.json')).problems).toEqual([expect.stringMatching(/cannot read .*ENOENT/)]);
    expect(readUploadForm('{not json').problems).toEqual([expect.stringMatching(/^not JSON/)]);
    expect(readUploadForm('{"fields": []}').problems).toEqual(['"fields" must be an object']);
    expect(readUploadForm('{"key": "a/b"}').problems).toEqual([
      'missing the fields policy, x-amz-algorithm, x-amz-credential, x-amz-date, x-amz-signature of a presigned POST form',
    ]);
    expect(readUploadForm(JSON.stringify({ ...fields, file: 'x' })).problems).toEqual([
      'field "file" is the bundle itself and cannot be given',
    ]);
    expect(readUploadForm(JSON.stringify({ ...fields, 'x-amz-meta-n': 5 })).problems).toEqual([
      'field "x-amz-meta-n" is not a string',
    ]);
    expect(readUploadForm(JSON.stringify({ ...fields, Policy: 'bm90IGpzb24=' })).problems).toEqual([
      'the Policy field is not a base64-encoded JSON policy document',
    ]);
    const expired = Buffer.from(JSON.stringify({ expiration: '2020-01-01T00:00:00Z', conditions: [] })).toString(
      'base64',
    );
    expect(readUploadForm(JSON.stringify({ ...fields, Policy: expired })).problems).toEqual([
      'the POST policy expired at 2020-01-01T00:00:00.000Z: ask for a new upload form',
    ]);
  });
});

describe('formEnvelope', () => {
  it('puts the fields first and the file last, with an exact closing boundary', () => {
    const { head, tail } = formEnvelope(
      { key: `k/${FILENAME_PLACEHOLDER}`, Policy: 'p' },
      'we"ird\r\n.tgz',
      'BOUNDARY',
    );
    expect(head.toString()).toBe(
      `--BOUNDARY\r\nContent-Disposition: form-data; name="key"\r\n\r\nk/${FILENAME_PLACEHOLDER}\r\n` +
        '--BOUNDARY\r\nContent-Disposition: form-data; name="Policy"\r\n\r\np\r\n' +
        '--BOUNDARY\r\nContent-Disposition: form-data; name="file"; filename="we_ird__.tgz"\r\n' +
        'Content-Type: application/gzip\r\n\r\n',
    );
    expect(tail.toString()).toBe('\r\n--BOUNDARY--\r\n');
  });
});
