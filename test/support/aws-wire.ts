/**
 * What the local S3 and SSM servers share of the AWS wire protocol: Signature Version 4 (the Authorization header,
 * the credential scope, the canonical request and the signature), X-Amz-Date, request bodies, loopback listening and
 * error bodies. Each server keeps its own error codes and messages; these functions report what is wrong by
 * returning undefined, never by throwing a server's error.
 *
 * Loaded with `node --experimental-strip-types` in places: erasable TypeScript only.
 */

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';

/** RFC 3986 unreserved characters stay, everything else is %XX: SigV4's URI encoding. */
export function sigV4Encode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
export const hmacSha256 = (key: Buffer | string, data: string): Buffer =>
  createHmac('sha256', key).update(data).digest();

export function signingKey(secret: string, date: string, region: string, service = 's3'): Buffer {
  return hmacSha256(hmacSha256(hmacSha256(hmacSha256(`AWS4${secret}`, date), region), service), 'aws4_request');
}

/** Compares in constant time, so a test server does not teach clients to rely on a leaky compare. */
export function sameHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** `yyyyMMdd'T'HHmmss'Z'` to epoch milliseconds. */
export function parseAmzDate(text: string | undefined): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text ?? '');
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  return Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
}

export function amzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** Query pairs decoded without turning `+` into a space (SigV4 treats `+` literally); `decode` may throw. */
export function parseQuery(raw: string, decode: (text: string) => string): [string, string][] {
  if (raw === '') return [];
  return raw.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    return eq < 0 ? [decode(pair), ''] : [decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))];
  });
}

/** Encoded pairs sorted by name, then value. */
export function canonicalQuery(pairs: [string, string][]): string {
  return pairs
    .map(([k, v]) => [sigV4Encode(k), sigV4Encode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** The canonical request of SigV4; `uri` and `query` come canonical already. */
export function canonicalRequest(
  req: IncomingMessage,
  method: string,
  uri: string,
  query: string,
  signed: string[],
  payloadHash: string,
): string {
  const headers = signed
    .map((name) => {
      const values = req.headersDistinct[name] ?? [];
      return `${name}:${values.map((value) => value.trim().replace(/\s+/g, ' ')).join(',')}\n`;
    })
    .join('');
  return `${method}\n${uri}\n${query}\n${headers}\n${signed.join(';')}\n${payloadHash}`;
}

export interface SigV4Authorization {
  credential: string;
  signedHeaders: string[];
  signature: string;
}

/** `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=<hex>`, or undefined when it is not that. */
export function parseAuthorization(header: string): SigV4Authorization | undefined {
  const match =
    /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-fA-F]+)\s*$/.exec(header);
  if (!match) return undefined;
  const [, credential, signedHeaders, signature] = match as unknown as [string, string, string, string];
  return { credential, signedHeaders: signedHeaders.split(';'), signature };
}

export interface CredentialScope {
  accessKeyId: string;
  /** YYYYMMDD */
  date: string;
  region: string;
  service: string;
}

/** `<key id>/YYYYMMDD/<region>/<service>/aws4_request`, or undefined when malformed. */
export function parseCredentialScope(text: string): CredentialScope | undefined {
  const parts = text.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1] ?? '')) return undefined;
  const [accessKeyId, date, region, service] = parts as [string, string, string, string];
  return { accessKeyId, date, region, service };
}

/** The string to sign and the hex signature a holder of `secret` computes for this request. */
export function sign(
  secret: string,
  scope: CredentialScope,
  requestDate: string,
  canonical: string,
): { stringToSign: string; signature: string } {
  const stringToSign = `${SIGV4_ALGORITHM}\n${requestDate}\n${scope.date}/${scope.region}/${scope.service}/aws4_request\n${sha256Hex(canonical)}`;
  const key = signingKey(secret, scope.date, scope.region, scope.service);
  return { stringToSign, signature: hmacSha256(key, stringToSign).toString('hex') };
}

/**
 * Reads the whole body; past `limit` bytes it keeps reading (so the client sees an answer, not a reset) but keeps
 * nothing more. `size` is what the client sent: a server refuses the request when it exceeds `limit`.
 */
export async function readRequestBody(
  req: IncomingMessage,
  limit = Number.POSITIVE_INFINITY,
): Promise<{ body: Buffer; size: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return { body: Buffer.concat(chunks), size };
}

/** Answers with a whole error (or other) document, its length declared. */
export function sendDocument(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string | number>,
  withBody = true,
): void {
  res.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(text) });
  res.end(withBody ? text : undefined);
}

/** Listens on an ephemeral loopback port; the base URL `http://127.0.0.1:<port>`. */
export async function listenOnLoopback(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes the server at once, kept-alive connections included. */
export async function closeNow(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
