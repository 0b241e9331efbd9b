/**
 * A one-shot HTTP GET run as `node -e` (inside a world's namespace, or on the host), so tests ask the simulated
 * servers over a real socket from the same network namespace the agent will run in.
 */
import type { ExecResult } from './namespace.ts';

export type ProbeResult = { status: number; contentType: string | undefined; body: string } | { error: string };

const SCRIPT = `
const http = require('node:http');
const [target, path, timeout] = process.argv.slice(1);
const where = target.startsWith('unix:')
  ? { socketPath: target.slice(5) }
  : { host: new URL(target).hostname, port: Number(new URL(target).port) };
let done = false;
const finish = (result) => { if (!done) { done = true; console.log(JSON.stringify(result)); } };
const req = http.get({ ...where, path, timeout: Number(timeout) }, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (chunk) => { body += chunk; });
  res.on('end', () => finish({ status: res.statusCode, contentType: res.headers['content-type'], body }));
});
req.on('timeout', () => { finish({ error: 'timeout' }); req.destroy(); });
req.on('error', (error) => finish({ error: error.code || error.message }));
`;

/** argv for `exec`: target is `http://127.0.0.1:61679` or `unix:/path/to.sock`. */
export function httpGetArgv(target: string, path: string, timeoutMs = 5000): string[] {
  return ['node', '-e', SCRIPT, target, path, String(timeoutMs)];
}

export function parseProbe(result: ExecResult): ProbeResult {
  const line = result.stdout.trim().split('\n').at(-1);
  if (result.exitCode !== 0 || !line) {
    throw new Error(`HTTP probe failed (exit ${result.exitCode}): ${result.stderr.trim() || result.stdout.trim()}`);
  }
  return JSON.parse(line) as ProbeResult;
}
