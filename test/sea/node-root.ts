/** A small dead-node root for offline collections by the single executables. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const PLANTED_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSEAKEY';

/** A small dead-node root: the files an offline collection reads, and a secret that must not reach the bundle. */
export async function writeNodeRoot(root: string): Promise<void> {
  const files: Record<string, string> = {
    'etc/os-release': 'NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\nPRETTY_NAME="Amazon Linux 2023.6.20250303"\n',
    'proc/loadavg': '0.42 0.30 0.25 2/345 12345\n',
    'proc/meminfo': 'MemTotal:       16000000 kB\nMemAvailable:    9000000 kB\n',
    'var/log/aws-routed-eni/ipamd.log':
      '{"level":"info","ts":"2026-11-20T09:12:00.000Z","caller":"aws-k8s-agent/main.go:42","msg":"Starting L-IPAMD"}\n',
    'var/log/cloud-init-output.log': `+ export AWS_SECRET_ACCESS_KEY=${PLANTED_SECRET}\nCloud-init v. 22.2.2 done\n`,
  };
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
}
