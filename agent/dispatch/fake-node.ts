/**
 * Test support: a node that answers the dispatch protocol without running the script, for the SSM server's synthetic
 * targets (hundreds of nodes in a test). It reads the same values the real script gets, fetches the upload form with
 * the presigned GET URL, uploads a small gzip through the presigned POST form as `<instance-id>.tar.gz`, and prints
 * the script's result line. Behaviours cover what the real script reports.
 */
import { gzipSync } from 'node:zlib';
import type { NodeResultLine } from './outcome.ts';

export type FakeNodeBehavior =
  | 'ok'
  | 'glibc-too-old'
  | 'upload-rejected'
  | 'collect-failed'
  | 'runs-too-long'
  | 'no-result-line'
  | 'noisy-stdout';

export interface FakeInvocation {
  instanceId: string;
  script: string;
  signal: AbortSignal;
}

export interface FakeResult {
  exitCode: number;
  stdout?: string;
  stderr?: string;
  timedOut?: boolean;
}

/** A value the node script assigns at its top, e.g. `eksdiag_form_url='...'`. */
export function scriptValue(script: string, variable: string): string | undefined {
  return new RegExp(`^${variable}='([^']*)'$`, 'm').exec(script)?.[1];
}

function line(result: Omit<NodeResultLine, 'eksNodeDiag'>): string {
  return `${JSON.stringify({ eksNodeDiag: 'node-result@1', ...result })}\n`;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

export async function fakeNode(
  invocation: FakeInvocation,
  behavior: FakeNodeBehavior,
  options: { delayMs?: number; bundle?: Buffer } = {},
): Promise<FakeResult> {
  const { instanceId, script, signal } = invocation;
  await sleep(options.delayMs ?? 0, signal);
  const base = { instanceId, arch: 'x64', seconds: 1 };
  switch (behavior) {
    case 'glibc-too-old':
      return {
        exitCode: 42,
        stdout: line({
          ...base,
          status: 'agent-unsupported',
          exitCode: 42,
          error: "this node's glibc 2.26 is older than 2.28 (Amazon Linux 2?); the agent cannot run here",
        }),
        stderr:
          "eks-node-diag: this node's glibc 2.26 is older than 2.28 (Amazon Linux 2?); the agent cannot run here\n",
      };
    case 'collect-failed':
      return {
        exitCode: 47,
        stdout: line({ ...base, status: 'collect-failed', exitCode: 47, error: 'the agent exited 4: not enough disk' }),
      };
    case 'runs-too-long':
      // As if SSM had stopped it at the execution timeout.
      return { exitCode: 137, timedOut: true, stderr: 'eks-node-diag: collecting (since 24h, deadline 300s)\n' };
    case 'no-result-line':
      return { exitCode: 1, stderr: 'sh: 12: syntax error: unexpected end of file\n' };
    default:
      break;
  }
  const formUrl = scriptValue(script, 'eksdiag_form_url');
  if (!formUrl) return { exitCode: 49, stderr: 'no form URL in the script\n' };
  // Like the node script: the form appears moments after the command (404), and S3 may answer 503 SlowDown.
  let formAnswer = await fetch(formUrl, { signal });
  for (let attempt = 1; (formAnswer.status === 404 || formAnswer.status >= 500) && attempt < 20; attempt++) {
    await sleep(100, signal);
    formAnswer = await fetch(formUrl, { signal });
  }
  if (!formAnswer.ok) return { exitCode: 46, stdout: line({ ...base, status: 'form-unavailable', exitCode: 46 }) };
  const form = JSON.parse(
    // biome-ignore lint/suspicious/noTemplateCurlyInString: S3's own placeholder, replaced as the node script does
    (await formAnswer.text()).replaceAll('${filename}', `${instanceId}.tar.gz`),
  ) as { url: string; fields: Record<string, string> };
  const bundle = options.bundle ?? gzipSync(`bundle of ${instanceId}\n`);
  const body = new FormData();
  for (const [name, value] of Object.entries(form.fields)) {
    // A node that tries to write outside the command's prefix is refused by the policy.
    body.append(name, behavior === 'upload-rejected' && name === 'key' ? `elsewhere/${instanceId}.tar.gz` : value);
  }
  body.append('file', new Blob([new Uint8Array(bundle)]), `${instanceId}.tar.gz`);
  const posted = await fetch(form.url, { method: 'POST', body, signal });
  const answer = await posted.text();
  if (posted.status >= 300) {
    const code = /<Code>([^<]+)<\/Code>/.exec(answer)?.[1] ?? String(posted.status);
    return {
      exitCode: 48,
      stdout: line({ ...base, status: 'upload-failed', exitCode: 48, error: `the upload failed: S3 said ${code}` }),
    };
  }
  const result = line({ ...base, status: 'uploaded', exitCode: 0, key: form.fields.key, bytes: bundle.length });
  // Output before the result line (a chatty tool) must not hide it.
  const stdout = behavior === 'noisy-stdout' ? `${'progress line\n'.repeat(400)}${result}` : result;
  return { exitCode: 0, stdout, stderr: 'eks-node-diag: collecting (since 24h, deadline 300s)\n' };
}
