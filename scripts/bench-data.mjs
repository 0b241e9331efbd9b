// Generates stock-layout benchmark bundles (deterministic content) for scripts/bench.mjs: a kubelet journal
// (70%) and an ipamd log (30%) of realistic lines with rare aws-node probe failures, plus the small files the
// headline rules read. Cached in bench-data/ (git-ignored).
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { create } from 'tar';

const MiB = 1024 * 1024;

// Deterministic pseudo-random numbers, so every run generates the same bytes.
let seed = 42;
const random = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const pick = (list) => list[Math.floor(random() * list.length)];

const pods = [
  'default/web-5d9c7b6f4-x2kqp',
  'shop/cart-7b9d8c-4hj2k',
  'kube-system/coredns-6799fbcd5-ss7tc',
  'monitoring/node-exporter-8fj2l',
];
const kubeletTemplates = [
  (t, n) => `I1120 ${t}.${n}    3412 kubelet_getters.go:187] "Pod status updated" pod="${pick(pods)}" status="Running"`,
  (t, n) =>
    `I1120 ${t}.${n}    3412 reconciler_common.go:245] "operationExecutor.VerifyControllerAttachedVolume started for volume \\"kube-api-access-${n}\\" (UniqueName: \\"kubernetes.io/projected/${n}-kube-api-access\\") pod=\\"${pick(pods)}\\""`,
  (t, n) =>
    `I1120 ${t}.${n}    3412 kubelet.go:2440] "SyncLoop (PLEG): event for pod" pod="${pick(pods)}" event={"ID":"${n}","Type":"ContainerStarted","Data":"${n}a9f"}`,
  (t, n) =>
    `E1120 ${t}.${n}    3412 pod_workers.go:1298] "Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"app\\" with CrashLoopBackOff" pod="${pick(pods)}"`,
];
const ipamdTemplates = [
  (ts) =>
    `{"level":"debug","ts":"${ts}","caller":"ipamd/ipamd.go:1316","msg":"IP pool stats: Total IPs/Prefixes = 87/0, AssignedIPs/CidrIPs = 23/0, c.maxIPsPerENI = 29"}`,
  (ts) =>
    `{"level":"debug","ts":"${ts}","caller":"datastore/data_store.go:607","msg":"AssignPodIPv4Address: IP address pool stats: total 87, assigned 23"}`,
  (ts) =>
    `{"level":"info","ts":"${ts}","caller":"rpc/rpc.pb.go:713","msg":"Received AddNetwork for NS /var/run/netns/cni-${Math.floor(random() * 1e8).toString(16)}, Sandbox 6397e2, ifname eth0"}`,
];
const probeFailure = (t, n) =>
  `I1120 ${t}.${n}    3412 prober.go:107] "Probe failed" probeType="Liveness" pod="kube-system/aws-node-7xk2p" podUID="0b5a2c1e-8f3d-4e2a-9c61-2f0d1e7a9b44" containerName="aws-node" probeResult="failure" output="timeout: failed to connect service \\":50051\\" within 5s"`;

async function writeLog(path, targetBytes, makeLine) {
  const out = createWriteStream(path);
  let written = 0;
  let line = 0;
  let batch = [];
  while (written < targetBytes) {
    const text = `${makeLine(line++)}\n`;
    written += Buffer.byteLength(text);
    batch.push(text);
    if (batch.length === 2000) {
      if (!out.write(batch.join(''))) await once(out, 'drain');
      batch = [];
    }
  }
  out.end(batch.join(''));
  await once(out, 'finish');
  return line;
}

export async function generate(size, dataDir) {
  const name = `bench-${size / MiB}MiB.tar.gz`;
  const archive = join(dataDir, name);
  if (existsSync(archive)) return archive;
  const tree = join(dataDir, `tree-${size / MiB}`);
  rmSync(tree, { recursive: true, force: true });
  for (const folder of ['kubelet', 'var_log/aws-routed-eni', 'networking', 'system'])
    mkdirSync(join(tree, folder), { recursive: true });
  process.stderr.write(`generating ${name} ...\n`);
  const clock = (n) => {
    const s = n % 86400;
    return `${String(Math.floor(s / 3600)).padStart(2, '0')}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  };
  await writeLog(join(tree, 'kubelet/kubelet.log'), size * 0.7, (n) => {
    const t = clock(Math.floor(n / 40));
    const micros = String((n * 7919) % 1000000).padStart(6, '0');
    const body = n % 50000 === 49999 ? probeFailure(t, micros) : pick(kubeletTemplates)(t, micros);
    return `Nov 20 ${t} ip-10-0-1-23.ec2.internal kubelet[3412]: ${body}`;
  });
  await writeLog(join(tree, 'var_log/aws-routed-eni/ipamd.log'), size * 0.3, (n) =>
    pick(ipamdTemplates)(`2026-11-20T${clock(Math.floor(n / 30))}.${String(n % 1000).padStart(3, '0')}Z`),
  );
  writeFileSync(
    join(tree, 'networking/iptables-save.txt'),
    '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n',
  );
  writeFileSync(
    join(tree, 'system/top.txt'),
    'top - 09:12:01 up 12 days,  3:04,  0 users,  load average: 0.52, 0.58, 0.59\n',
  );
  writeFileSync(
    join(tree, 'system/procstat.txt'),
    'cpu  1 2 3 4 5 6 7 0 0 0\ncpu0 1 2 3 4 5 6 7 0 0 0\ncpu1 1 2 3 4 5 6 7 0 0 0\n',
  );
  await create({ gzip: true, file: archive, cwd: tree, portable: true }, ['.']);
  rmSync(tree, { recursive: true, force: true });
  return archive;
}
