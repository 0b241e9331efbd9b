/**
 * The whole way, on simulated nodes: `eks-node-diag dispatch --install-document --analyze` (the built CLI) against
 * the local SSM server, which REALLY runs the SSM document's shell script inside each node's network namespace:
 * the script fetches the real x64 single executable from the local S3 server by presigned GET, checks its sha256 and
 * the glibc, collects at low priority, uploads the bundle with the presigned POST form, and prints its result line;
 * dispatch then downloads every bundle, analyzes it and writes the fleet index.
 *
 * Three nodes: healthy, FORWARD DROP (custom AMI), and one that is offline (SSM: Undeliverable).
 *
 * Networking: each namespace gets a veth pair on a private /30 this test creates and removes (inside the node's VPC
 * CIDR, where an S3 interface endpoint would be), and nothing else: no default route, so IMDS and every real address
 * stay unreachable. A forwarder inside the namespace
 * listens on 127.0.0.1:<S3 port> and one on the host side of the veth passes the bytes on to the S3 server's
 * 127.0.0.1:<port>, so the presigned URLs (signed for host 127.0.0.1:<port>) work unchanged on the node.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulationAvailable } from '../sim/prerequisites.ts';
import { createNodeWorld, type NodeWorld } from '../sim/world.ts';
import { S3Server } from '../support/s3-server.ts';
import { DEFAULT_SSM_CREDENTIALS, SsmServer } from '../support/ssm-server.ts';

const root = resolve(import.meta.dirname, '..', '..');
const dist = join(root, 'dist');
const cli = join(dist, 'eks-node-diag.cjs');
const BUCKET = 'support-diag';
const HEALTHY = 'i-0a1b2c3d4e5f60001';
const DROP = 'i-0a1b2c3d4e5f60002';
const OFFLINE = 'i-0a1b2c3d4e5f60003';

/** Relays TCP connections to `to`; runs inside a namespace (argv: listenHost listenPort toHost toPort). */
const FORWARDER = `
const net = require('node:net');
const [listenHost, listenPort, toHost, toPort] = process.argv.slice(1);
const server = net.createServer((inbound) => {
  const outbound = net.connect(Number(toPort), toHost);
  inbound.pipe(outbound).pipe(inbound);
  inbound.on('error', () => outbound.destroy());
  outbound.on('error', () => inbound.destroy());
});
server.listen(Number(listenPort), listenHost, () => process.stdout.write('READY\\n'));
`;

function sh(argv: string[]): void {
  const result = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${argv.join(' ')}: ${result.stderr.trim()}`);
}

interface Link {
  hostSide: string;
  close(): Promise<void>;
}

/** A veth pair between the host and the world's namespace, and the two forwarders that carry S3 traffic over it. */
async function linkToS3(world: NodeWorld, network: number[], s3Port: number): Promise<Link> {
  const id = world.namespace.slice(-8);
  const hostSide = `edh${id}`;
  const nodeSide = `edn${id}`;
  const [a, b, c, d = 0] = network;
  const hostIp = `${a}.${b}.${c}.${d + 1}`;
  const nodeIp = `${a}.${b}.${c}.${d + 2}`;
  sh(['ip', 'link', 'add', hostSide, 'type', 'veth', 'peer', 'name', nodeSide, 'netns', world.namespace]);
  let relay: Server | undefined;
  const sockets = new Set<Socket>();
  try {
    sh(['ip', 'addr', 'add', `${hostIp}/30`, 'dev', hostSide]);
    sh(['ip', 'link', 'set', hostSide, 'up']);
    sh(['ip', '-n', world.namespace, 'addr', 'add', `${nodeIp}/30`, 'dev', nodeSide]);
    sh(['ip', '-n', world.namespace, 'link', 'set', nodeSide, 'up']);
    const server = createServer((inbound) => {
      const outbound = createConnection(s3Port, '127.0.0.1');
      sockets.add(inbound).add(outbound);
      inbound.on('close', () => sockets.delete(inbound));
      outbound.on('close', () => sockets.delete(outbound));
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    relay = server;
    await new Promise<void>((done) => server.listen(0, hostIp, done));
    const relayPort = (server.address() as { port: number }).port;
    const forwarder = world.spawn(['node', '-e', FORWARDER, '127.0.0.1', String(s3Port), hostIp, String(relayPort)]);
    await new Promise<void>((done, fail) => {
      let said = '';
      forwarder.stdout?.on('data', (chunk: Buffer) => {
        said += chunk.toString();
        if (said.includes('READY')) done();
      });
      forwarder.on('exit', (code) => fail(new Error(`the forwarder in ${world.namespace} exited ${code}`)));
    });
  } catch (error) {
    relay?.close();
    spawnSync('ip', ['link', 'del', hostSide]);
    throw error;
  }
  return {
    hostSide,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => (relay ? relay.close(() => done()) : done()));
      spawnSync('ip', ['link', 'del', hostSide]);
    },
  };
}

/**
 * Three octets of a /24 inside the node's VPC CIDR that this machine does not route anywhere itself. Inside the VPC
 * CIDR, as an S3 interface endpoint would be: the VPC CNI's SNAT rule (`AWS-SNAT-CHAIN-0`) returns early for VPC
 * destinations, where anything else would leave the namespace rewritten to the node's private IP and never come back.
 */
function freeNetwork(world: NodeWorld): number[] {
  const match = /^(\d+)\.(\d+)\.0\.0\/16$/.exec(world.scenario.node.vpcCidr);
  if (!match) throw new Error(`expected a /16 VPC CIDR, got ${world.scenario.node.vpcCidr}`);
  const [a, b] = [Number(match[1]), Number(match[2])];
  const start = randomBytes(1)[0] ?? 0;
  for (let i = 0; i < 15; i++) {
    const third = 240 + ((start + i) % 15);
    const routes = spawnSync('ip', ['-4', 'route', 'show', 'match', `${a}.${b}.${third}.1`], { encoding: 'utf8' });
    const specific = routes.stdout.split('\n').filter((line) => line.trim() && !line.startsWith('default'));
    if (routes.status === 0 && specific.length === 0) return [a, b, third];
  }
  throw new Error(`this machine routes every ${a}.${b}.240-254.0/24 already; cannot place the test's veth pairs`);
}

function ensureAgentBuilt(): void {
  if (
    existsSync(join(dist, 'eks-node-diag-agent-linux-x64')) &&
    existsSync(join(dist, 'eks-node-diag-agent-linux-x64.sha256'))
  )
    return;
  const built = spawnSync('npm', ['run', '--silent', 'build:agent', '--', '--no-measure'], {
    cwd: root,
    encoding: 'utf8',
    stdio: 'inherit',
  });
  if (built.status !== 0) throw new Error('npm run build:agent failed');
}

const workDirs = () => new Set(readdirSync('/var/tmp').filter((name) => name.startsWith('eks-node-diag.')));

describe.skipIf(!simulationAvailable())('dispatch through SSM to three simulated nodes', () => {
  let dir: string;
  let s3: S3Server;
  let ssm: SsmServer;
  const worlds: NodeWorld[] = [];
  const links: Link[] = [];
  let result: { code: number; stdout: string; stderr: string };
  let out: string;
  let workDirsBefore: Set<string>;

  beforeAll(async () => {
    ensureAgentBuilt();
    await new Promise<void>((done, fail) =>
      execFile(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root }, (error) =>
        error ? fail(error) : done(),
      ),
    );
    dir = await mkdtemp(join(tmpdir(), 'dispatch-nodes-'));
    out = join(dir, 'out');
    s3 = await S3Server.start({
      buckets: [BUCKET],
      credentials: [DEFAULT_SSM_CREDENTIALS],
      maxObjectBytes: 256 * 1024 * 1024,
    });
    const s3Port = Number(new URL(s3.url).port);
    const [healthy, drop] = await Promise.all([createNodeWorld('healthy'), createNodeWorld('forward-drop-custom-ami')]);
    worlds.push(healthy as NodeWorld, drop as NodeWorld);
    for (const [index, world] of worlds.entries())
      links.push(await linkToS3(world, [...freeNetwork(world), index * 4].slice(0, 4), s3Port));
    ssm = await SsmServer.start({
      targets: [
        {
          instanceId: HEALTHY,
          name: 'ip-10-0-1-11.ec2.internal',
          tags: { 'eks:cluster-name': 'e2e' },
          run: { kind: 'script', namespace: healthy?.namespace, env: { EKS_NODE_DIAG_ROOT: healthy?.root as string } },
        },
        {
          instanceId: DROP,
          name: 'ip-10-0-1-12.ec2.internal',
          tags: { 'eks:cluster-name': 'e2e' },
          run: { kind: 'script', namespace: drop?.namespace, env: { EKS_NODE_DIAG_ROOT: drop?.root as string } },
        },
        { instanceId: OFFLINE, tags: { 'eks:cluster-name': 'e2e' }, connection: 'offline' },
      ],
    });
    workDirsBefore = workDirs();
    result = await new Promise((done) => {
      const child = spawn(
        process.execPath,
        [
          cli,
          'dispatch',
          '--instance-ids',
          `${HEALTHY},${DROP},${OFFLINE}`,
          '--bucket',
          BUCKET,
          '--install-document',
          '--analyze',
          '--timeout',
          '5m',
          '--since',
          '24h',
          '--out',
          out,
          '--agent-dir',
          dist,
          '--poll-interval',
          '500ms',
        ],
        {
          env: {
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
          },
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
    });
  }, 600_000);

  afterAll(async () => {
    await ssm?.close();
    for (const link of links) await link.close();
    for (const world of worlds) await world.dispose();
    await s3?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const invocation = (instanceId: string) => ssm.commands()[0]?.invocations.find((i) => i.instanceId === instanceId);

  it('ends with the per-node table: two bundles collected, the offline node Undeliverable, exit 6', () => {
    const onNodes = [HEALTHY, DROP].map((id) => `--- ${id}:\n${invocation(id)?.stdout}\n${invocation(id)?.stderr}`);
    expect(result.code, `${result.stdout}\n${result.stderr}\n${onNodes.join('\n')}`).toBe(6);
    const rows = result.stdout.split('\n');
    expect(rows[0]).toMatch(/^NODE\s+STATUS\s+DURATION\s+BUNDLE\s+ERROR$/);
    expect(rows.find((row) => row.startsWith(OFFLINE))).toMatch(/undeliverable\s+\S+\s+-\s+SSM could not deliver/);
    expect(rows.find((row) => row.startsWith(HEALTHY))).toMatch(/ok\s+\d+s\s+[\d.]+ (KiB|MiB)\s*$/);
    expect(rows.find((row) => row.startsWith(DROP))).toMatch(/ok\s+\d+s\s+[\d.]+ (KiB|MiB)\s*$/);
    expect(result.stdout).toMatch(/3 nodes: 2 ok, 1 undeliverable/);
    expect(ssm.commands()).toHaveLength(1);
    expect(ssm.commands()[0]?.documentName).toBe('EKSNodeDiag-Collect');
  });

  it('ran the real single executable on each node: presigned GET, sha256 checked, one JSON result line', async () => {
    const agentKey = (await readFile(join(dist, 'eks-node-diag-agent-linux-x64.sha256'), 'utf8')).split(/\s+/)[0];
    const downloads = s3.requests.filter((r) => r.method === 'GET' && r.key?.endsWith('eks-node-diag-agent-linux-x64'));
    expect(downloads).toHaveLength(2);
    expect(
      downloads.every((r) => r.auth === 'presigned' && r.status === 200 && r.key?.includes(agentKey as string)),
    ).toBe(true);
    for (const id of [HEALTHY, DROP]) {
      const record = invocation(id);
      expect(record?.status).toBe('Success');
      const lines = record?.stdout.trim().split('\n') ?? [];
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0] as string)).toMatchObject({
        eksNodeDiag: 'node-result@1',
        instanceId: id,
        arch: 'x64',
        status: 'uploaded',
        exitCode: 0,
        key: `eks-node-diag/${ssm.commands()[0]?.commandId}/${id}.tar.gz`,
      });
      expect(record?.stderr).toMatch(/collecting \(since 24h/);
    }
    expect(invocation(OFFLINE)).toMatchObject({ status: 'Failed', statusDetails: 'Undeliverable', responseCode: -1 });
  });

  it('uploaded through the POST policy under <prefix>/<command-id>/ and cleaned up the nodes', () => {
    const commandId = ssm.commands()[0]?.commandId;
    const uploads = s3.requests.filter((r) => r.method === 'POST' && r.status < 300);
    expect(uploads.map((r) => r.key).sort()).toEqual(
      [HEALTHY, DROP].map((id) => `eks-node-diag/${commandId}/${id}.tar.gz`).sort(),
    );
    expect(uploads.every((r) => r.auth === 'post-policy')).toBe(true);
    const left = [...workDirs()].filter((name) => !workDirsBefore.has(name));
    expect(left).toEqual([]);
  });

  it('downloaded both bundles, analyzed them: forward-policy-drop fails on the DROP node only', async () => {
    const verdict = async (id: string) => {
      const report = JSON.parse(await readFile(join(out, `${id}.report.json`), 'utf8'));
      return report.rules.find((rule: { id: string }) => rule.id === 'forward-policy-drop')?.verdict;
    };
    for (const id of [HEALTHY, DROP]) expect(existsSync(join(out, `${id}.tar.gz`))).toBe(true);
    expect(existsSync(join(out, `${OFFLINE}.tar.gz`))).toBe(false);
    expect(await verdict(DROP)).toBe('fail');
    expect(await verdict(HEALTHY)).toBe('pass');
    expect(existsSync(join(out, `${HEALTHY}.report.html`))).toBe(true);
  });

  it('wrote a fleet index that shows all three nodes as they are', async () => {
    const html = await readFile(join(out, 'index.html'), 'utf8');
    for (const id of [HEALTHY, DROP, OFFLINE]) expect(html).toContain(id);
    expect(html).toContain('undeliverable');
    const model = JSON.parse(await readFile(join(out, 'fleet.json'), 'utf8'));
    const nodes = model.groups.flatMap((group: { nodes: unknown[] }) => group.nodes) as {
      instanceId: string;
      status: string;
      outcome: string;
      cells: { ruleId: string; state: string }[];
    }[];
    const node = (id: string) => nodes.find((n) => n.instanceId === id);
    expect(node(OFFLINE)).toMatchObject({ status: 'undeliverable', outcome: 'no-report' });
    expect(node(DROP)?.cells.find((cell) => cell.ruleId === 'forward-policy-drop')?.state).toBe('fail');
    expect(node(HEALTHY)?.cells.find((cell) => cell.ruleId === 'forward-policy-drop')?.state).toBe('pass');
    expect(model.summary).toMatchObject({ nodes: 3, analyzed: 2, withoutReport: 1 });
    const summary = JSON.parse(await readFile(join(out, 'dispatch.json'), 'utf8'));
    expect(summary.outcomes.map((o: { status: string }) => o.status)).toEqual(['ok', 'ok', 'undeliverable']);
  });
});
