/**
 * Stand-in for aws-node's two local HTTP servers, run INSIDE a simulated node's network namespace:
 * `ip netns exec <ns> node test/sim/ipamd-server.ts <config.json>`.
 *
 * - introspection (127.0.0.1:61679, or `unix:<path>` as INTROSPECTION_BIND_ADDRESS allows): exact paths from the
 *   config; `/` and every other path answer `{"AvailableCommands":[...]}`, as ipamd's ServeMux fallback does.
 * - metrics (:61678 in ipamd; loopback here): `/metrics` in Prometheus text format, 404 elsewhere.
 *
 * Each server can instead `hang` (accept connections, never answer) or be `refuse`d (never started). When the
 * listeners are up, and for serving ones after a request to itself succeeded, one line `READY {...}` goes to
 * stdout. Requests are appended as JSON lines to `requestLog` so tests can see what the agent asked for.
 * Plain Node with erasable TypeScript only: it runs without a build step.
 */
import { appendFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, request, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { dirname } from 'node:path';

export type EndpointMode = 'serve' | 'hang' | 'refuse';

export type Listen = { host: string; port: number } | { socketPath: string };

export interface CannedResponse {
  status: number;
  contentType: string;
  body: string;
}

export interface ServerConfig {
  introspection: { mode: EndpointMode; listen: Listen };
  metrics: { mode: EndpointMode; listen: Listen };
  /** Introspection responses by exact path. */
  routes: Record<string, CannedResponse>;
  /** What `/` and unknown introspection paths answer. */
  fallback: CannedResponse;
  metricsBody: string;
  requestLog: string;
}

/** Marks the server's own readiness requests so they stay out of the request log. */
const SELF_CHECK_AGENT = 'ipamd-server-self-check';

const GO_NOT_FOUND: CannedResponse = {
  status: 404,
  contentType: 'text/plain; charset=utf-8',
  body: '404 page not found\n',
};

function fail(message: string): never {
  process.stderr.write(`ipamd-server: ${message}\n`);
  process.exit(2);
}

function isListen(value: unknown): value is Listen {
  if (typeof value !== 'object' || value === null) return false;
  const listen = value as Record<string, unknown>;
  if (typeof listen.socketPath === 'string') return listen.socketPath.length > 0;
  return typeof listen.host === 'string' && Number.isInteger(listen.port);
}

function readConfig(path: string | undefined): ServerConfig {
  if (!path) fail('usage: ipamd-server.ts <config.json>');
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    fail(`${path}: ${(error as Error).message}`);
  }
  const config = parsed as Partial<ServerConfig>;
  const problems: string[] = [];
  for (const key of ['introspection', 'metrics'] as const) {
    const endpoint = config[key];
    if (!endpoint || !['serve', 'hang', 'refuse'].includes(endpoint.mode)) {
      problems.push(`${key}.mode must be serve, hang or refuse`);
    }
    if (!endpoint || !isListen(endpoint.listen)) problems.push(`${key}.listen needs host and port, or socketPath`);
  }
  if (typeof config.routes !== 'object' || config.routes === null) problems.push('routes must be an object');
  if (typeof config.fallback?.body !== 'string') problems.push('fallback.body must be a string');
  if (typeof config.metricsBody !== 'string') problems.push('metricsBody must be a string');
  if (typeof config.requestLog !== 'string') problems.push('requestLog must be a path');
  if (problems.length > 0) fail(`${path}: ${problems.join('; ')}`);
  return config as ServerConfig;
}

function respond(response: ServerResponse, canned: CannedResponse): void {
  response.writeHead(canned.status, {
    'Content-Type': canned.contentType,
    'Content-Length': Buffer.byteLength(canned.body),
  });
  response.end(canned.body);
}

function listenOn(server: Server | ReturnType<typeof createNetServer>, listen: Listen): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if ('socketPath' in listen) {
      mkdirSync(dirname(listen.socketPath), { recursive: true });
      rmSync(listen.socketPath, { force: true });
      server.listen(listen.socketPath, done);
    } else {
      server.listen(listen.port, listen.host, done);
    }
  });
}

function selfCheck(listen: Listen, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const target =
      'socketPath' in listen ? { socketPath: listen.socketPath } : { host: listen.host, port: listen.port };
    const options = { ...target, path, method: 'GET', timeout: 5000, headers: { 'user-agent': SELF_CHECK_AGENT } };
    const req = request(options, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`self-check of ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

function describeListen(listen: Listen): string {
  return 'socketPath' in listen ? `unix:${listen.socketPath}` : `${listen.host}:${listen.port}`;
}

async function main(): Promise<void> {
  const config = readConfig(process.argv[2]);
  const held = new Set<Socket>();
  const closers: (() => void)[] = [];
  const logRequest = (server: string, method: string | undefined, url: string | undefined) => {
    appendFileSync(config.requestLog, `${JSON.stringify({ at: new Date().toISOString(), server, method, url })}\n`);
  };

  const start = async (
    name: 'introspection' | 'metrics',
    handle: (url: URL, response: ServerResponse) => void,
  ): Promise<string | undefined> => {
    const endpoint = config[name];
    if (endpoint.mode === 'refuse') return undefined;
    if (endpoint.mode === 'hang') {
      const server = createNetServer((socket) => {
        held.add(socket);
        logRequest(name, 'CONNECT', undefined);
        socket.resume();
        socket.on('close', () => held.delete(socket));
        socket.on('error', () => held.delete(socket));
      });
      await listenOn(server, endpoint.listen);
      closers.push(() => server.close());
      return describeListen(endpoint.listen);
    }
    const server = createHttpServer((req, response) => {
      if (req.headers['user-agent'] !== SELF_CHECK_AGENT) logRequest(name, req.method, req.url);
      handle(new URL(req.url ?? '/', 'http://ipamd.local'), response);
    });
    await listenOn(server, endpoint.listen);
    closers.push(() => server.close());
    return describeListen(endpoint.listen);
  };

  const introspection = await start('introspection', (url, response) => {
    respond(response, config.routes[url.pathname] ?? config.fallback);
  });
  const metrics = await start('metrics', (url, response) => {
    if (url.pathname !== '/metrics') {
      respond(response, GO_NOT_FOUND);
      return;
    }
    respond(response, {
      status: 200,
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      body: config.metricsBody,
    });
  });

  if (config.introspection.mode === 'serve') {
    const status = await selfCheck(config.introspection.listen, '/v1/enis');
    if (status !== 200) fail(`introspection self-check answered ${status}`);
  }
  if (config.metrics.mode === 'serve') {
    const status = await selfCheck(config.metrics.listen, '/metrics');
    if (status !== 200) fail(`metrics self-check answered ${status}`);
  }

  const shutdown = () => {
    for (const socket of held) socket.destroy();
    for (const close of closers) close();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.stdout.write(`READY ${JSON.stringify({ pid: process.pid, introspection, metrics })}\n`);
}

main().catch((error: unknown) => fail((error as Error).stack ?? String(error)));
