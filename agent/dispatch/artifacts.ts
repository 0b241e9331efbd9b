/**
 * What a dispatch puts in S3 besides the bundles: the agent binaries, keyed by their sha256 so that an upload happens
 * once per build (HEAD first), and the upload form, which can only be made once SSM has named the command.
 *
 * The nodes reach both through presigned URLs made with the engineer's credentials, so a node needs no S3 permission:
 * its role stays AmazonSSMManagedInstanceCore.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { awsErrorName } from './clients.ts';

export const ARCHITECTURES = ['x64', 'arm64'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export interface AgentBinary {
  arch: Architecture;
  path: string;
  sha256: string;
  bytes: number;
}

export interface StoredAgent extends AgentBinary {
  key: string;
  /** False when an object with that key was already there. */
  uploaded: boolean;
}

/** Presigned URLs live at most a week (SigV4's limit). */
export const MAX_PRESIGN_SECONDS = 604_800;
/** The largest single POST upload S3 takes. */
export const MAX_BUNDLE_BYTES = 5 * 1024 ** 3;

// biome-ignore lint/suspicious/noTemplateCurlyInString: S3's own placeholder for the uploaded file's name
export const FILENAME_PLACEHOLDER = '${filename}';

export class ArtifactError extends Error {
  readonly code = 'ENDIAG_DISPATCH';
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The agent binaries in `dir` (`eks-node-diag-agent-linux-<arch>`, as `npm run build:agent` writes them), each
 * checked against its `.sha256` file when there is one. Architectures without a binary are left out.
 */
export async function findAgentBinaries(dir: string): Promise<AgentBinary[]> {
  const found: AgentBinary[] = [];
  for (const arch of ARCHITECTURES) {
    const path = join(dir, `eks-node-diag-agent-linux-${arch}`);
    if (!existsSync(path)) continue;
    const [sha256, info] = await Promise.all([sha256File(path), stat(path)]);
    const recorded = existsSync(`${path}.sha256`)
      ? (await readFile(`${path}.sha256`, 'utf8')).trim().split(/\s+/)[0]
      : undefined;
    if (recorded !== undefined && recorded !== sha256)
      throw new ArtifactError(
        `${path} has sha256 ${sha256} but ${path}.sha256 says ${recorded}: rebuild it (npm run build:agent)`,
      );
    found.push({ arch, path, sha256, bytes: info.size });
  }
  if (found.length === 0)
    throw new ArtifactError(
      `no agent binary in ${dir} (eks-node-diag-agent-linux-x64 or -arm64): build them with \`npm run build:agent\` ` +
        'or point --agent-dir at them',
    );
  return found;
}

export function agentKey(prefix: string, agent: AgentBinary): string {
  return `${prefix}/agents/${agent.sha256}/eks-node-diag-agent-linux-${agent.arch}`;
}

/**
 * Puts the binary at its sha256 key unless it is already there. Without s3:ListBucket S3 answers a HEAD of a missing
 * key with 403, not 404; both mean "upload it".
 */
export async function ensureAgentStored(
  s3: S3Client,
  bucket: string,
  prefix: string,
  agent: AgentBinary,
): Promise<StoredAgent> {
  const key = agentKey(prefix, agent);
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    if (head.ContentLength === agent.bytes) return { ...agent, key, uploaded: false };
  } catch (error) {
    const name = awsErrorName(error);
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (!(name === 'NotFound' || name === 'NoSuchKey' || status === 404 || status === 403)) throw error;
  }
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: createReadStream(agent.path),
      ContentLength: agent.bytes,
      ContentType: 'application/octet-stream',
      Metadata: { sha256: agent.sha256 },
    }),
  );
  return { ...agent, key, uploaded: true };
}

export function presignGet(presigner: S3Client, bucket: string, key: string, expiresIn: number): Promise<string> {
  return getSignedUrl(presigner, new GetObjectCommand({ Bucket: bucket, Key: key }), {
    expiresIn: Math.min(expiresIn, MAX_PRESIGN_SECONDS),
  });
}

export interface UploadForm {
  url: string;
  fields: Record<string, string>;
}

export function bundlePrefix(prefix: string, commandId: string): string {
  return `${prefix}/${commandId}/`;
}

export function bundleKey(prefix: string, commandId: string, instanceId: string): string {
  return `${bundlePrefix(prefix, commandId)}${instanceId}.tar.gz`;
}

/**
 * A POST policy that can only put objects under `<prefix>/<command-id>/`, between 1 byte and 5 GiB. Its `key` ends in
 * S3's `${filename}` placeholder; the node script replaces that with `<instance-id>.tar.gz`.
 */
export async function createUploadForm(
  presigner: S3Client,
  bucket: string,
  prefix: string,
  commandId: string,
  expiresIn: number,
): Promise<UploadForm> {
  const post = await createPresignedPost(presigner, {
    Bucket: bucket,
    Key: `${bundlePrefix(prefix, commandId)}${FILENAME_PLACEHOLDER}`,
    Conditions: [['content-length-range', 1, MAX_BUNDLE_BYTES]],
    Expires: Math.min(expiresIn, MAX_PRESIGN_SECONDS),
  });
  return { url: post.url, fields: post.fields };
}

/**
 * The form as the node script reads it: JSON with one field per line, which the agent parses as JSON and the shell
 * (for a kept bundle, uploaded with curl) reads line by line.
 */
export function formDocument(form: UploadForm): string {
  return `${JSON.stringify({ url: form.url, fields: form.fields }, null, 2)}\n`;
}

export async function publishForm(s3: S3Client, bucket: string, key: string, form: UploadForm): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: formDocument(form),
      ContentType: 'application/json',
    }),
  );
}
