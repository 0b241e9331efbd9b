/**
 * The node script itself (templates/eks-node-diag-node.sh, as AWS-RunShellScript would run it inline), run with
 * /bin/sh on this machine against the local S3 server on 127.0.0.1: real presigned GET of a stand-in agent, sha256
 * check, the glibc check, the upload form with its key set to `<instance-id>.tar.gz`, the result line, the exit
 * codes and the cleanup. The stand-in agent records how it was started and behaves as FAKE_AGENT_MODE says.
 * `uname`, `getconf` and `sleep` are faked on PATH where a case needs it (sleep, so retries take no time).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CREDENTIALS, S3Server, SLOW_DOWN } from '../../test/support/s3-server.ts';
import { createUploadForm, presignGet, publishForm } from './artifacts.ts';
import { inlineScript, type NodeScriptValues } from './document.ts';
import { parseResultLine } from './outcome.ts';

const BUCKET = 'node-script';
const INSTANCE = 'i-0123456789abcdef0';
const COMMAND = '11111111-2222-4333-8444-555555555555';

const FAKE_AGENT = `#!/bin/sh
record=$FAKE_AGENT_RECORD
printf '%s\\n' "$@" > "$record.args"
echo "nice=$(nice)" > "$record.priority"
ionice -p $$ >> "$record.priority" 2>/dev/null
out=''
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift ;;
    --upload-form) cp "$2" "$record.form" ;;
  esac
  shift
done
echo "$0" > "$record.path"
case "\${FAKE_AGENT_MODE:-ok}" in
  ok)
    if [ -n "$out" ]; then printf 'kept bundle\\n' | gzip > "$out"; else
      echo "uploaded 321 bytes to s3://${BUCKET}/key, ETag \\"x\\" (1 attempt)" >&2
    fi
    exit 0 ;;
  upload-fails) echo 'upload failed: S3 answered 403 AccessDenied after 1 attempt' >&2; exit 5 ;;
  disk-full) echo 'not enough free disk in /var/tmp' >&2; exit 4 ;;
  hang) exec /bin/sleep 30 ;;
esac
`;

let s3: S3Server;
let client: S3Client;
let dir: string;
let agentSha: string;
let values: NodeScriptValues;
let missingFormUrl: string;

async function fakeTools(name: string, tools: Record<string, string>): Promise<string> {
  const bin = join(dir, `bin-${name}`);
  await mkdir(bin, { recursive: true });
  for (const [tool, body] of Object.entries({ sleep: 'exit 0', ...tools })) {
    await writeFile(join(bin, tool), `#!/bin/sh\n${body}\n`);
    await chmod(join(bin, tool), 0o755);
  }
  return bin;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  record: string;
}

function runScript(
  name: string,
  overrides: Partial<NodeScriptValues>,
  env: Record<string, string> = {},
  tools: Record<string, string> = {},
  onStart?: (pid: number) => void,
): Promise<Run> {
  return (async () => {
    const record = join(dir, `record-${name}`);
    const bin = await fakeTools(name, tools);
    const script = inlineScript({ ...values, ...overrides }).join('\n');
    return await new Promise<Run>((resolve) => {
      const child = spawn('/bin/sh', ['-c', script], {
        detached: true,
        env: {
          PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`,
          AWS_SSM_INSTANCE_ID: INSTANCE,
          FAKE_AGENT_RECORD: record,
          ...env,
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      if (child.pid && onStart) onStart(child.pid);
      child.on('close', (code) => resolve({ code, stdout, stderr, record }));
    });
  })();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'node-script-'));
  s3 = await S3Server.start({ buckets: [BUCKET] });
  client = new S3Client({
    region: 'us-east-1',
    endpoint: s3.url,
    credentials: DEFAULT_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  agentSha = createHash('sha256').update(FAKE_AGENT).digest('hex');
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'agents/x64', Body: FAKE_AGENT }));
  const form = await createUploadForm(client, BUCKET, 'diag', COMMAND, 600);
  await publishForm(client, BUCKET, 'diag/forms/form.json', form);
  values = {
    AgentUrlX64: await presignGet(client, BUCKET, 'agents/x64', 600),
    AgentSha256X64: agentSha,
    AgentUrlArm64: '',
    AgentSha256Arm64: '',
    UploadFormUrl: await presignGet(client, BUCKET, 'diag/forms/form.json', 600),
    Since: '6h',
    Deadline: '150s',
    KeepOnNode: 'false',
    executionTimeout: '900',
  };
  missingFormUrl = await presignGet(client, BUCKET, 'diag/forms/never-published.json', 600);
});

afterAll(async () => {
  client.destroy();
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the node script', () => {
  it('downloads and checks the agent, runs it at low priority with the upload form, prints one result line', async () => {
    const run = await runScript('ok', {});
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(parseResultLine(run.stdout)).toMatchObject({
      instanceId: INSTANCE,
      arch: 'x64',
      status: 'uploaded',
      exitCode: 0,
      key: `diag/${COMMAND}/${INSTANCE}.tar.gz`,
      bytes: 321,
    });
    const args = (await readFile(`${run.record}.args`, 'utf8')).trim().split('\n');
    expect(args).toEqual([
      'collect',
      '--since',
      '6h',
      '--deadline',
      '150s',
      '--upload-form',
      expect.stringMatching(/\/upload-form\.json$/),
      '--allow-http-upload',
    ]);
    expect(await readFile(`${run.record}.priority`, 'utf8')).toMatch(/^nice=19\nbest-effort: prio 7/);
    // The agent got the form with this node's key in place of S3's placeholder.
    const form = JSON.parse(await readFile(`${run.record}.form`, 'utf8'));
    expect(form.fields.key).toBe(`diag/${COMMAND}/${INSTANCE}.tar.gz`);
    expect(form.url).toBe(`${s3.url}/${BUCKET}`);
    // The agent came through the presigned GET, and its work directory is gone.
    expect(s3.requests.some((r) => r.key === 'agents/x64' && r.auth === 'presigned' && r.status === 200)).toBe(true);
    const agentPath = (await readFile(`${run.record}.path`, 'utf8')).trim();
    expect(agentPath).toMatch(/^\/var\/tmp\/eks-node-diag\.[A-Za-z0-9]+\/eks-node-diag-agent-linux-x64$/);
    expect(existsSync(dirname(agentPath))).toBe(false);
    expect(run.stderr).toMatch(/eks-node-diag: downloading the x64 agent/);
  });

  it('removes work directories a killed run left behind more than 48 hours ago, and no others', async () => {
    const stale = await mkdtemp('/var/tmp/eks-node-diag.');
    const recent = await mkdtemp('/var/tmp/eks-node-diag.');
    const threeDaysAgo = new Date(Date.now() - 3 * 86_400_000);
    await utimes(stale, threeDaysAgo, threeDaysAgo);
    try {
      const run = await runScript('stale', {});
      expect(run.code).toBe(0);
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(recent)).toBe(true);
    } finally {
      await rm(stale, { recursive: true, force: true });
      await rm(recent, { recursive: true, force: true });
    }
  });

  it('passes --root when the host filesystem is mounted elsewhere (EKS_NODE_DIAG_ROOT)', async () => {
    const run = await runScript('root', {}, { EKS_NODE_DIAG_ROOT: '/.bottlerocket/rootfs' });
    expect(run.code).toBe(0);
    expect(await readFile(`${run.record}.args`, 'utf8')).toContain('--root\n/.bottlerocket/rootfs\n');
  });

  it('stops with exit 42 and agent-unsupported on glibc 2.26 (Amazon Linux 2), before downloading anything', async () => {
    const before = s3.requests.length;
    const run = await runScript('glibc', {}, {}, { getconf: 'echo glibc 2.26' });
    expect(run.code).toBe(42);
    expect(parseResultLine(run.stdout)).toMatchObject({
      status: 'agent-unsupported',
      exitCode: 42,
      error: expect.stringMatching(/glibc 2\.26 is older than 2\.28/),
    });
    expect(s3.requests.length).toBe(before);
  });

  it.each([
    [
      'an architecture without a build',
      { uname: 'echo riscv64' },
      {},
      /no agent is built for the architecture riscv64/,
    ],
    ['an arm64 node when only x64 was sent', { uname: 'echo aarch64' }, {}, /carries no agent for arm64/],
  ])('reports agent-unsupported (exit 43) for %s', async (_name, tools, overrides, error) => {
    const run = await runScript(`arch-${Object.values(tools)[0]?.slice(5)}`, overrides, {}, tools);
    expect(run.code).toBe(43);
    expect(parseResultLine(run.stdout)).toMatchObject({
      status: 'agent-unsupported',
      error: expect.stringMatching(error),
    });
  });

  it('refuses an agent whose sha256 differs (exit 45) and does not run it', async () => {
    const run = await runScript('sha', { AgentSha256X64: 'f'.repeat(64) });
    expect(run.code).toBe(45);
    expect(parseResultLine(run.stdout)).toMatchObject({
      status: 'checksum-mismatch',
      error: `the downloaded agent has sha256 ${agentSha}, expected ${'f'.repeat(64)}`,
    });
    expect(existsSync(`${run.record}.args`)).toBe(false);
  });

  it('retries a download on 5xx and reports one that fails for good (exit 44)', async () => {
    const url = await presignGet(client, BUCKET, 'agents/missing', 600);
    s3.failNext(2, SLOW_DOWN, 'GET');
    const run = await runScript('download', { AgentUrlX64: url });
    expect(run.code).toBe(44);
    // Two 503s are retried; the 404 behind them is final (only the upload form is waited for).
    expect(parseResultLine(run.stdout)).toMatchObject({
      status: 'download-failed',
      error: 'could not download the agent: HTTP 404 after 3 attempt(s)',
    });
    expect(s3.requests.filter((r) => r.key === 'agents/missing')).toHaveLength(3);
  });

  it('waits for the upload form, then gives up with exit 46', async () => {
    const run = await runScript('form', { UploadFormUrl: missingFormUrl });
    expect(run.code).toBe(46);
    expect(parseResultLine(run.stdout)).toMatchObject({ status: 'form-unavailable' });
    const tries = s3.requests.filter((r) => r.key === 'diag/forms/never-published.json');
    expect(tries).toHaveLength(40);
  });

  it.each([
    ['upload-fails', 48, 'upload-failed', /the upload failed: upload failed: S3 answered 403 AccessDenied/],
    ['disk-full', 47, 'collect-failed', /the agent exited 4: not enough free disk/],
  ])('maps the agent ending %s to exit %i (%s)', async (mode, code, status, error) => {
    const run = await runScript(mode, {}, { FAKE_AGENT_MODE: mode });
    expect(run.code).toBe(code);
    expect(parseResultLine(run.stdout)).toMatchObject({ status, error: expect.stringMatching(error) });
  });

  it('with KeepOnNode keeps the agent and the bundle, uploading the kept bundle with curl and the same form', async () => {
    const keep = join(dir, 'kept');
    const run = await runScript('keep', { KeepOnNode: 'true' }, { EKS_NODE_DIAG_KEEP_DIR: keep });
    expect(run.code, run.stderr).toBe(0);
    const result = parseResultLine(run.stdout);
    expect(result).toMatchObject({ status: 'uploaded', key: `diag/${COMMAND}/${INSTANCE}.tar.gz` });
    const [bundle, work] = (result?.kept ?? '').split(' ');
    expect(bundle).toMatch(new RegExp(`^${keep}/eks_${INSTANCE}_\\d{4}-\\d\\d-\\d\\d_\\d{6}-UTC\\.tar\\.gz$`));
    expect(existsSync(bundle as string)).toBe(true);
    expect(existsSync(join(work as string, 'eks-node-diag-agent-linux-x64'))).toBe(true);
    const stored = s3.object(BUCKET, `diag/${COMMAND}/${INSTANCE}.tar.gz`);
    expect(stored?.via).toBe('post');
    expect(stored?.body).toEqual(await readFile(bundle as string));
    expect(result?.bytes).toBe(stored?.body.length);
    await rm(work as string, { recursive: true, force: true });
  });

  it('still prints its result line and cleans up when SSM stops it (SIGTERM)', async () => {
    const run = await runScript('term', {}, { FAKE_AGENT_MODE: 'hang' }, {}, (pid) => {
      setTimeout(() => process.kill(-pid, 'SIGTERM'), 1500);
    });
    expect(run.code).toBe(143);
    expect(parseResultLine(run.stdout)).toMatchObject({ status: 'failed', error: 'stopped by SIGTERM' });
    const agentPath = (await readFile(`${run.record}.path`, 'utf8')).trim();
    expect(existsSync(dirname(agentPath))).toBe(false);
  });

  it('refuses an instance id that could not be a file name', async () => {
    const run = await runScript('instance', {}, { AWS_SSM_INSTANCE_ID: 'i-1/../../etc' });
    expect(run.code).toBe(49);
    expect(parseResultLine(run.stdout)).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/unusable instance id/),
    });
  });
});
