/**
 * `eks-node-diag dispatch` (the built CLI, in its own process) over 1,000 targets of the local SSM server, which
 * completes invocations synthetically (each synthetic node still fetches the presigned form and POSTs its bundle to
 * the local S3 server), while the SSM server throttles and fails requests at random and S3 answers some downloads
 * with SlowDown. The per-node table must come out exact, in the SDK's standard retry mode (the default) and in its
 * adaptive mode, and the closing note gives the API calls per target.
 * Everything talks to 127.0.0.1 only.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeNodeBehavior, fakeNode } from '../../agent/dispatch/fake-node.ts';
import { createRandom } from '../sim/random.ts';
import { S3Server, SLOW_DOWN } from '../support/s3-server.ts';
import { DEFAULT_SSM_CREDENTIALS, SsmServer, type SsmTarget } from '../support/ssm-server.ts';

const root = resolve(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'eks-node-diag.cjs');
const TARGETS = 1000;
const BUCKET = 'fleet-diag';

/** Which nodes misbehave, and how: fixed by index so the expected table is known exactly. */
function behaviorOf(index: number): { behavior: FakeNodeBehavior; connection?: 'offline'; expected: string } {
  if (index % 100 === 13) return { behavior: 'ok', connection: 'offline', expected: 'undeliverable' };
  if (index % 50 === 7) return { behavior: 'glibc-too-old', expected: 'agent-unsupported' };
  if (index % 125 === 21) return { behavior: 'upload-rejected', expected: 'upload-failed' };
  if (index % 200 === 99) return { behavior: 'runs-too-long', expected: 'timed-out' };
  if (index % 250 === 3) return { behavior: 'collect-failed', expected: 'failed' };
  return { behavior: 'ok', expected: 'ok' };
}

const instanceId = (index: number) => `i-0${index.toString(16).padStart(16, '0')}`;

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { env, maxBuffer: 64 * 1024 * 1024, timeout: 600_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

describe.each([
  ['standard', undefined],
  ['adaptive', 'adaptive'],
])('dispatch to 1,000 nodes under throttling and 5xx (%s retry mode)', (mode, retryMode) => {
  let dir: string;
  let s3: S3Server;
  let ssm: SsmServer;
  let result: { code: number; stdout: string; stderr: string };
  let elapsedMs = 0;
  const expected = new Map<string, string>();

  beforeAll(async () => {
    // The CLI bundle under test is the one this checkout builds.
    await new Promise<void>((done, fail) =>
      execFile(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root }, (error) =>
        error ? fail(error) : done(),
      ),
    );
    dir = await mkdtemp(join(tmpdir(), 'dispatch-scale-'));
    const agents = join(dir, 'agents');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(agents);
    await writeFile(join(agents, 'eks-node-diag-agent-linux-x64'), '#!/bin/sh\necho stand-in agent\n');
    await writeFile(join(agents, 'eks-node-diag-agent-linux-arm64'), '#!/bin/sh\necho stand-in arm64 agent\n');

    s3 = await S3Server.start({ buckets: [BUCKET], credentials: [DEFAULT_SSM_CREDENTIALS] });
    const jitter = createRandom('dispatch-scale-jitter');
    const targets: SsmTarget[] = [];
    for (let index = 0; index < TARGETS; index++) {
      const { behavior, connection, expected: status } = behaviorOf(index);
      const id = instanceId(index);
      expected.set(id, status);
      const delayMs = jitter.int(20, 2000);
      targets.push({
        instanceId: id,
        tags: { 'eks:cluster-name': 'scale' },
        ...(connection ? { connection } : {}),
        run: { kind: 'synthetic', handler: (invocation) => fakeNode(invocation, behavior, { delayMs }) },
      });
    }
    // A node of another cluster must not be reached.
    targets.push({ instanceId: 'i-0ffffffffffffffff', tags: { 'eks:cluster-name': 'other' } });
    ssm = await SsmServer.start({
      targets,
      faults: { seed: 'dispatch-scale', throttleRate: 0.15, serverErrorRate: 0.05 },
    });
    s3.failNext(12, SLOW_DOWN, 'GET');

    const t0 = Date.now();
    result = await run(
      [
        'dispatch',
        '--cluster',
        'scale',
        '--bucket',
        BUCKET,
        '--prefix',
        'tickets/4242',
        '--max-concurrency',
        '25%',
        '--timeout',
        '5m',
        '--out',
        join(dir, 'out'),
        '--agent-dir',
        agents,
        '--poll-interval',
        '200ms',
      ],
      {
        PATH: process.env.PATH,
        HOME: dir,
        AWS_ACCESS_KEY_ID: DEFAULT_SSM_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: DEFAULT_SSM_CREDENTIALS.secretAccessKey,
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_SSM: ssm.url,
        AWS_ENDPOINT_URL_S3: s3.url,
        AWS_CONFIG_FILE: join(dir, 'no-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
        AWS_EC2_METADATA_DISABLED: 'true',
        ...(retryMode ? { AWS_RETRY_MODE: retryMode } : {}),
      },
    );
    elapsedMs = Date.now() - t0;
  }, 600_000);

  afterAll(async () => {
    await ssm?.close();
    await s3?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('ends with the exact per-node table and exit code 6 (some nodes failed)', async () => {
    expect(result.code, result.stderr.slice(-3000)).toBe(6);
    const table = result.stdout.split('\n\n')[0] ?? '';
    const rows = table.trim().split('\n');
    expect(rows[0]).toMatch(/^NODE\s+STATUS\s+DURATION\s+BUNDLE\s+ERROR$/);
    const shown = new Map(rows.slice(1).map((row) => row.split(/\s+/).slice(0, 2) as [string, string]));
    expect(shown.size).toBe(TARGETS);
    expect(Object.fromEntries(shown)).toEqual(Object.fromEntries(expected));
    const tally = new Map<string, number>();
    for (const status of expected.values()) tally.set(status, (tally.get(status) ?? 0) + 1);
    expect(result.stdout).toContain(`1000 nodes: ${tally.get('ok')} ok`);
  });

  it('downloaded every bundle a node uploaded, and only those', async () => {
    const summary = JSON.parse(await readFile(join(dir, 'out', 'dispatch.json'), 'utf8'));
    const ok = summary.outcomes.filter((o: { status: string }) => o.status === 'ok');
    expect(ok).toHaveLength([...expected.values()].filter((status) => status === 'ok').length);
    for (const outcome of ok.slice(0, 50)) {
      const bundle = await readFile(join(dir, 'out', `${outcome.instanceId}.tar.gz`));
      expect(gunzipSync(bundle).toString()).toBe(`bundle of ${outcome.instanceId}\n`);
    }
    const uploaded = s3.objects(BUCKET).filter((o) => o.key.startsWith(`tickets/4242/${summary.commandId}/`));
    expect(uploaded).toHaveLength(ok.length);
    expect(new Set(uploaded.map((o) => o.via))).toEqual(new Set(['post']));
    expect(ssm.commands()).toHaveLength(1);
    expect(ssm.commands()[0]?.invocations).toHaveLength(TARGETS);
  });

  it('survived injected throttling and 5xx; reports the API calls per target', () => {
    const injected = ssm.requests.filter((r) => r.injected);
    expect(injected.some((r) => r.error === 'ThrottlingException')).toBe(true);
    expect(injected.some((r) => r.status >= 500)).toBe(true);
    expect(s3.pendingFaults).toBe(0);
    const counts = ssm.callCounts();
    const ssmCalls = ssm.requests.length;
    const s3Calls = s3.requests.length;
    const perTarget = (n: number) => (n / TARGETS).toFixed(2);
    const breakdown = Object.entries(counts)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([operation, count]) => `${operation} ${count}`)
      .join(', ');
    console.log(
      `dispatch to ${TARGETS} targets (${mode} retry mode) in ${(elapsedMs / 1000).toFixed(1)} s: ${ssmCalls} SSM requests (${perTarget(ssmCalls)} per target; ` +
        `${injected.length} answered with injected faults; ${breakdown}), ${s3Calls} S3 requests ` +
        `(${perTarget(s3Calls)} per target, nodes' form GETs and POSTs included)`,
    );
    // Following a command must not cost a listing of the whole fleet per poll.
    expect(ssmCalls / TARGETS).toBeLessThan(2);
  });
});
