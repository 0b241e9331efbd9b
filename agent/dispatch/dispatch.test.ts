/**
 * `dispatch` in-process, through the real AWS SDK, against the local SSM and S3 servers (loopback only), with
 * synthetic nodes that speak the node script's protocol: presigned form fetch, POST upload, result line.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { S3Server } from '../../test/support/s3-server.ts';
import {
  DEFAULT_SSM_CREDENTIALS,
  SsmServer as Ssm,
  type SsmServer,
  type SsmTarget,
} from '../../test/support/ssm-server.ts';
import { type DispatchIo, dispatch } from './dispatch.ts';
import { documentHash, SSM_DOCUMENT } from './document.ts';
import { type FakeNodeBehavior, fakeNode } from './fake-node.ts';
import type { NodeOutcome } from './outcome.ts';

const BUCKET = 'diag-bucket';
let s3: S3Server;
let ssm: SsmServer;
let dir: string;
let agentDir: string;
const savedEnv = { ...process.env };

function node(instanceId: string, behavior: FakeNodeBehavior, extra: Partial<SsmTarget> = {}): SsmTarget {
  return {
    instanceId,
    run: { kind: 'synthetic', handler: (invocation) => fakeNode(invocation, behavior, { delayMs: 20 }) },
    ...extra,
  };
}

function io(): DispatchIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
    },
    errIsTTY: false,
    stdout: () => out,
    stderr: () => err,
  };
}

const statuses = (outcomes: NodeOutcome[]) => Object.fromEntries(outcomes.map((o) => [o.instanceId, o.status]));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dispatch-test-'));
  agentDir = join(dir, 'agents');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(agentDir);
  for (const arch of ['x64', 'arm64']) {
    const body = `#!/bin/sh\necho fake ${arch} agent\n`;
    await writeFile(join(agentDir, `eks-node-diag-agent-linux-${arch}`), body, { mode: 0o755 });
    const sha = createHash('sha256').update(body).digest('hex');
    await writeFile(
      join(agentDir, `eks-node-diag-agent-linux-${arch}.sha256`),
      `${sha}  eks-node-diag-agent-linux-${arch}\n`,
    );
  }
  s3 = await S3Server.start({ buckets: [BUCKET], credentials: [DEFAULT_SSM_CREDENTIALS] });
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: DEFAULT_SSM_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DEFAULT_SSM_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_S3: s3.url,
    AWS_CONFIG_FILE: join(dir, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
});

afterAll(async () => {
  process.env = savedEnv;
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

async function withSsm(targets: SsmTarget[], options: Partial<Parameters<typeof Ssm.start>[0]> = {}) {
  ssm = await Ssm.start({ targets, ...options });
  process.env.AWS_ENDPOINT_URL_SSM = ssm.url;
  return ssm;
}

beforeEach(async () => {
  await ssm?.close();
});
afterAll(async () => {
  await ssm?.close();
});

const common = () => ({ bucket: BUCKET, agentDir, pollInterval: '50ms' });

describe('dispatch by instance ids', () => {
  it('classifies every node, downloads the bundles and ends with the per-node table', async () => {
    await withSsm([
      node('i-0000000000000000a', 'ok'),
      node('i-0000000000000000b', 'glibc-too-old'),
      node('i-0000000000000000c', 'ok', { connection: 'offline' }),
      node('i-0000000000000000d', 'upload-rejected'),
      node('i-0000000000000000e', 'noisy-stdout'),
      node('i-0000000000000000f', 'collect-failed'),
      node('i-00000000000000010', 'runs-too-long'),
      node('i-00000000000000011', 'no-result-line'),
    ]);
    const out = join(dir, 'run-1');
    const console = io();
    const result = await dispatch(
      {
        ...common(),
        instanceIds:
          'i-0000000000000000a,i-0000000000000000b,i-0000000000000000c,i-0000000000000000d,i-0000000000000000e,' +
          'i-0000000000000000f,i-00000000000000010,i-00000000000000011,i-0ffffffffffffffff',
        out,
      },
      console,
    );
    expect(statuses(result.outcomes)).toEqual({
      'i-0000000000000000a': 'ok',
      'i-0000000000000000b': 'agent-unsupported',
      'i-0000000000000000c': 'undeliverable',
      'i-0000000000000000d': 'upload-failed',
      'i-0000000000000000e': 'ok',
      'i-0000000000000000f': 'failed',
      'i-00000000000000010': 'timed-out',
      'i-00000000000000011': 'failed',
      'i-0ffffffffffffffff': 'invalid-instance',
    });
    expect(result.failed).toBe(7);
    const byId = new Map(result.outcomes.map((o) => [o.instanceId, o]));
    expect(byId.get('i-0000000000000000b')?.error).toMatch(/glibc 2\.26 is older than 2\.28/);
    expect(byId.get('i-0000000000000000c')).toMatchObject({ ssm: 'Failed/Undeliverable', responseCode: -1 });
    expect(byId.get('i-0000000000000000d')?.error).toMatch(/AccessDenied/);
    expect(byId.get('i-00000000000000010')).toMatchObject({ ssm: 'TimedOut/ExecutionTimedOut' });
    expect(byId.get('i-00000000000000011')?.error).toMatch(/exit 1: sh: 12: syntax error/);
    expect(byId.get('i-0ffffffffffffffff')?.error).toMatch(
      /Instances \[\[i-0ffffffffffffffff\]\] not in a valid state/,
    );

    // One SendCommand: the refused id was set aside, the second attempt carried the rest.
    const sends = ssm.requests.filter((r) => r.operation === 'SendCommand');
    expect(sends.map((r) => r.error ?? r.status)).toEqual(['InvalidInstanceId', 200]);
    expect(ssm.commands()).toHaveLength(1);
    const command = ssm.commands()[0];
    expect(command?.documentName).toBe('AWS-RunShellScript');
    expect(command?.maxConcurrency).toBe('50');
    expect(command?.maxErrors).toBe('100%');

    // Bundles: the POSTed bytes, under <prefix>/<command-id>/<instance-id>.tar.gz, downloaded to --out.
    for (const id of ['i-0000000000000000a', 'i-0000000000000000e']) {
      const key = `eks-node-diag/${result.commandId}/${id}.tar.gz`;
      expect(s3.object(BUCKET, key)?.via).toBe('post');
      const bundle = await readFile(join(out, `${id}.tar.gz`));
      expect(gunzipSync(bundle).toString()).toBe(`bundle of ${id}\n`);
      expect(byId.get(id)?.bundleBytes).toBe(bundle.length);
    }
    // The truncated output (noisy stdout) was read in full through GetCommandInvocation, for that node only.
    expect(ssm.requests.filter((r) => r.operation === 'GetCommandInvocation').length).toBeGreaterThanOrEqual(1);

    const table = console.stdout();
    const rows = table.split('\n');
    expect(rows[0]).toMatch(/^NODE\s+STATUS\s+DURATION\s+BUNDLE\s+ERROR$/);
    expect(rows.find((row) => row.startsWith('i-0000000000000000c'))).toMatch(/undeliverable .*SSM could not deliver/);
    expect(rows.find((row) => row.startsWith('i-0000000000000000a'))).toMatch(/ok\s+\d+s\s+\d+ B$/);
    expect(table).toMatch(
      /9 nodes: 2 ok, 1 agent-unsupported, 2 failed, 1 invalid-instance, 1 timed-out, 1 undeliverable, 1 upload-failed/,
    );
    const written = JSON.parse(await readFile(join(out, 'dispatch.json'), 'utf8'));
    expect(written).toMatchObject({ schema: 'eks-node-diag/dispatch@1', commandId: result.commandId, failed: 7 });
    expect(written.outcomes).toHaveLength(9);
    // Progress went to stderr, plain (not a terminal): one line per node.
    expect(console.stderr()).toMatch(/agent x64 [0-9a-f]{12}: uploaded/);
    expect(console.stderr()).not.toContain('\u001b[');
  });

  it('uploads each agent once: a second dispatch finds them by sha256 with HEAD', async () => {
    await withSsm([node('i-0000000000000000a', 'ok')]);
    const puts = () => s3.requests.filter((r) => r.method === 'PUT' && r.key?.includes('/agents/')).length;
    const before = puts();
    const result = await dispatch({ ...common(), instanceIds: 'i-0000000000000000a', out: join(dir, 'run-2') }, io());
    expect(result.failed).toBe(0);
    expect(puts()).toBe(before);
    expect(s3.requests.filter((r) => r.method === 'HEAD' && r.key?.includes('/agents/')).length).toBeGreaterThanOrEqual(
      2,
    );
  });

  it('refuses to dispatch when an agent does not match its .sha256 file', async () => {
    await withSsm([node('i-0000000000000000a', 'ok')]);
    const badDir = join(dir, 'bad-agents');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(badDir, { recursive: true });
    await writeFile(join(badDir, 'eks-node-diag-agent-linux-x64'), 'changed after the build');
    await writeFile(join(badDir, 'eks-node-diag-agent-linux-x64.sha256'), `${'0'.repeat(64)}  x\n`);
    await expect(
      dispatch({ ...common(), agentDir: badDir, instanceIds: 'i-0000000000000000a', out: join(dir, 'run-3') }, io()),
    ).rejects.toMatchObject({ code: 'ENDIAG_DISPATCH', message: expect.stringMatching(/rebuild it/) });
    expect(ssm.commands()).toHaveLength(0);
  });
});

describe('dispatch by tags', () => {
  it('--cluster falls back to kubernetes.io/cluster/NAME when no node has eks:cluster-name', async () => {
    await withSsm([
      node('i-0000000000000000a', 'ok', { tags: { 'kubernetes.io/cluster/prod': 'owned' } }),
      node('i-0000000000000000b', 'ok', { tags: { 'kubernetes.io/cluster/prod': 'owned' } }),
      node('i-0000000000000000c', 'ok', { tags: { 'kubernetes.io/cluster/staging': 'owned' } }),
    ]);
    const result = await dispatch({ ...common(), cluster: 'prod', out: join(dir, 'run-4') }, io());
    expect(statuses(result.outcomes)).toEqual({ 'i-0000000000000000a': 'ok', 'i-0000000000000000b': 'ok' });
    const [first, second] = ssm.commands();
    expect(first?.targets).toEqual([{ Key: 'tag:eks:cluster-name', Values: ['prod'] }]);
    expect(first?.invocations).toHaveLength(0);
    expect(second?.targets).toEqual([{ Key: 'tag-key', Values: ['kubernetes.io/cluster/prod'] }]);
    expect(result.commandId).toBe(second?.commandId);
  });

  it('says so, and fails, when no node carries the tag', async () => {
    await withSsm([node('i-0000000000000000a', 'ok', { tags: { team: 'net' } })]);
    await expect(
      dispatch({ ...common(), tag: 'team=storage', out: join(dir, 'run-none') }, io()),
    ).rejects.toMatchObject({
      code: 'ENDIAG_DISPATCH',
      message: expect.stringMatching(/no managed node matches tag team=storage/),
    });
  });

  it('--tag reaches the tagged nodes with one command; --max-errors stops SSM from sending further', async () => {
    const targets = ['a', 'b', 'c', 'd', 'e', 'f'].map((letter) =>
      node(`i-000000000000000${letter}0`, 'collect-failed', { tags: { team: 'net' } }),
    );
    await withSsm(targets);
    const result = await dispatch(
      { ...common(), tag: 'team=net', maxConcurrency: '1', maxErrors: '1', out: join(dir, 'run-5') },
      io(),
    );
    const counts = new Map<string, number>();
    for (const outcome of result.outcomes) counts.set(outcome.status, (counts.get(outcome.status) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({ failed: 2, 'not-run': 4 });
    expect(result.outcomes.filter((o) => o.status === 'not-run')[0]?.ssm).toBe('Cancelled/Terminated');
    expect(ssm.commands()).toHaveLength(1);
    expect(ssm.commands()[0]?.status).toBe('Failed');
  });
});

describe('the project document', () => {
  it('--install-document creates it, runs through it, and leaves an unchanged one alone', async () => {
    await withSsm([node('i-0000000000000000a', 'ok')]);
    const first = await dispatch(
      { ...common(), instanceIds: 'i-0000000000000000a', installDocument: true, out: join(dir, 'run-6') },
      io(),
    );
    expect(first.failed).toBe(0);
    expect(first.documentName).toBe('EKSNodeDiag-Collect');
    expect(ssm.documentContent('EKSNodeDiag-Collect')).toBe(SSM_DOCUMENT);
    const command = ssm.commands()[0];
    expect(command?.documentName).toBe('EKSNodeDiag-Collect');
    expect(Object.keys(command?.requestParameters ?? {}).sort()).toEqual([
      'AgentSha256Arm64',
      'AgentSha256X64',
      'AgentUrlArm64',
      'AgentUrlX64',
      'Deadline',
      'KeepOnNode',
      'Since',
      'UploadFormUrl',
      'executionTimeout',
    ]);
    const creates = () =>
      ssm.requests.filter((r) => r.operation === 'CreateDocument' || r.operation === 'UpdateDocument');
    expect(creates()).toHaveLength(1);
    const second = await dispatch(
      { ...common(), instanceIds: 'i-0000000000000000a', installDocument: true, out: join(dir, 'run-7') },
      io(),
    );
    expect(second.failed).toBe(0);
    expect(creates()).toHaveLength(1);
    // --document alone checks the installed version is this build's.
    const third = await dispatch(
      { ...common(), instanceIds: 'i-0000000000000000a', document: 'EKSNodeDiag-Collect', out: join(dir, 'run-8') },
      io(),
    );
    expect(third.failed).toBe(0);
    expect(documentHash()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('updates an outdated document to a new default version', async () => {
    await withSsm([node('i-0000000000000000a', 'ok')]);
    const { installDocument } = await import('./send.ts');
    const { SSMClient } = await import('@aws-sdk/client-ssm');
    const client = new SSMClient({});
    const old = JSON.parse(SSM_DOCUMENT);
    old.description = 'an older build';
    await installDocument(client, 'EKSNodeDiag-Collect', `${JSON.stringify(old, null, 2)}\n`);
    await expect(
      dispatch(
        { ...common(), instanceIds: 'i-0000000000000000a', document: 'EKSNodeDiag-Collect', out: join(dir, 'run-9') },
        io(),
      ),
    ).rejects.toThrow(/not the one this eks-node-diag build ships/);
    const installed = await installDocument(client, 'EKSNodeDiag-Collect');
    expect(installed).toMatchObject({ action: 'updated', version: '2' });
    expect(ssm.defaultVersion('EKSNodeDiag-Collect')).toBe('2');
    client.destroy();
  });
});

describe('under throttling and 5xx', () => {
  it('ends with the exact table, the SDK retrying what SSM refused', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `i-${String(i).padStart(17, '0')}`);
    await withSsm(
      ids.map((id, i) => node(id, i % 10 === 3 ? 'glibc-too-old' : 'ok', { tags: { fleet: 'x' } })),
      { faults: { seed: 'dispatch-test', throttleRate: 0.2, serverErrorRate: 0.1 } },
    );
    const result = await dispatch(
      { ...common(), tag: 'fleet=x', maxConcurrency: '10', out: join(dir, 'run-10') },
      io(),
    );
    expect(result.outcomes).toHaveLength(30);
    expect(result.outcomes.filter((o) => o.status === 'agent-unsupported').map((o) => o.instanceId)).toEqual(
      ids.filter((_, i) => i % 10 === 3),
    );
    expect(result.failed).toBe(3);
    expect(ssm.requests.some((r) => r.injected && r.error === 'ThrottlingException')).toBe(true);
    expect(ssm.requests.some((r) => r.injected && (r.status === 500 || r.status === 503))).toBe(true);
  });
});

describe('cancelling', () => {
  it('cancels the command on the first Ctrl-C and reports the nodes it stopped', async () => {
    const slow = (id: string): SsmTarget => ({
      instanceId: id,
      run: { kind: 'synthetic', handler: (invocation) => fakeNode(invocation, 'ok', { delayMs: 1500 }) },
    });
    await withSsm([slow('i-0000000000000000a'), slow('i-0000000000000000b'), slow('i-0000000000000000c')]);
    const cancel = new AbortController();
    const console = { ...io(), cancel: cancel.signal };
    const running = dispatch(
      {
        ...common(),
        instanceIds: 'i-0000000000000000a,i-0000000000000000b,i-0000000000000000c',
        maxConcurrency: '1',
        out: join(dir, 'run-11'),
      },
      console,
    );
    while (ssm.commands().length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    cancel.abort();
    const result = await running;
    expect(new Set(result.outcomes.map((o) => o.status))).toEqual(new Set(['cancelled']));
    expect(ssm.requests.filter((r) => r.operation === 'CancelCommand')).toHaveLength(1);
    expect(console.stderr()).toMatch(/cancelling command/);
  });
});
