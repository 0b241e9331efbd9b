/**
 * A GET on an endpoint of the node itself: ipamd's introspection (`127.0.0.1:61679`, or a unix socket when
 * `INTROSPECTION_BIND_ADDRESS=unix:...`) and its metrics (`:61678`). Only loopback addresses and unix sockets are
 * allowed, and host names other than `localhost` are refused, so this source never resolves a name or leaves the node.
 *
 * A unix socket target is written `unix:<socket path>:<request path>`, e.g. `unix:/run/aws-node/introspection.sock:/v1/enis`.
 * There is a connect timeout and a total timeout (an endpoint that accepts and never answers ends as `timeout`), and
 * the body is capped at `maxBytes`: past it the response is dropped and `unreadBytes` says how much was left.
 */
import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import { PassThrough } from 'node:stream';
import type { PartialSourceRun } from './spool.ts';
import type { SourceContext, SourceOutcome } from './types.ts';

/** Loopback connects in microseconds; a longer wait means the endpoint's backlog is full or the node is starved. */
export const CONNECT_TIMEOUT_MS = 2000;

type Target = { socketPath: string; path: string } | { host: string; port: number; path: string };

/** A URL for an introspection path from ipamd's bind address (`127.0.0.1:61679`, `:61679`, `unix:/path`). */
export function introspectionUrl(bindAddress: string, path: string): string {
  if (bindAddress.startsWith('unix:')) return `${bindAddress}:${path}`;
  const [host, port] = splitHostPort(bindAddress);
  const loopbackHost = host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${loopbackHost.includes(':') ? `[${loopbackHost}]` : loopbackHost}:${port}${path}`;
}

function splitHostPort(address: string): [string, string] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at).replace(/^\[|\]$/g, ''), address.slice(at + 1)];
}

/** Where to connect, or why this URL is not allowed. */
export function parseTarget(url: string): Target | { refused: string } {
  if (url.startsWith('unix:')) {
    const split = url.indexOf(':/', 'unix:/'.length);
    const socketPath = split === -1 ? url.slice('unix:'.length) : url.slice('unix:'.length, split);
    if (!socketPath.startsWith('/')) return { refused: `refused: ${url}: a unix socket path must be absolute` };
    return { socketPath, path: split === -1 ? '/' : url.slice(split + 1) };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { refused: `refused: ${url} is not a URL` };
  }
  if (parsed.protocol !== 'http:') return { refused: `refused: ${url}: only http:// to loopback or unix: sockets` };
  const hostname = parsed.hostname.replace(/^\[|\]$/g, '');
  const host = hostname === 'localhost' ? '127.0.0.1' : hostname;
  if (!isLoopback(host)) {
    return {
      refused: `refused: ${parsed.hostname} is not a loopback address (only 127.0.0.0/8, ::1 and unix: sockets)`,
    };
  }
  return { host, port: Number(parsed.port || 80), path: `${parsed.pathname}${parsed.search}` };
}

function isLoopback(host: string): boolean {
  if (isIPv4(host)) return host.startsWith('127.');
  return isIPv6(host) && (host === '::1' || /^::ffff:127\./i.test(host));
}

export function httpGet(url: string, ctx: SourceContext): PartialSourceRun {
  const stream = new PassThrough();
  let settleUnread!: (bytes: number | null) => void;
  const unreadBytes = new Promise<number | null>((resolve) => {
    settleUnread = resolve;
  });
  const done = get(url, ctx, stream, settleUnread).then((outcome) => {
    settleUnread(0);
    if (!stream.writableEnded) stream.end();
    return outcome;
  });
  return { stream, done, unreadBytes };
}

function get(
  url: string,
  ctx: SourceContext,
  stream: PassThrough,
  settleUnread: (bytes: number | null) => void,
): Promise<SourceOutcome> {
  const target = parseTarget(url);
  if ('refused' in target) return Promise.resolve({ status: 'error', reason: target.refused });
  if (ctx.signal.aborted) {
    return Promise.resolve({ status: 'skipped', reason: `not started: ${abortText(ctx.signal.reason)}` });
  }
  return new Promise<SourceOutcome>((resolve) => {
    let outcome: SourceOutcome | undefined;
    let req: ClientRequest | undefined;
    const timers: NodeJS.Timeout[] = [];
    const finish = (result: SourceOutcome) => {
      if (outcome) return;
      outcome = result;
      for (const timer of timers) clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      req?.destroy();
      resolve(result);
    };
    const onAbort = () => finish({ status: 'timeout', reason: `stopped: ${abortText(ctx.signal.reason)}` });
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    if (hasTimeLimit(ctx.timeoutMs)) {
      timers.push(
        setTimeout(
          () => finish({ status: 'timeout', reason: `timed out after ${formatDuration(ctx.timeoutMs)}` }),
          ctx.timeoutMs,
        ),
      );
    }
    // Connecting may use at most half the item's time, so a stuck connect is told apart from a stuck answer.
    const connectMs = hasTimeLimit(ctx.timeoutMs)
      ? Math.min(CONNECT_TIMEOUT_MS, Math.ceil(ctx.timeoutMs / 2))
      : CONNECT_TIMEOUT_MS;
    const connectTimer = setTimeout(
      () => finish({ status: 'timeout', reason: `no connection after ${formatDuration(connectMs)}` }),
      connectMs,
    );
    timers.push(connectTimer);

    const address =
      'socketPath' in target ? { socketPath: target.socketPath } : { host: target.host, port: target.port };
    req = request({
      ...address,
      path: target.path,
      method: 'GET',
      agent: false,
      headers: { 'user-agent': 'eks-node-diag' },
    });
    req.once('socket', (socket) => {
      socket.once('connect', () => clearTimeout(connectTimer));
    });
    req.on('error', (error: NodeJS.ErrnoException) =>
      finish({ status: 'error', reason: describeError(error, target) }),
    );
    req.on('response', (res) => {
      clearTimeout(connectTimer);
      const status = res.statusCode ?? 0;
      const httpOutcome: SourceOutcome =
        status >= 200 && status < 300 ? { status: 'ok' } : { status: 'error', reason: `HTTP ${status}` };
      relayBody(res, stream, ctx.maxBytes, settleUnread, (ended) =>
        finish(ended ? httpOutcome : { status: 'error', reason: 'connection closed before the response ended' }),
      );
    });
    req.end();
    // Whoever reads the body has stopped: the request is no longer wanted.
    stream.once('close', () => {
      if (!stream.writableEnded) finish({ status: 'ok', reason: 'output no longer read; request stopped' });
    });
  });
}

/** Copies the body with backpressure until it ends or reaches the cap; `onEnd(false)` when it broke off. */
function relayBody(
  res: IncomingMessage,
  stream: PassThrough,
  maxBytes: number,
  settleUnread: (bytes: number | null) => void,
  onEnd: (ended: boolean) => void,
): void {
  const declared = Number(res.headers['content-length']);
  let relayed = 0;
  res.on('data', (chunk: Buffer) => {
    const room = maxBytes - relayed;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    relayed += part.length;
    if (part.length > 0 && !stream.write(part)) {
      res.pause();
      stream.once('drain', () => res.resume());
    }
    if (chunk.length > room) {
      settleUnread(Number.isFinite(declared) && declared >= relayed ? declared - relayed : null);
      onEnd(true);
    }
  });
  res.on('end', () => onEnd(true));
  res.on('close', () => onEnd(res.complete));
  res.on('error', () => onEnd(false));
}

function describeError(error: NodeJS.ErrnoException, target: Target): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOENT':
      return 'socketPath' in target ? `no socket at ${target.socketPath}` : 'not found';
    case 'EACCES':
      return 'permission denied';
    case 'ECONNRESET':
      return 'connection reset';
    default:
      return error.code ?? error.message;
  }
}

/** Timers cannot wait longer than 2^31-1 ms (they fire at once instead), so longer limits mean none. */
function hasTimeLimit(ms: number): boolean {
  return ms > 0 && ms <= 2 ** 31 - 1;
}

function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function abortText(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return reason === undefined ? 'aborted' : String(reason);
}
