/**
 * `eks-node-diag collect --upload-url/--upload-form` as users run it: the esbuild bundle (built by `npm run build`,
 * which `npm test` runs first) in a child process, uploading to the local S3 protocol server with URLs and forms
 * presigned by the real AWS SDK v3; the object is then fetched back and read as a bundle. Only 127.0.0.1 is reached
 * (IMDS is switched off for the child).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { list } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CREDENTIALS, S3Server, SLOW_DOWN } from '../../test/support/s3-server.ts';
import { type OptionsError, validateCollectOptions } from '../collect/options.ts';
import { FILENAME_PLACEHOLDER } from './post.ts';

const cli = resolve('dist/eks-node-diag.cjs');
let server: S3Server;
let s3: S3Client;
let dir: string;

function run(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    // Asynchronous on purpose: the S3 server runs in this process and must keep answering.
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', AWS_EC2_METADATA_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

async function uploadDirs(): Promise<string[]> {
  return (await readdir('/var/tmp')).filter((name) => name.startsWith('.eks-node-diag-upload-'));
}

/** The object as S3 holds it, read as a bundle: member names and the parsed manifest. */
async function readBundle(bucket: string, key: string) {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
  const file = join(dir, `${key.replaceAll('/', '_')}.tar.gz`);
  await writeFile(file, bytes);
  const members: string[] = [];
  let manifest = '';
  await list({
    file,
    onReadEntry: (entry) => {
      members.push(entry.path);
      if (entry.path.endsWith('manifest.json')) entry.on('data', (chunk: Buffer) => (manifest += chunk));
      else entry.resume();
    },
  });
  return { members, manifest: JSON.parse(manifest) as { items: { id: string; status: string }[] } };
}

beforeAll(async () => {
  if (!existsSync(cli)) throw new Error('dist/eks-node-diag.cjs is missing: run `npm run build` (npm test does)');
  server = await S3Server.start({ buckets: ['diag-bundles'] });
  s3 = new S3Client({
    region: server.region,
    endpoint: server.url,
    forcePathStyle: true,
    credentials: DEFAULT_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  dir = await mkdtemp(join(tmpdir(), 'collect-upload-'));
});
afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('collect --upload-url / --upload-form', () => {
  it('uploads the bundle with a presigned PUT URL, retrying a SlowDown, and prints the S3 location', async () => {
    const key = 'nodes/i-0abc123/bundle.tar.gz';
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'diag-bundles', Key: key }), { expiresIn: 900 });
    server.failNext(1, SLOW_DOWN, 'PUT');
    const before = await uploadDirs();
    const result = await run(
      'collect',
      '--only',
      'uname,proc-loadavg',
      '--max-bytes',
      '20MB',
      '--upload-url',
      url,
      '--allow-http-upload',
    );
    expect(result.stderr).toMatch(/upload attempt 1\/5 failed: 503 SlowDown/);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`s3://diag-bundles/${key}\n`);
    expect(result.stderr).toMatch(
      /uploaded \d+ bytes to s3:\/\/diag-bundles\/nodes\/i-0abc123\/bundle\.tar\.gz, ETag "[0-9a-f]{32}" \(2 attempts\)/,
    );
    // The signature is a credential: it never reaches the progress output.
    expect(result.stderr).not.toMatch(/X-Amz-Signature/);

    const bundle = await readBundle('diag-bundles', key);
    expect(bundle.members).toEqual(expect.arrayContaining([expect.stringMatching(/manifest\.json$/)]));
    expect(bundle.members.at(-1)).toMatch(/manifest\.json$/);
    const items = new Map(bundle.manifest.items.map((item) => [item.id, item.status]));
    expect(items.get('uname')).toBe('ok');
    expect(items.get('proc-loadavg')).toBe('ok');
    // The private spool file is gone.
    expect(await uploadDirs()).toEqual(before);
  });

  it('uploads with a presigned POST form limited to a key prefix; the bundle name fills the key', async () => {
    const post = await createPresignedPost(s3, {
      Bucket: 'diag-bundles',
      Key: `runs/r-42/${FILENAME_PLACEHOLDER}`,
      Conditions: [['content-length-range', 1, 100 * 1024 * 1024]],
      Expires: 900,
    });
    const formFile = join(dir, 'form.json');
    await writeFile(formFile, JSON.stringify(post));
    const result = await run(
      'collect',
      '--only',
      'uname',
      '--max-bytes',
      '20MB',
      '--upload-form',
      formFile,
      '--allow-http-upload',
    );
    expect(result.code, result.stderr).toBe(0);
    const location = result.stdout.trim();
    expect(location).toMatch(
      /^s3:\/\/diag-bundles\/runs\/r-42\/eks_unknown-instance_[\d-]+_\d{4}-UTC_eks-node-diag-[\d.]+\.tar\.gz$/,
    );
    const bundle = await readBundle('diag-bundles', location.replace('s3://diag-bundles/', ''));
    expect(bundle.manifest.items.find((item) => item.id === 'uname')?.status).toBe('ok');
  });

  it('exits 5 on an upload S3 refuses, with its reason, and keeps nothing on the node', async () => {
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'diag-bundles', Key: 'refused' }), {
      expiresIn: 900,
    });
    const before = await uploadDirs();
    const tampered = url.replace('/diag-bundles/refused?', '/diag-bundles/other?');
    const result = await run(
      'collect',
      '--only',
      'uname',
      '--max-bytes',
      '20MB',
      '--upload-url',
      tampered,
      '--allow-http-upload',
    );
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(
      /eks-node-diag: upload failed: S3 rejected the signature of the upload \(403 SignatureDoesNotMatch/,
    );
    expect(result.stderr).toMatch(/The bundle was not kept on the node/);
    expect(result.stdout).toBe('');
    expect(await uploadDirs()).toEqual(before);
    expect(server.object('diag-bundles', 'other')).toBeUndefined();
  });

  it('refuses before collecting: http without the test flag, a URL signing an empty-body checksum, a malformed form', async () => {
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'diag-bundles', Key: 'k' }), { expiresIn: 900 });
    const http = await run('collect', '--only', 'uname', '--upload-url', url);
    expect(http.code).toBe(2);
    expect(http.stderr).toMatch(/--upload-url: must be https/);

    const defaultClient = new S3Client({
      region: server.region,
      endpoint: server.url,
      forcePathStyle: true,
      credentials: DEFAULT_CREDENTIALS,
    });
    const crcUrl = await getSignedUrl(defaultClient, new PutObjectCommand({ Bucket: 'diag-bundles', Key: 'k' }));
    const crc = await run('collect', '--only', 'uname', '--upload-url', crcUrl, '--allow-http-upload');
    expect(crc.code).toBe(2);
    expect(crc.stderr).toMatch(/x-amz-checksum-crc32=AAAAAA== \(the CRC32 of an empty body\)/);
    expect(crc.stderr).not.toMatch(/collecting/);

    const both = await run('collect', '--upload-url', url, '--out', 'x.tgz', '--allow-http-upload');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/cannot be combined/);

    const badForm = await run('collect', '--upload-form', '{"key": "k"}', '--allow-http-upload');
    expect(badForm.code).toBe(2);
    expect(badForm.stderr).toMatch(/--upload-form: missing the fields policy/);
  });
});

describe('validateCollectOptions: upload options', () => {
  async function form() {
    return createPresignedPost(s3, { Bucket: 'diag-bundles', Key: `p/${FILENAME_PLACEHOLDER}`, Expires: 900 });
  }

  it('makes a PUT target from --upload-url and a POST target from --upload-form, its URL from the form', async () => {
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'diag-bundles', Key: 'k' }), { expiresIn: 900 });
    const put = validateCollectOptions({ uploadUrl: url, allowHttpUpload: true });
    expect(put.upload).toMatchObject({ method: 'PUT', url: new URL(url) });
    expect(put.upload?.expiresAt?.getTime()).toBeGreaterThan(Date.now());

    const post = await form();
    const fromForm = validateCollectOptions({ uploadForm: JSON.stringify(post), allowHttpUpload: true });
    expect(fromForm.upload).toMatchObject({ method: 'POST', url: new URL(post.url), fields: post.fields });
    const fieldsOnly = validateCollectOptions({
      uploadForm: JSON.stringify(post.fields),
      uploadUrl: post.url,
      allowHttpUpload: true,
    });
    expect(fieldsOnly.upload).toMatchObject({ method: 'POST', url: new URL(post.url) });
  });

  it('reports every upload problem at once', async () => {
    const post = await form();
    const problems = (raw: Parameters<typeof validateCollectOptions>[0]) => {
      try {
        validateCollectOptions(raw);
        return [];
      } catch (error) {
        return (error as OptionsError).problems;
      }
    };
    expect(problems({ uploadForm: JSON.stringify(post.fields), allowHttpUpload: true })).toEqual([
      '--upload-form: the form has no "url": give it with --upload-url',
    ]);
    expect(
      problems({ uploadForm: JSON.stringify(post), uploadUrl: `${server.url}/other`, allowHttpUpload: true }),
    ).toEqual(['--upload-url and the url in --upload-form differ: give one of them']);
    expect(problems({ uploadUrl: 'not a url' })).toEqual(['--upload-url: not a URL']);
    expect(problems({ uploadForm: JSON.stringify(post), out: 'b.tgz' })).toEqual([
      '--upload-url/--upload-form and --out cannot be combined: the upload replaces the file',
      '--upload-url: must be https (presigned S3 URLs are); http is allowed only on loopback for tests',
    ]);
  });
});
