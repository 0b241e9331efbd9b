/**
 * Real HTTP servers on loopback and on a unix socket, shaped like ipamd's introspection endpoints, plus the ways a
 * troubled ipamd misbehaves: refusing, accepting and never answering, a backlog so full that connects hang.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet, introspectionUrl, parseTarget } from './http.ts';
import type { SourceContext } from './types.ts';

const ENIS = `${JSON.stringify({
  TotalIPs: 28,
  AssignedIPs: 3,
  ENIs: { 'eni-0aaa': { ID: 'eni-0aaa', IsPrimary: true, DeviceNumber: 0, AvailableIPv4Cidrs: {} } },
})}\n`;
const BIG = Buffer.alloc(1 << 20, 'm');

function context(overrides: Partial<SourceContext> = {}): SourceContext {
  return {
    root: '/',
    signal: new AbortController().signal,
    timeoutMs: 5000,
    maxBytes: 32 << 20,
    tail: false,
    env: {},
    ...overrides,
  };
}

let scratch: string;
let tcp: Server;
let unix: Server;
let port: number;
let socketPath: string;
const requested: string[] = [];

function handler(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
  requested.push(req.url ?? '');
  if (req.url === '/v1/enis') return void res.writeHead(200, { 'content-type': 'application/json' }).end(ENIS);
  if (req.url === '/big') return void res.writeHead(200, { 'content-length': BIG.length }).end(BIG);
  if (req.url === '/big-chunked') {
    res.writeHead(200);
    res.write(BIG.subarray(0, 4096));
    return void res.end(BIG.subarray(4096));
  }
  if (req.url === '/half') {
    res.writeHead(200, { 'content-length': 100 });
    res.write('only part of it');
    return void setTimeout(() => res.socket?.destroy(), 50);
  }
  res.writeHead(404).end('404 page not found\n');
}

async function fetchAll(url: string, overrides: Partial<SourceContext> = {}) {
  const source = httpGet(url, context(overrides));
  const body = await text(source.stream);
  return { body, outcome: await source.done, unread: await source.unreadBytes };
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'http-test-'));
  tcp = createServer(handler);
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  port = (tcp.address() as AddressInfo).port;
  socketPath = join(scratch, 'introspection.sock');
  unix = createServer(handler);
  await new Promise<void>((resolve) => unix.listen(socketPath, resolve));
});

afterAll(async () => {
  tcp.close();
  unix.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('httpGet', () => {
  it('reads an introspection endpoint on loopback', async () => {
    expect(await fetchAll(`http://127.0.0.1:${port}/v1/enis`)).toEqual({
      body: ENIS,
      outcome: { status: 'ok' },
      unread: 0,
    });
  });

  it('reads through a unix socket, as with INTROSPECTION_BIND_ADDRESS=unix:...', async () => {
    requested.length = 0;
    expect(await fetchAll(`unix:${socketPath}:/v1/enis`)).toMatchObject({ body: ENIS, outcome: { status: 'ok' } });
    expect(requested).toEqual(['/v1/enis']);
  });

  it('treats localhost as 127.0.0.1 without a name lookup', async () => {
    expect((await fetchAll(`http://localhost:${port}/v1/enis`)).outcome).toEqual({ status: 'ok' });
  });

  it('records a non-2xx answer as an error with its code, keeping the body', async () => {
    expect(await fetchAll(`http://127.0.0.1:${port}/v1/pods`)).toMatchObject({
      body: '404 page not found\n',
      outcome: { status: 'error', reason: 'HTTP 404' },
    });
  });

  it('caps the body at maxBytes and says how much was left', async () => {
    const capped = await fetchAll(`http://127.0.0.1:${port}/big`, { maxBytes: 1000 });
    expect(capped).toEqual({ body: 'm'.repeat(1000), outcome: { status: 'ok' }, unread: BIG.length - 1000 });
    const unknownLength = await fetchAll(`http://127.0.0.1:${port}/big-chunked`, { maxBytes: 1000 });
    expect(unknownLength).toMatchObject({ body: 'm'.repeat(1000), unread: null });
  });

  it('records a response cut off mid-body as an error, keeping what came', async () => {
    expect(await fetchAll(`http://127.0.0.1:${port}/half`)).toEqual({
      body: 'only part of it',
      outcome: { status: 'error', reason: 'connection closed before the response ended' },
      unread: 0,
    });
  });
});

describe('httpGet failures', () => {
  it('records connection refused', async () => {
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await fetchAll(`http://127.0.0.1:${freePort}/v1/enis`)).toEqual({
      body: '',
      outcome: { status: 'error', reason: 'connection refused' },
      unread: 0,
    });
  });

  it('records a missing socket', async () => {
    expect((await fetchAll(`unix:${join(scratch, 'gone.sock')}:/v1/enis`)).outcome).toEqual({
      status: 'error',
      reason: `no socket at ${join(scratch, 'gone.sock')}`,
    });
  });

  it('times out on an endpoint that accepts and never answers', async () => {
    const silent: Socket[] = [];
    const mute = createTcpServer((socket) => void silent.push(socket));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const started = Date.now();
    const result = await fetchAll(`http://127.0.0.1:${(mute.address() as AddressInfo).port}/v1/enis`, {
      timeoutMs: 800,
    });
    expect(result.outcome).toEqual({ status: 'timeout', reason: 'timed out after 800ms' });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(silent).toHaveLength(1);
    for (const socket of silent) socket.destroy();
    mute.close();
  });

  it('times out the connect when the endpoint is too stuck to accept (a full backlog)', async () => {
    // A real process listening with a backlog of 1 whose event loop is blocked: connects beyond the backlog hang.
    const script = `
      const server = require('node:net').createServer();
      server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
        process.stdout.write(server.address().port + '\\n');
        setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0), 20);
      });`;
    const stuck: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const stuckPort = await new Promise<number>((resolve) =>
        stuck.stdout?.once('data', (data) => resolve(Number(String(data)))),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      const fillers = Array.from({ length: 3 }, () => connect(stuckPort, '127.0.0.1').on('error', () => undefined));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const result = await fetchAll(`http://127.0.0.1:${stuckPort}/v1/enis`, { timeoutMs: 1000 });
      expect(result.outcome).toEqual({ status: 'timeout', reason: 'no connection after 500ms' });
      for (const filler of fillers) filler.destroy();
    } finally {
      stuck.kill('SIGKILL');
    }
  });

  it('stops when the run is aborted', async () => {
    const mute = createTcpServer(() => undefined);
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('SIGTERM')), 100);
    const result = await fetchAll(`http://127.0.0.1:${(mute.address() as AddressInfo).port}/`, {
      signal: controller.signal,
    });
    expect(result.outcome).toEqual({ status: 'timeout', reason: 'stopped: SIGTERM' });
    mute.close();
  });
});

describe('httpGet targets', () => {
  it.each([
    [
      'http://10.0.1.23:61679/v1/enis',
      'refused: 10.0.1.23 is not a loopback address (only 127.0.0.0/8, ::1 and unix: sockets)',
    ],
    [
      'http://169.254.169.254/latest/meta-data/',
      'refused: 169.254.169.254 is not a loopback address (only 127.0.0.0/8, ::1 and unix: sockets)',
    ],
    [
      'http://ipamd.example.com:61679/',
      'refused: ipamd.example.com is not a loopback address (only 127.0.0.0/8, ::1 and unix: sockets)',
    ],
    [
      'https://127.0.0.1:61679/v1/enis',
      'refused: https://127.0.0.1:61679/v1/enis: only http:// to loopback or unix: sockets',
    ],
    ['unix:relative.sock:/v1/enis', 'refused: unix:relative.sock:/v1/enis: a unix socket path must be absolute'],
    ['not a url', 'refused: not a url is not a URL'],
  ])('refuses %s before connecting', async (url, reason) => {
    expect(await fetchAll(url)).toEqual({ body: '', outcome: { status: 'error', reason }, unread: 0 });
  });

  it('parses loopback and unix targets', () => {
    expect(parseTarget('http://127.0.0.1:61679/v1/enis')).toEqual({ host: '127.0.0.1', port: 61679, path: '/v1/enis' });
    expect(parseTarget('http://[::1]:61678/metrics?x=1')).toEqual({ host: '::1', port: 61678, path: '/metrics?x=1' });
    expect(parseTarget('unix:/run/aws-node/introspection.sock:/v1/eni-configs')).toEqual({
      socketPath: '/run/aws-node/introspection.sock',
      path: '/v1/eni-configs',
    });
    expect(parseTarget('unix:/run/x.sock')).toEqual({ socketPath: '/run/x.sock', path: '/' });
  });

  it('builds URLs from ipamd bind addresses', () => {
    expect(introspectionUrl('127.0.0.1:61679', '/v1/enis')).toBe('http://127.0.0.1:61679/v1/enis');
    expect(introspectionUrl(':61679', '/v1/enis')).toBe('http://127.0.0.1:61679/v1/enis');
    expect(introspectionUrl('0.0.0.0:61679', '/v1/enis')).toBe('http://127.0.0.1:61679/v1/enis');
    expect(introspectionUrl('[::1]:61679', '/v1/enis')).toBe('http://[::1]:61679/v1/enis');
    expect(introspectionUrl('unix:/run/aws-node/i.sock', '/v1/enis')).toBe('unix:/run/aws-node/i.sock:/v1/enis');
  });
});
