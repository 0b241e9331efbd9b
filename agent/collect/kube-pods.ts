/**
 * The node's own pods as the API server has them (aws-node's resources, probes and env), read with the kubelet's
 * kubeconfig: the current context's server and CA, and its user's token, token file, client certificate or exec
 * plugin (EKS: `aws eks get-token`, `aws-iam-authenticator token`). A token from a plugin lives in memory only: it
 * goes into the request's header and nowhere else (never into a file, a reason or a log line).
 *
 * The kubeconfig, its CA and key files are read under the node root; an exec plugin runs from the agent's own PATH,
 * like every command. No kubeconfig or no server is `skipped`; anything the plugin, the connection, TLS or the API
 * server refuses is `error` with what went wrong. Every step has its own time limit inside the item's, so an
 * unreachable API server costs at most the item's time limit and never blocks the run.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { posix } from 'node:path';
import { execa } from 'execa';
import { parse as parseYaml } from 'yaml';
import { resolveUnderRoot } from '../sources/file.ts';
import type { SourceContext, SourceOutcome } from '../sources/types.ts';

/** Where the kubelet's kubeconfig is: nodeadm and the AL2 bootstrap write the first, older AMIs the second. */
export const KUBECONFIG_PATHS = ['/var/lib/kubelet/kubeconfig', '/etc/kubernetes/kubelet/kubeconfig'] as const;
export const EXEC_PLUGIN_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 15_000;
export const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** Large enough for any ExecCredential; a plugin printing more than this is broken. */
const MAX_PLUGIN_OUTPUT_BYTES = 1024 * 1024;
const REASON_DETAIL_CHARS = 300;

type Result = { text: string; outcome: SourceOutcome };
type Tls = { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string; insecure: boolean };
type Auth = { token?: string; cert?: Buffer; key?: Buffer };

const skipped = (reason: string): Result => ({ text: '', outcome: { status: 'skipped', reason } });
const failed = (reason: string): Result => ({ text: '', outcome: { status: 'error', reason } });

class KubeconfigError extends Error {}

export async function kubeletPods(ctx: SourceContext): Promise<Result> {
  const found = await findKubeconfig(ctx);
  if (!found) return skipped(`no kubelet kubeconfig (${KUBECONFIG_PATHS.join(', ')})`);
  let config: unknown;
  try {
    config = parseYaml(found.text);
  } catch (error) {
    return failed(`${found.path} is not valid YAML: ${firstLine(error)}`);
  }
  const { cluster, user } = currentContext(config);
  const serverText = stringField(cluster, 'server');
  if (!serverText) return skipped(`${found.path} names no API server (no cluster server in its current context)`);
  let server: URL;
  try {
    server = new URL(serverText);
  } catch {
    return failed(`${found.path}: server ${serverText} is not a URL`);
  }
  if (server.protocol !== 'https:') {
    return failed(`${found.path}: server ${server.origin} is not https; the node's credentials are not sent in clear`);
  }
  const nodeName = await findNodeName(ctx);
  if (!nodeName)
    return skipped('node name unknown: no --hostname-override in /etc/eks/kubelet/environment, no hostname');

  // The item's own limit, not only the run's: whatever this started (a plugin, a connection) stops with the item.
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.timeoutMs)]);
  const kubeconfigDir = posix.dirname(found.path);
  let tls: Tls;
  let auth: Auth;
  try {
    tls = await clusterTls(ctx, cluster, kubeconfigDir);
    auth = await userAuth(ctx, user, kubeconfigDir, { server: server.href, tls }, signal);
  } catch (error) {
    if (error instanceof KubeconfigError) return failed(error.message);
    throw error;
  }
  if (signal.aborted) return failed(`stopped before the request: ${String(signal.reason)}`);

  const url = new URL(server.href.replace(/\/*$/, '/api/v1/pods'));
  url.searchParams.set('fieldSelector', `spec.nodeName=${nodeName}`);
  return getPodList(url, tls, auth, signal);
}

async function readUnderRoot(ctx: SourceContext, path: string, limit = 1024 * 1024): Promise<Buffer | undefined> {
  const resolved = await resolveUnderRoot(ctx.root, path);
  if (!('path' in resolved) || !resolved.stats.isFile() || resolved.stats.size > limit) return undefined;
  try {
    return await readFile(resolved.path);
  } catch {
    return undefined;
  }
}

async function findKubeconfig(ctx: SourceContext): Promise<{ path: string; text: string } | undefined> {
  for (const path of KUBECONFIG_PATHS) {
    const bytes = await readUnderRoot(ctx, path);
    if (bytes) return { path, text: bytes.toString('utf8') };
  }
  return undefined;
}

/**
 * The node's name as the kubelet registers it: `--hostname-override` when nodeadm passes one, else the host name,
 * lowercased as the kubelet does.
 */
export async function findNodeName(ctx: SourceContext): Promise<string | undefined> {
  const environment = (await readUnderRoot(ctx, '/etc/eks/kubelet/environment'))?.toString('utf8') ?? '';
  const override = /--hostname-override(?:=|\s+)["']?([^\s"']+)/.exec(environment)?.[1];
  if (override) return override.toLowerCase();
  for (const path of ['/proc/sys/kernel/hostname', '/etc/hostname']) {
    const name = (await readUnderRoot(ctx, path, 4096))?.toString('utf8').trim();
    if (name) return name.toLowerCase();
  }
  return undefined;
}

type Entry = Record<string, unknown>;

function isEntry(value: unknown): value is Entry {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(entry: Entry | undefined, key: string): string | undefined {
  const value = entry?.[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The named entry of a kubeconfig list (`clusters`, `users`, `contexts`), or the only one when no name is given. */
function named(config: Entry, list: string, field: string, name: string | undefined): Entry | undefined {
  const entries = Array.isArray(config[list]) ? config[list].filter(isEntry) : [];
  const entry =
    name === undefined ? (entries.length === 1 ? entries[0] : undefined) : entries.find((e) => e.name === name);
  const inner = entry?.[field];
  return isEntry(inner) ? inner : undefined;
}

function currentContext(config: unknown): { cluster?: Entry; user?: Entry } {
  if (!isEntry(config)) return {};
  const context = named(config, 'contexts', 'context', stringField(config, 'current-context'));
  const cluster = named(config, 'clusters', 'cluster', stringField(context, 'cluster'));
  const user = named(config, 'users', 'user', stringField(context, 'user'));
  return { ...(cluster ? { cluster } : {}), ...(user ? { user } : {}) };
}

/** Inline data (base64) or a file under the root, relative paths from the kubeconfig's folder as client-go does. */
async function material(
  ctx: SourceContext,
  entry: Entry | undefined,
  dataKey: string,
  fileKey: string,
  kubeconfigDir: string,
): Promise<Buffer | undefined> {
  const data = stringField(entry, dataKey);
  if (data) return Buffer.from(data, 'base64');
  const file = stringField(entry, fileKey);
  if (!file) return undefined;
  const path = posix.resolve(kubeconfigDir, file);
  const bytes = await readUnderRoot(ctx, path);
  if (!bytes) throw new KubeconfigError(`kubeconfig ${fileKey} ${path} cannot be read under the node root`);
  return bytes;
}

async function clusterTls(ctx: SourceContext, cluster: Entry | undefined, kubeconfigDir: string): Promise<Tls> {
  const ca = await material(ctx, cluster, 'certificate-authority-data', 'certificate-authority', kubeconfigDir);
  const servername = stringField(cluster, 'tls-server-name');
  return {
    ...(ca ? { ca } : {}),
    ...(servername ? { servername } : {}),
    insecure: cluster?.['insecure-skip-tls-verify'] === true,
  };
}

async function userAuth(
  ctx: SourceContext,
  user: Entry | undefined,
  kubeconfigDir: string,
  cluster: { server: string; tls: Tls },
  signal: AbortSignal,
): Promise<Auth> {
  const token = stringField(user, 'token');
  if (token) return { token };
  const tokenFile = stringField(user, 'tokenFile');
  if (tokenFile) {
    const path = posix.resolve(kubeconfigDir, tokenFile);
    const text = (await readUnderRoot(ctx, path, 64 * 1024))?.toString('utf8').trim();
    if (!text) throw new KubeconfigError(`kubeconfig tokenFile ${path} cannot be read under the node root`);
    return { token: text };
  }
  const cert = await material(ctx, user, 'client-certificate-data', 'client-certificate', kubeconfigDir);
  const key = await material(ctx, user, 'client-key-data', 'client-key', kubeconfigDir);
  if (cert && key) return { cert, key };
  if (cert || key)
    throw new KubeconfigError('kubeconfig has a client certificate without its key, or a key without it');
  const exec = user?.exec;
  if (isEntry(exec)) return execPluginAuth(ctx, exec, kubeconfigDir, cluster, signal);
  // No credentials: the request goes anonymous, and the API server's answer (401/403) says so.
  return {};
}

/**
 * Runs a client-go credential plugin as client-go does: its argv and `env` from the kubeconfig, KUBERNETES_EXEC_INFO
 * holding the ExecCredential request, no stdin (so never interactive), and reads `status` from the JSON it prints.
 */
async function execPluginAuth(
  ctx: SourceContext,
  exec: Entry,
  kubeconfigDir: string,
  cluster: { server: string; tls: Tls },
  signal: AbortSignal,
): Promise<Auth> {
  const command = stringField(exec, 'command');
  const apiVersion = stringField(exec, 'apiVersion');
  if (!command) throw new KubeconfigError('kubeconfig exec plugin has no command');
  if (!apiVersion) throw new KubeconfigError(`kubeconfig exec plugin ${command} has no apiVersion`);
  if (exec.interactiveMode === 'Always') {
    throw new KubeconfigError(`exec plugin ${command} needs an interactive terminal (interactiveMode: Always)`);
  }
  const args = Array.isArray(exec.args) ? exec.args.map(String) : [];
  const pluginEnv: Record<string, string> = {};
  for (const pair of Array.isArray(exec.env) ? exec.env.filter(isEntry) : []) {
    if (typeof pair.name === 'string' && pair.name !== '') pluginEnv[pair.name] = String(pair.value ?? '');
  }
  // A bare name is looked up on PATH; a relative path with a slash is relative to the kubeconfig, as in client-go.
  const program = command.includes('/') ? posix.resolve(kubeconfigDir, command) : command;
  const spec: Entry = { interactive: false };
  if (exec.provideClusterInfo === true) {
    spec.cluster = {
      server: cluster.server,
      ...(cluster.tls.servername ? { 'tls-server-name': cluster.tls.servername } : {}),
      ...(cluster.tls.insecure ? { 'insecure-skip-tls-verify': true } : {}),
      ...(cluster.tls.ca ? { 'certificate-authority-data': cluster.tls.ca.toString('base64') } : {}),
    };
  }
  const execInfo = JSON.stringify({ kind: 'ExecCredential', apiVersion, spec });
  const result = await execa(program, args, {
    env: { ...ctx.env, ...pluginEnv, KUBERNETES_EXEC_INFO: execInfo },
    extendEnv: false,
    stdin: 'ignore',
    cwd: '/',
    encoding: 'utf8',
    reject: false,
    timeout: EXEC_PLUGIN_TIMEOUT_MS,
    cancelSignal: signal,
    forceKillAfterDelay: 1000,
    killDescendants: true,
    maxBuffer: MAX_PLUGIN_OUTPUT_BYTES,
    stripFinalNewline: false,
  });
  const stderr = typeof result.stderr === 'string' ? clip(result.stderr.trim()) : '';
  if (result.failed) {
    if (result.timedOut) {
      throw new KubeconfigError(`exec plugin ${command} gave no credential within ${EXEC_PLUGIN_TIMEOUT_MS / 1000}s`);
    }
    if (result.isCanceled) throw new KubeconfigError(`exec plugin ${command} stopped: ${String(signal.reason)}`);
    if (result.code === 'ENOENT') throw new KubeconfigError(`exec plugin ${command} not found (kubeconfig user.exec)`);
    if (result.exitCode !== undefined) {
      throw new KubeconfigError(`exec plugin ${command} exited ${result.exitCode}${stderr ? `: ${stderr}` : ''}`);
    }
    throw new KubeconfigError(`exec plugin ${command} failed: ${firstLine(result.cause ?? result.shortMessage)}`);
  }
  let credential: unknown;
  try {
    credential = JSON.parse(String(result.stdout));
  } catch {
    throw new KubeconfigError(`exec plugin ${command} did not print an ExecCredential (not JSON)`);
  }
  if (!isEntry(credential) || credential.kind !== 'ExecCredential') {
    throw new KubeconfigError(`exec plugin ${command} did not print an ExecCredential`);
  }
  if (credential.apiVersion !== apiVersion) {
    throw new KubeconfigError(
      `exec plugin ${command} answered apiVersion ${String(credential.apiVersion)}, the kubeconfig asked ${apiVersion}`,
    );
  }
  const status = isEntry(credential.status) ? credential.status : undefined;
  const token = stringField(status, 'token');
  if (token) return { token };
  const cert = stringField(status, 'clientCertificateData');
  const key = stringField(status, 'clientKeyData');
  if (cert && key) return { cert: Buffer.from(cert), key: Buffer.from(key) };
  throw new KubeconfigError(`exec plugin ${command} printed an ExecCredential without status.token`);
}

/** GET of the node's pods: bounded in time and size, and parsed so that only a real PodList is kept. */
function getPodList(url: URL, tls: Tls, auth: Auth, signal: AbortSignal): Promise<Result> {
  const where = url.host;
  return new Promise<Result>((resolve) => {
    let settled = false;
    const finish = (result: Result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(result);
    };
    const req = request(url, {
      method: 'GET',
      agent: false,
      headers: {
        Accept: 'application/json',
        'User-Agent': 'eks-node-diag',
        ...(auth.token ? { Authorization: `Bearer ${auth.token}` } : {}),
      },
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(auth.cert && auth.key ? { cert: auth.cert, key: auth.key } : {}),
      ...(tls.servername ? { servername: tls.servername } : {}),
      rejectUnauthorized: !tls.insecure,
    });
    const timer = setTimeout(
      () => finish(failed(`no answer from ${where} within ${REQUEST_TIMEOUT_MS / 1000}s`)),
      REQUEST_TIMEOUT_MS,
    );
    const onAbort = () => finish(failed(`stopped: ${String(signal.reason)}`));
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (error: NodeJS.ErrnoException) => finish(failed(connectionReason(error, where))));
    req.on('response', (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_BODY_BYTES) {
          finish(failed(`the pod list from ${where} is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB`));
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', (error: NodeJS.ErrnoException) => finish(failed(connectionReason(error, where))));
      response.on('end', () => finish(podListResult(response, Buffer.concat(chunks).toString('utf8'), where)));
    });
    req.end();
  });
}

function podListResult(response: IncomingMessage, body: string, where: string): Result {
  const code = response.statusCode ?? 0;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (code < 200 || code > 299) {
    // The API server explains a refusal in a Status object (`pods is forbidden: User ... cannot list ...`).
    const message = isEntry(parsed) && typeof parsed.message === 'string' ? `: ${clip(parsed.message)}` : '';
    const statusText = response.statusMessage ? ` ${response.statusMessage}` : '';
    return failed(`HTTP ${code}${statusText} from ${where}${message}`);
  }
  if (!isEntry(parsed) || parsed.kind !== 'PodList' || !Array.isArray(parsed.items)) {
    return failed(`HTTP ${code} from ${where} but the body is not a PodList`);
  }
  // One field a line, so line-based redaction sees env entries and the report reads well.
  return { text: `${JSON.stringify(parsed, null, 2)}\n`, outcome: { status: 'ok' } };
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|ERR_SSL|EPROTO|HOSTNAME|ALTNAME/;

function connectionReason(error: NodeJS.ErrnoException, where: string): string {
  const code = error.code ?? '';
  if (TLS_CODES.test(code)) return `TLS with ${where} failed: ${code}: ${firstLine(error)}`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve ${where}: ${code}`;
  return `cannot reach ${where}: ${code ? `${code}: ` : ''}${firstLine(error)}`;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return clip(text.split('\n')[0] ?? '');
}

function clip(text: string): string {
  return text.length > REASON_DETAIL_CHARS ? `${text.slice(0, REASON_DETAIL_CHARS)}…` : text;
}
