/**
 * A real HTTPS API server on 127.0.0.1 with a CA made by openssl for this run, and node roots whose kubelet kubeconfig
 * points at it: a bearer token, an exec plugin (a shell script printing an ExecCredential), a client certificate, and
 * the ways it goes wrong (no kubeconfig, no server, server down, wrong CA, a refused token, a plugin that fails or
 * hangs, an endpoint that never answers).
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { text } from 'node:stream/consumers';
import type { TLSSocket } from 'node:tls';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactText } from '../redact/engine.ts';
import type { SourceContext } from '../sources/types.ts';
import { runDerived } from './derived.ts';
import { findNodeName, kubeletPods } from './kube-pods.ts';

const NODE_NAME = 'ip-10-0-1-23.us-west-2.compute.internal';
const TOKEN = 'k8s-aws-v1.aHR0cHM6Ly9zdHMudXMtd2VzdC0yLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eQ';
const PLUGIN_TOKEN = 'k8s-aws-v1.cGx1Z2luLW1pbnRlZC10b2tlbi1mb3ItdGhlLXRlc3Q';
const CLIENT_CN = `system:node:${NODE_NAME}`;
const EXEC_API = 'client.authentication.k8s.io/v1beta1';

const AWS_NODE_POD = {
  metadata: { name: 'aws-node-7xk2p', namespace: 'kube-system', labels: { 'k8s-app': 'aws-node' } },
  spec: {
    nodeName: NODE_NAME,
    containers: [
      {
        name: 'aws-node',
        image: '602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1',
        env: [
          { name: 'WARM_ENI_TARGET', value: '1' },
          { name: 'DB_PASSWORD', value: 'hunter2-in-a-pod-spec' },
        ],
        resources: { requests: { cpu: '25m' } },
        livenessProbe: { exec: { command: ['/app/grpc-health-probe', '-addr=:50051'] }, timeoutSeconds: 10 },
      },
    ],
  },
  status: { phase: 'Running' },
};

interface Seen {
  path: string;
  fieldSelector: string | null;
  authorization: string | undefined;
  clientCn: string | undefined;
}

let scratch: string;
let pki: Record<'ca' | 'caKey' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey' | 'otherCa', string>;
let server: Server;
let port: number;
const seen: Seen[] = [];
/** What the next answer is: a PodList, or a body that is not one. */
let answer: 'pods' | 'html' = 'pods';

async function openssl(args: string[]): Promise<void> {
  await execa('openssl', args, { cwd: scratch, stdin: 'ignore' });
}

async function makePki(): Promise<typeof pki> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-subj',
    '/CN=kubernetes',
    '-days',
    '1',
  ]);
  await openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'other.key',
    '-out',
    'other.crt',
    '-subj',
    '/CN=other',
    '-days',
    '1',
  ]);
  await writeFile(join(scratch, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:kubernetes.default.svc\n');
  await writeFile(join(scratch, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, subject] of [
    ['server', '/CN=kube-apiserver'],
    ['client', `/O=system:nodes/CN=${CLIENT_CN}`],
  ] as const) {
    await openssl(['req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
    await openssl([
      ...['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'],
      ...['-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`],
    ]);
  }
  const read = (name: string) => readFile(join(scratch, name), 'utf8');
  return {
    ca: await read('ca.crt'),
    caKey: await read('ca.key'),
    serverCert: await read('server.crt'),
    serverKey: await read('server.key'),
    clientCert: await read('client.crt'),
    clientKey: await read('client.key'),
    otherCa: await read('other.crt'),
  };
}

function handle(request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? '/', 'https://127.0.0.1');
  const socket = request.socket as TLSSocket;
  const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
  const clientCn = peer?.subject ? String(peer.subject.CN) : undefined;
  seen.push({
    path: url.pathname,
    fieldSelector: url.searchParams.get('fieldSelector'),
    authorization: request.headers.authorization,
    clientCn,
  });
  const status = (code: number, message: string) => {
    response.writeHead(code, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code }));
  };
  const authorized = [`Bearer ${TOKEN}`, `Bearer ${PLUGIN_TOKEN}`].includes(request.headers.authorization ?? '');
  if (!authorized && clientCn !== CLIENT_CN) status(401, 'Unauthorized');
  else if (url.pathname !== '/api/v1/pods') status(404, 'the server could not find the requested resource');
  else if (url.searchParams.get('fieldSelector') !== `spec.nodeName=${NODE_NAME}`) {
    status(403, 'pods is forbidden: the node may only list its own pods');
  } else if (answer === 'html') {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<html>proxy login</html>');
  } else {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: [AWS_NODE_POD] }));
  }
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'kube-pods-'));
  pki = await makePki();
  server = createHttpsServer(
    { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true, rejectUnauthorized: false },
    handle,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
}, 30_000);

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await rm(scratch, { recursive: true, force: true });
});

function context(root: string, overrides: Partial<SourceContext> = {}): SourceContext {
  return {
    root,
    signal: new AbortController().signal,
    timeoutMs: 20_000,
    maxBytes: 16 << 20,
    tail: false,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' },
    ...overrides,
  };
}

let roots = 0;

/** A node root with the given files (paths from the node's `/`); the kubelet's node name is set unless overridden. */
async function nodeRoot(files: Record<string, string>): Promise<string> {
  const root = join(scratch, `root-${++roots}`);
  const all: Record<string, string> = {
    '/etc/eks/kubelet/environment': `NODEADM_KUBELET_ARGS="--node-ip=10.0.1.23 --hostname-override=${NODE_NAME} --v=2"\n`,
    ...files,
  };
  for (const [path, content] of Object.entries(all)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}

function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}

/** A kubelet kubeconfig as nodeadm writes it, with the cluster and user fields given. */
function kubeconfig(cluster: string[], user: string[]): string {
  const indent = (lines: string[]) => lines.map((line) => `      ${line}`).join('\n');
  return `---
apiVersion: v1
kind: Config
clusters:
  - name: kubernetes
    cluster:
${indent(cluster)}
current-context: kubelet
contexts:
  - name: other
    context:
      cluster: nowhere
      user: nobody
  - name: kubelet
    context:
      cluster: kubernetes
      user: kubelet
users:
  - name: nobody
    user:
      token: not-this-one
  - name: kubelet
    user:
${indent(user)}
`;
}

const serverLines = () => [`certificate-authority-data: ${b64(pki.ca)}`, `server: https://127.0.0.1:${port}`];

function podNames(output: string): string[] {
  const list = JSON.parse(output) as { kind: string; items: { metadata: { name: string } }[] };
  expect(list.kind).toBe('PodList');
  return list.items.map((pod) => pod.metadata.name);
}

describe('kubelet-pods with a bearer token', () => {
  it("GETs the node's pods with the token and the node's fieldSelector, and writes the PodList", async () => {
    const root = await nodeRoot({ '/var/lib/kubelet/kubeconfig': kubeconfig(serverLines(), [`token: ${TOKEN}`]) });
    seen.length = 0;
    const run = runDerived('kubelet-pods', context(root));
    const [output, outcome] = await Promise.all([text(run.stream), run.done]);
    expect(outcome).toEqual({ status: 'ok' });
    expect(podNames(output)).toEqual(['aws-node-7xk2p']);
    // Pretty-printed, so the env entries sit on their own lines for the line-based redactors.
    expect(output).toContain('"name": "WARM_ENI_TARGET",\n');
    // The item goes through the default redactors: the secret env value is masked and the JSON still parses.
    const redacted = redactText(output);
    expect(redacted.count).toBe(1);
    expect(redacted.text).not.toContain('hunter2-in-a-pod-spec');
    expect(podNames(redacted.text)).toEqual(['aws-node-7xk2p']);
    expect(seen).toEqual([
      {
        path: '/api/v1/pods',
        fieldSelector: `spec.nodeName=${NODE_NAME}`,
        authorization: `Bearer ${TOKEN}`,
        clientCn: undefined,
      },
    ]);
  });

  it('reads a tokenFile and a CA file relative to the kubeconfig, from the older kubeconfig path', async () => {
    const root = await nodeRoot({
      '/etc/kubernetes/kubelet/kubeconfig': kubeconfig(
        ['certificate-authority: ../pki/ca.crt', `server: https://127.0.0.1:${port}/`],
        ['tokenFile: /var/run/kubelet/token'],
      ),
      '/etc/kubernetes/pki/ca.crt': pki.ca,
      '/var/run/kubelet/token': `${TOKEN}\n`,
    });
    seen.length = 0;
    const result = await kubeletPods(context(root));
    expect(result.outcome).toEqual({ status: 'ok' });
    expect(podNames(result.text)).toEqual(['aws-node-7xk2p']);
    expect(seen[0]?.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('records the HTTP status and the API server message when the token is refused', async () => {
    const root = await nodeRoot({ '/var/lib/kubelet/kubeconfig': kubeconfig(serverLines(), ['token: expired']) });
    const result = await kubeletPods(context(root));
    expect(result).toEqual({
      text: '',
      outcome: { status: 'error', reason: `HTTP 401 Unauthorized from 127.0.0.1:${port}: Unauthorized` },
    });
  });

  it('refuses a 200 whose body is not a PodList', async () => {
    const root = await nodeRoot({ '/var/lib/kubelet/kubeconfig': kubeconfig(serverLines(), [`token: ${TOKEN}`]) });
    answer = 'html';
    try {
      const result = await kubeletPods(context(root));
      expect(result.outcome).toEqual({
        status: 'error',
        reason: `HTTP 200 from 127.0.0.1:${port} but the body is not a PodList`,
      });
      expect(result.text).toBe('');
    } finally {
      answer = 'pods';
    }
  });
});

describe('kubelet-pods with an exec plugin', () => {
  async function plugin(name: string, body: string): Promise<string> {
    const path = join(scratch, name);
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return path;
  }

  function execLines(command: string, extra: string[] = []): string[] {
    return [
      'exec:',
      `  apiVersion: ${EXEC_API}`,
      `  command: ${command}`,
      '  args: ["token", "-i", "shop-prod", "--region", "us-west-2"]',
      '  env:',
      '    - name: AWS_STS_REGIONAL_ENDPOINTS',
      '      value: regional',
      ...extra,
    ];
  }

  it("runs the plugin with the kubeconfig's argv and env and KUBERNETES_EXEC_INFO, and uses status.token", async () => {
    const record = join(scratch, 'plugin-call.txt');
    const command = await plugin(
      'aws-iam-authenticator',
      [
        `printf '%s\\n' "$*" "$AWS_STS_REGIONAL_ENDPOINTS" "$KUBERNETES_EXEC_INFO" "\${HOME:-no home}" > '${record}'`,
        `printf '{"kind":"ExecCredential","apiVersion":"${EXEC_API}","spec":{},"status":{"expirationTimestamp":"2030-01-01T00:00:00Z","token":"${PLUGIN_TOKEN}"}}\\n'`,
      ].join('\n'),
    );
    const root = await nodeRoot({ '/var/lib/kubelet/kubeconfig': kubeconfig(serverLines(), execLines(command)) });
    seen.length = 0;
    const result = await kubeletPods(context(root));
    expect(result.outcome).toEqual({ status: 'ok' });
    expect(podNames(result.text)).toEqual(['aws-node-7xk2p']);
    expect(seen.map((request) => request.authorization)).toEqual([`Bearer ${PLUGIN_TOKEN}`]);
    const [argv, regional, execInfo, home] = (await readFile(record, 'utf8')).split('\n');
    expect(argv).toBe('token -i shop-prod --region us-west-2');
    expect(regional).toBe('regional');
    expect(JSON.parse(execInfo ?? '')).toEqual({
      kind: 'ExecCredential',
      apiVersion: EXEC_API,
      spec: { interactive: false },
    });
    // Only the item's environment and the kubeconfig's entries: nothing of the agent's own leaks to the plugin.
    expect(home).toBe('no home');
  });

  it('hands the cluster to the plugin when provideClusterInfo is set', async () => {
    const record = join(scratch, 'plugin-cluster.txt');
    const command = await plugin(
      'cluster-info-plugin',
      [
        `printf '%s' "$KUBERNETES_EXEC_INFO" > '${record}'`,
        `printf '{"kind":"ExecCredential","apiVersion":"${EXEC_API}","status":{"token":"${PLUGIN_TOKEN}"}}'`,
      ].join('\n'),
    );
    const root = await nodeRoot({
      '/var/lib/kubelet/kubeconfig': kubeconfig(serverLines(), execLines(command, ['  provideClusterInfo: true'])),
    });
    const result = await kubeletPods(context(root));
    expect(result.outcome).toEqual({ status: 'ok' });
    const info = JSON.parse(await readFile(record, 'utf8')) as { spec: Record<string, unknown> };
    expect(info.spec).toEqual({
      interactive: false,
      cluster: { server: `https://127.0.0.1:${port}/`, 'certificate-authority-data': b64(pki.ca) },
    });
  });

  it('records a failing plugin with its exit code and stderr, and never contacts the server', async () => {
    const command = await plugin('failing-plugin', 'echo "could not get token: NoCredentialProviders" >&2\nexit 1');
    const root = await nodeRoot({ '/var/lib/kubelet/kubeconfig': kubeconfig(serverLines(), execLines(command)) });
    seen.length = 0;
    const result = await kubeletPods(context(root));
    expect(result.outcome).toEqual({
      status: 'error',
      reason: `exec plugin ${command} exited 1: could not get token: NoCredentialProviders`,
    });
    expect(seen).toEqual([]);
  });

  it('records a plugin that is not installed, or prints something other than an ExecCredential', async () => {
    const missing = await nodeRoot({
      '/var/lib/kubelet/kubeconfig': kubeconfig(serverLines(), execLines('no-such-authenticator-here')),
    });
    expect((await kubeletPods(context(missing))).outcome).toEqual({
      status: 'error',
      reason: 'exec plugin no-such-authenticator-here not found (kubeconfig user.exec)',
    });
    const garbage = await plugin('garbage-plugin', 'echo "Usage: authenticator [command]"');
    const garbageRoot = await nodeRoot({
      '/var/lib/kubelet/kubeconfig': kubeconfig(serverLines(), execLines(garbage)),
    });
    expect((await kubeletPods(context(garbageRoot))).outcome).toEqual({
      status: 'error',
      reason: `exec plugin ${garbage} did not print an ExecCredential (not JSON)`,
    });
    const tokenless = await plugin(
      'tokenless-plugin',
      `printf '{"kind":"ExecCredential","apiVersion":"${EXEC_API}","status":{}}'`,
    );
    const tokenlessRoot = await nodeRoot({
      '/var/lib/kubelet/kubeconfig': kubeconfig(serverLines(), execLines(tokenless)),
    });
    expect((await kubeletPods(context(tokenlessRoot))).outcome).toEqual({
      status: 'error',
      reason: `exec plugin ${tokenless} printed an ExecCredential without status.token`,
    });
  });

  it('stops a plugin that hangs when the item runs out of time', async () => {
    const command = await plugin('hanging-plugin', 'sleep 30');
    const root = await nodeRoot({ '/var/lib/kubelet/kubeconfig': kubeconfig(serverLines(), execLines(command)) });
    const started = Date.now();
    const result = await kubeletPods(context(root, { timeoutMs: 800 }));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result.outcome.status).toBe('error');
    expect(result.outcome.reason).toMatch(/^exec plugin .*hanging-plugin stopped: TimeoutError/);
  });
});

describe('kubelet-pods with a client certificate', () => {
  it('authenticates with client-certificate and client-key files under the root', async () => {
    const root = await nodeRoot({
      '/var/lib/kubelet/kubeconfig': kubeconfig(serverLines(), [
        'client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem',
        'client-key: /var/lib/kubelet/pki/kubelet-client-current.pem',
      ]),
      '/var/lib/kubelet/pki/kubelet-client-current.pem': `${pki.clientCert}${pki.clientKey}`,
    });
    seen.length = 0;
    const result = await kubeletPods(context(root));
    expect(result.outcome).toEqual({ status: 'ok' });
    expect(podNames(result.text)).toEqual(['aws-node-7xk2p']);
    expect(seen).toEqual([
      {
        path: '/api/v1/pods',
        fieldSelector: `spec.nodeName=${NODE_NAME}`,
        authorization: undefined,
        clientCn: CLIENT_CN,
      },
    ]);
  });

  it('authenticates with inline certificate data', async () => {
    const root = await nodeRoot({
      '/var/lib/kubelet/kubeconfig': kubeconfig(serverLines(), [
        `client-certificate-data: ${b64(pki.clientCert)}`,
        `client-key-data: ${b64(pki.clientKey)}`,
      ]),
    });
    expect((await kubeletPods(context(root))).outcome).toEqual({ status: 'ok' });
  });

  it('refuses a certificate without its key', async () => {
    const root = await nodeRoot({
      '/var/lib/kubelet/kubeconfig': kubeconfig(serverLines(), [`client-certificate-data: ${b64(pki.clientCert)}`]),
    });
    expect((await kubeletPods(context(root))).outcome).toEqual({
      status: 'error',
      reason: 'kubeconfig has a client certificate without its key, or a key without it',
    });
  });
});

describe('kubelet-pods when it cannot ask', () => {
  it('is skipped without a kubeconfig', async () => {
    const root = await nodeRoot({});
    const run = runDerived('kubelet-pods', context(root));
    expect(await text(run.stream)).toBe('');
    expect(await run.done).toEqual({
      status: 'skipped',
      reason: 'no kubelet kubeconfig (/var/lib/kubelet/kubeconfig, /etc/kubernetes/kubelet/kubeconfig)',
    });
  });

  it('is skipped when the kubeconfig names no server', async () => {
    // The shape of a kubeconfig holding only a user, as the e2e secrets test plants.
    const root = await nodeRoot({
      '/var/lib/kubelet/kubeconfig': `apiVersion: v1\nkind: Config\nusers:\n- name: kubelet\n  user:\n    token: ${TOKEN}\n`,
    });
    expect((await kubeletPods(context(root))).outcome).toEqual({
      status: 'skipped',
      reason: '/var/lib/kubelet/kubeconfig names no API server (no cluster server in its current context)',
    });
  });

  it('records malformed kubeconfigs and servers as errors', async () => {
    const yaml = await nodeRoot({ '/var/lib/kubelet/kubeconfig': 'clusters:\n  - name: [unclosed\n' });
    const broken = await kubeletPods(context(yaml));
    expect(broken.outcome.status).toBe('error');
    expect(broken.outcome.reason).toMatch(/^\/var\/lib\/kubelet\/kubeconfig is not valid YAML: /);

    const notYamlMap = await nodeRoot({ '/var/lib/kubelet/kubeconfig': '- just\n- a list\n' });
    expect((await kubeletPods(context(notYamlMap))).outcome.status).toBe('skipped');

    const plain = await nodeRoot({
      '/var/lib/kubelet/kubeconfig': kubeconfig([`server: http://127.0.0.1:${port}`], [`token: ${TOKEN}`]),
    });
    expect((await kubeletPods(context(plain))).outcome).toEqual({
      status: 'error',
      reason: `/var/lib/kubelet/kubeconfig: server http://127.0.0.1:${port} is not https; the node's credentials are not sent in clear`,
    });

    const missingCa = await nodeRoot({
      '/var/lib/kubelet/kubeconfig': kubeconfig(
        ['certificate-authority: /etc/kubernetes/pki/ca.crt', `server: https://127.0.0.1:${port}`],
        [`token: ${TOKEN}`],
      ),
    });
    expect((await kubeletPods(context(missingCa))).outcome).toEqual({
      status: 'error',
      reason: 'kubeconfig certificate-authority /etc/kubernetes/pki/ca.crt cannot be read under the node root',
    });
  });

  it('records a refused connection when the API server is down', async () => {
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const downPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const root = await nodeRoot({
      '/var/lib/kubelet/kubeconfig': kubeconfig(
        [`certificate-authority-data: ${b64(pki.ca)}`, `server: https://127.0.0.1:${downPort}`],
        [`token: ${TOKEN}`],
      ),
    });
    const result = await kubeletPods(context(root));
    expect(result.outcome.status).toBe('error');
    expect(result.outcome.reason).toMatch(new RegExp(`^cannot reach 127\\.0\\.0\\.1:${downPort}: ECONNREFUSED`));
  });

  it('records a TLS failure against a CA that did not sign the server, and sends no token', async () => {
    const root = await nodeRoot({
      '/var/lib/kubelet/kubeconfig': kubeconfig(
        [`certificate-authority-data: ${b64(pki.otherCa)}`, `server: https://127.0.0.1:${port}`],
        [`token: ${TOKEN}`],
      ),
    });
    seen.length = 0;
    const result = await kubeletPods(context(root));
    expect(result.outcome.status).toBe('error');
    expect(result.outcome.reason).toMatch(new RegExp(`^TLS with 127\\.0\\.0\\.1:${port} failed: [A-Z_]+: `));
    expect(seen).toEqual([]);
  });

  it('records a TLS failure when the server name does not match', async () => {
    const root = await nodeRoot({
      '/var/lib/kubelet/kubeconfig': kubeconfig(
        [...serverLines(), 'tls-server-name: api.elsewhere.example'],
        [`token: ${TOKEN}`],
      ),
    });
    const result = await kubeletPods(context(root));
    expect(result.outcome.reason).toMatch(/^TLS with .* failed: ERR_TLS_CERT_ALTNAME_INVALID: /);
  });

  it('gives up on a server that accepts and never answers within the item time, not later', async () => {
    const silent: TcpServer = createTcpServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as AddressInfo).port;
    try {
      const root = await nodeRoot({
        '/var/lib/kubelet/kubeconfig': kubeconfig(
          [`certificate-authority-data: ${b64(pki.ca)}`, `server: https://127.0.0.1:${silentPort}`],
          [`token: ${TOKEN}`],
        ),
      });
      const started = Date.now();
      const result = await kubeletPods(context(root, { timeoutMs: 600 }));
      expect(Date.now() - started).toBeLessThan(3000);
      expect(result.outcome.status).toBe('error');
      expect(result.outcome.reason).toMatch(/^stopped: TimeoutError/);
    } finally {
      silent.close();
    }
  });

  it('stops at once when the run is stopped', async () => {
    const root = await nodeRoot({ '/var/lib/kubelet/kubeconfig': kubeconfig(serverLines(), [`token: ${TOKEN}`]) });
    const controller = new AbortController();
    controller.abort('deadline');
    const result = await kubeletPods(context(root, { signal: controller.signal }));
    expect(result.outcome).toEqual({ status: 'error', reason: 'stopped before the request: deadline' });
  });

  it('never puts the token in a reason', async () => {
    const closedRoot = await nodeRoot({
      '/var/lib/kubelet/kubeconfig': kubeconfig(
        [`certificate-authority-data: ${b64(pki.otherCa)}`, `server: https://127.0.0.1:${port}`],
        [`token: ${TOKEN}`],
      ),
    });
    const result = await kubeletPods(context(closedRoot));
    expect(JSON.stringify(result)).not.toContain(TOKEN.slice(10, 30));
  });
});

describe('findNodeName', () => {
  it("takes kubelet's --hostname-override, in either flag form, lowercased", async () => {
    const equals = await nodeRoot({
      '/etc/eks/kubelet/environment': `NODEADM_KUBELET_ARGS="--hostname-override=IP-10-0-1-23.EC2.internal --v=2"\n`,
    });
    expect(await findNodeName(context(equals))).toBe('ip-10-0-1-23.ec2.internal');
    const spaced = await nodeRoot({
      '/etc/eks/kubelet/environment': 'KUBELET_EXTRA_ARGS=--hostname-override i-0abc.us-west-2.compute.internal\n',
    });
    expect(await findNodeName(context(spaced))).toBe('i-0abc.us-west-2.compute.internal');
  });

  it('falls back to the host name under the root, else none', async () => {
    const hostname = await nodeRoot({
      '/etc/eks/kubelet/environment': 'NODEADM_KUBELET_ARGS="--node-ip=10.0.1.23"\n',
      '/proc/sys/kernel/hostname': 'ip-10-0-9-9.us-west-2.compute.internal\n',
    });
    expect(await findNodeName(context(hostname))).toBe('ip-10-0-9-9.us-west-2.compute.internal');
    const none = await nodeRoot({ '/etc/eks/kubelet/environment': '' });
    expect(await findNodeName(context(none))).toBeUndefined();
  });

  it('is skipped without a node name, before any credential is fetched', async () => {
    const root = await nodeRoot({
      '/etc/eks/kubelet/environment': '',
      '/var/lib/kubelet/kubeconfig': kubeconfig(serverLines(), [`token: ${TOKEN}`]),
    });
    expect((await kubeletPods(context(root))).outcome).toEqual({
      status: 'skipped',
      reason: 'node name unknown: no --hostname-override in /etc/eks/kubelet/environment, no hostname',
    });
  });
});
