/**
 * One HTTP request with a streamed body and a known Content-Length, for the upload. Its own connection each time
 * (`agent: false`): a retry after a dropped connection must not reuse a socket the network already broke.
 *
 * S3 refuses from the headers alone when it can (a 403 for a bad or expired signature, a 503 under load) and then
 * closes the connection; a client still sending the body sees EPIPE or ECONNRESET and may never read S3's reason.
 * So the request says `Expect: 100-continue` (S3 honours it, as the AWS SDKs use it) and the body only goes out
 * after `100 Continue`, or after a second without any answer, for servers and proxies that ignore the header. An
 * answer that still arrives while the body is being written wins over the write error it causes.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The first bytes of the answer's body (S3 error documents are small). */
  body: string;
}

export interface HttpSend {
  url: URL;
  method: 'PUT' | 'POST';
  headers: Record<string, string | number>;
  /** Yields the body; must yield exactly the bytes the Content-Length header announces. */
  body: () => AsyncIterable<Buffer>;
  /** The request fails when the connection makes no progress for this long. */
  idleTimeoutMs: number;
  signal?: AbortSignal;
}

/** Network-level failure (no HTTP answer): the kind a retry may cure. */
export class ConnectionError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.code = code;
  }
}

const MAX_ANSWER_BYTES = 64 * 1024;
/** How long to wait for `100 Continue` before sending the body anyway (curl waits one second too). */
const CONTINUE_WAIT_MS = 1000;

export function send(options: HttpSend): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    let settled = false;
    let answered = false;
    let sending = false;
    const settle = (action: () => void) => {
      if (settled) return;
      settled = true;
      action();
    };
    const fail = (error: unknown) => {
      if (answered) return;
      const err = error as NodeJS.ErrnoException;
      if (options.signal?.aborted) settle(() => reject(options.signal?.reason ?? err));
      else settle(() => reject(new ConnectionError(err.message ?? String(error), err.code)));
    };
    const request = (options.url.protocol === 'https:' ? httpsRequest : httpRequest)(options.url, {
      method: options.method,
      headers: { ...options.headers, expect: '100-continue' },
      agent: false,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    request.setTimeout(options.idleTimeoutMs, () => {
      const seconds = Math.round(options.idleTimeoutMs / 1000);
      const error = new ConnectionError(`no progress on the connection for ${seconds}s`, 'ETIMEDOUT');
      fail(error);
      request.destroy(error);
    });
    request.on('response', (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        if (size < MAX_ANSWER_BYTES) chunks.push(chunk);
        size += chunk.length;
      });
      const done = () => {
        // Refused before the body went out: the request can never be completed, so its connection goes.
        if (!sending) request.destroy();
        settle(() =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8'),
          }),
        );
      };
      response.on('end', done);
      response.on('close', done);
      response.on('error', done);
    });
    request.on('error', fail);
    const sendBody = () => {
      clearTimeout(noContinue);
      if (sending || answered) return;
      sending = true;
      pipeline(Readable.from(options.body()), request).catch(fail);
    };
    const noContinue = setTimeout(sendBody, CONTINUE_WAIT_MS);
    request.on('continue', sendBody);
    request.on('close', () => clearTimeout(noContinue));
    request.flushHeaders();
  });
}
