// Agent benchmark: full collections (no --only) with the built CLI, as an operator runs it, measured from outside.
//   - on this machine (`--root /`, its real tools), and
//   - on a node root tree with realistic log sizes (bench-data/agent-root, generated once): 200 MiB of ipamd logs
//     (current + one rotated file), a real kubelet journal (systemd-journal-remote) of about 100 MiB of text,
//     containerd entries beside it, CNI plugin and network policy logs, pod logs, configs, /proc and cgroup files.
// Each is run twice: everything, and everything but the log items (journals, /var/log copies), so log copying can
// be told apart from the rest. Prints wall time, CPU seconds (the agent's user+sys, and the commands it ran), peak
// RSS, bundle size against the raw bytes kept and seen. Targets outside log copying: < 2 CPU-seconds, < 150 MB peak
// RSS. Nothing is asserted: it prints, people judge. IMDS is pointed at a closed loopback port: nothing leaves the host.
//
//   npm run bench:agent
//   BENCH_RUNS=3 npm run bench:agent          # best of 3 per measure
//   BENCH_AGENT_WORLDS=root npm run bench:agent   # only the root-tree world (or: local)
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const MiB = 1024 * 1024;
const runs = Number(process.env.BENCH_RUNS ?? 1);
const worlds = (process.env.BENCH_AGENT_WORLDS ?? 'local,root').split(',').map((name) => name.trim());
const dataDir = resolve('bench-data');
const cli = resolve('dist/eks-node-diag.cjs');
const ROOT_VERSION = 'agent-root-v2';
const TARGET_CPU_SECONDS = 2;
const TARGET_RSS_MB = 150;

if (!existsSync(cli))
  throw new Error('dist/eks-node-diag.cjs is missing: run `npm run build` (npm run bench:agent does)');
mkdirSync(dataDir, { recursive: true });

// ---------------------------------------------------------------------------------------------------------------
// Measuring: a preload reports, as the agent exits, its peak RSS and the CPU ticks of itself and of the children it
// waited for (the commands), from /proc/self/stat fields 14-17.
const preload = join(dataDir, 'agent-usage.cjs');
writeFileSync(
  preload,
  `process.on('exit', () => {
  const fs = require('fs');
  const hwm = /VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1];
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  process.stderr.write('BENCH_USAGE=' + JSON.stringify({ hwmKb: Number(hwm), utime: Number(fields[11]), stime: Number(fields[12]), cutime: Number(fields[13]), cstime: Number(fields[14]) }) + '\\n');
});\n`,
);
const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Items whose work is copying logs: journals and the /var/log copies (their budgets dominate the run). */
function logItemIds() {
  const list = spawnSync(process.execPath, [cli, 'collect', '--list'], { encoding: 'utf8' });
  if (list.status !== 0) throw new Error(`collect --list failed: ${list.stderr}`);
  return list.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t'))
    .filter(
      ([, out, source]) => source.startsWith('journalctl') || out.startsWith('var_log') || out === 'kernel/dmesg.boot',
    )
    .map(([id]) => id);
}

async function collectOnce(label, args) {
  const out = join(dataDir, `agent-${label}.tar.gz`);
  rmSync(out, { force: true });
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['--require', preload, cli, 'collect', '--out', out, ...args], {
    // Never the real instance metadata service: a closed loopback port makes the agent record "not on EC2" at once.
    env: { ...process.env, AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stdout.resume();
  const [code] = await once(child, 'close');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`collect ${args.join(' ')} exited ${code}:\n${stderr}`);
  const usage = JSON.parse(/BENCH_USAGE=(.*)/.exec(stderr)[1]);
  const manifest = JSON.parse(spawnSync('tar', ['-xzOf', out, 'manifest.json'], { maxBuffer: 64 * MiB }).stdout);
  return {
    seconds,
    agentCpu: (usage.utime + usage.stime) / ticksPerSecond,
    commandsCpu: (usage.cutime + usage.cstime) / ticksPerSecond,
    peakRssMB: (usage.hwmKb * 1024) / 1e6,
    bundleBytes: statSync(out).size,
    manifest,
  };
}

async function collectBest(label, args) {
  let best;
  for (let i = 0; i < runs; i++) {
    const run = await collectOnce(label, args);
    if (!best || run.seconds < best.seconds) best = run;
  }
  return best;
}

/** Bytes kept in the bundle and bytes the sources produced (a truncated item says "kept the last N of M bytes"). */
function sizes(items) {
  let kept = 0;
  let seen = 0;
  for (const item of items) {
    kept += item.bytes ?? 0;
    const total = /^kept the (?:last|first) \d+ of (\d+) bytes/.exec(item.reason ?? '')?.[1];
    seen += total ? Number(total) : (item.bytes ?? 0);
  }
  return { kept, seen };
}

// ---------------------------------------------------------------------------------------------------------------
// The root tree: deterministic content, generated once into bench-data/agent-root.
let seed = 7;
const random = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const int = (low, high) => low + Math.floor(random() * (high - low + 1));
const hex = (length) => Array.from({ length }, () => '0123456789abcdef'[int(0, 15)]).join('');
const pick = (list) => list[int(0, list.length - 1)];
const pods = ['default/web-5d9c7b6f4-x2kqp', 'shop/cart-7b9d8c-4hj2k', 'kube-system/coredns-6799fbcd5-ss7tc'];
const ip = () => `10.0.${int(0, 63)}.${int(2, 254)}`;

async function writeLines(file, targetBytes, line) {
  mkdirSync(dirname(file), { recursive: true });
  const stream = createWriteStream(file);
  let written = 0;
  let batch = [];
  let batchBytes = 0;
  for (let n = 0; written < targetBytes; n++) {
    const text = `${line(n)}\n`;
    batch.push(text);
    batchBytes += text.length;
    written += text.length;
    if (batchBytes > 4 * MiB) {
      if (!stream.write(batch.join(''))) await once(stream, 'drain');
      batch = [];
      batchBytes = 0;
    }
  }
  stream.end(batch.join(''));
  await once(stream, 'finish');
}

const zapTime = (base, n) => new Date(base + n * 7).toISOString();
const ipamdLine = (base) => (n) => {
  const ts = zapTime(base, n);
  switch (n % 6) {
    case 0:
      return `{"level":"debug","ts":"${ts}","caller":"ipamd/ipamd.go:1316","msg":"IP pool stats: Total IPs/Prefixes = ${int(58, 87)}/0, AssignedIPs/CidrIPs = ${int(10, 40)}/0, c.maxIPsPerENI = 29"}`;
    case 1:
      return `{"level":"debug","ts":"${ts}","caller":"datastore/data_store.go:607","msg":"AssignPodIPv4Address: IP address pool stats: total ${int(58, 87)}, assigned ${int(10, 40)}"}`;
    case 2:
      return `{"level":"info","ts":"${ts}","caller":"rpc/rpc.pb.go:713","msg":"Received AddNetwork for NS /var/run/netns/cni-${hex(8)}-${hex(4)}, Sandbox ${hex(64)}, ifname eth0"}`;
    case 3:
      return `{"level":"info","ts":"${ts}","caller":"ipamd/rpc_handler.go:261","msg":"Send AddNetworkReply: IPv4Addr: ${ip()}, IPv6Addr: , DeviceNumber: ${int(0, 2)}, err: <nil>"}`;
    case 4:
      return `{"level":"debug","ts":"${ts}","caller":"ipamd/ipamd.go:672","msg":"Reconciling ENI/IP pool info because time since last ${int(60, 62)}.${hex(3)}s > 1m0s"}`;
    default:
      return `{"level":"debug","ts":"${ts}","caller":"awsutils/awsutils.go:${int(400, 1900)}","msg":"Found ENI: eni-${hex(17)}, MAC 0a:${hex(2)}:${hex(2)}:${hex(2)}:${hex(2)}:${hex(2)}, device ${int(0, 3)}"}`;
  }
};
const criLine = (base, stream) => (n) =>
  `${new Date(base + n * 11).toISOString().replace('Z', `${int(100000, 999999)}Z`)} ${stream} F {"level":"info","ts":"${zapTime(base, n)}","caller":"${pick(['main.go', 'server.go', 'proxier.go'])}:${int(10, 999)}","msg":"${pick(['Syncing iptables rules', 'Reloading', 'plugin/reload: Running configuration SHA512', 'Checking CNI readiness'])} ${hex(12)}"}`;

/** Journal export text (blank line after each entry) for systemd-journal-remote. */
function journalExport(base, count) {
  const entries = [];
  for (let n = 0; n < count; n++) {
    const usec = (base + n * 3) * 1000 + int(0, 999);
    const time = `${new Date(base + n * 3).toISOString().slice(11, 23)}${int(100, 999)}`;
    const containerd = n % 10 === 9;
    const message = containerd
      ? `time="${new Date(base + n * 3).toISOString()}" level=info msg="RunPodSandbox for &PodSandboxMetadata{Name:${pick(pods).split('/')[1]},Uid:${hex(8)}-${hex(4)},Namespace:${pick(pods).split('/')[0]},Attempt:0,} returns sandbox id \\"${hex(64)}\\""`
      : pick([
          () =>
            `I1126 ${time}    3412 kubelet_getters.go:187] "Pod status updated" pod="${pick(pods)}" status="Running"`,
          () =>
            `I1126 ${time}    3412 kubelet.go:2440] "SyncLoop (PLEG): event for pod" pod="${pick(pods)}" event={"ID":"${hex(8)}","Type":"ContainerStarted","Data":"${hex(64)}"}`,
          () =>
            `I1126 ${time}    3412 prober.go:107] "Probe failed" probeType="Readiness" pod="kube-system/aws-node-7xk2p" podUID="${hex(8)}" containerName="aws-node" probeResult="failure" output="timeout: failed to connect service \\":50051\\" within 5s"`,
          () =>
            `I1126 ${time}    3412 reconciler_common.go:245] "operationExecutor.VerifyControllerAttachedVolume started for volume \\"kube-api-access-${hex(5)}\\" pod=\\"${pick(pods)}\\""`,
        ])();
    const unit = containerd ? 'containerd' : 'kubelet';
    entries.push(
      `__REALTIME_TIMESTAMP=${usec}\n__MONOTONIC_TIMESTAMP=${usec - base * 1000 + 2913004}\n_BOOT_ID=0f1e2d3c4b5a69788796a5b4c3d2e1f0\n_MACHINE_ID=ec2a1b2c3d4e5f60718293a4b5c6d7e8\n_HOSTNAME=ip-10-0-1-23.us-west-2.compute.internal\n_TRANSPORT=stdout\nPRIORITY=6\nSYSLOG_FACILITY=3\nSYSLOG_IDENTIFIER=${unit}\n_PID=${containerd ? 2871 : 3412}\n_COMM=${unit}\n_SYSTEMD_UNIT=${unit}.service\n_SYSTEMD_SLICE=runtime.slice\nMESSAGE=${message}\n\n`,
    );
  }
  return entries.join('');
}

async function buildRoot() {
  const root = join(dataDir, 'agent-root');
  const stamp = join(root, '.bench-version');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === ROOT_VERSION) return root;
  rmSync(root, { recursive: true, force: true });
  console.log('generating bench-data/agent-root (once) ...');
  const base = Date.parse('2026-11-25T10:00:00Z');
  const file = (path, content) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  const eni = '/var/log/aws-routed-eni';
  await writeLines(join(root, eni, 'ipamd-2026-11-25T22-10-31.118.log'), 100 * MiB, ipamdLine(base));
  await writeLines(join(root, eni, 'ipamd.log'), 100 * MiB, ipamdLine(base + 12 * 3600 * 1000));
  await writeLines(join(root, eni, 'plugin.log'), 8 * MiB, ipamdLine(base));
  await writeLines(join(root, eni, 'network-policy-agent.log'), 4 * MiB, ipamdLine(base));
  file(`${eni}/egress-v6-plugin.log`, '');
  const podLog = (name, bytes) =>
    writeLines(
      join(root, '/var/log/containers', `${name}_kube-system_${name.split('-')[0]}-${hex(64)}.log`),
      bytes,
      criLine(base, 'stderr'),
    );
  await podLog('aws-node-7xk2p', 20 * MiB);
  await podLog('kube-proxy-4xv9d', 5 * MiB);
  await podLog('coredns-6799fbcd5-ss7tc', 2 * MiB);

  const journalRemote = ['/lib/systemd/systemd-journal-remote', '/usr/lib/systemd/systemd-journal-remote'].find(
    existsSync,
  );
  const journalDir = join(root, 'var/log/journal/ec2a1b2c3d4e5f60718293a4b5c6d7e8');
  mkdirSync(journalDir, { recursive: true });
  if (journalRemote) {
    // About 290 bytes of journalctl text per kubelet entry (9 in 10 entries): 390k entries make 100 MB of it.
    for (let part = 0; part < 13; part++) {
      const text = journalExport(base + part * 30_000 * 3, 30_000);
      const result = spawnSync(journalRemote, ['-o', join(journalDir, 'system.journal'), '-'], {
        input: text,
        maxBuffer: 16 * MiB,
      });
      if (result.status !== 0) throw new Error(`${journalRemote} failed: ${result.stderr}`);
    }
  } else {
    console.log(
      'systemd-journal-remote is not installed: the root tree has no journal (apt-get install systemd-journal-remote)',
    );
  }

  file(
    '/etc/os-release',
    'NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\nVERSION_ID="2023"\nPRETTY_NAME="Amazon Linux 2023.6.20241121"\n',
  );
  file('/var/lib/cloud/data/instance-id', 'i-0abc123def4567890\n');
  file('/proc/loadavg', '3.91 3.85 3.60 9/612 28170\n');
  file('/proc/meminfo', 'MemTotal:       16093120 kB\nMemFree:         1220084 kB\nMemAvailable:   11820084 kB\n');
  file(
    '/proc/stat',
    `cpu  ${int(1e6, 2e6)} 0 ${int(1e5, 2e5)} ${int(1e7, 2e7)} 0 0 0 0 0 0\ncpu0 1 0 1 1 0 0 0 0 0 0\ncpu1 1 0 1 1 0 0 0 0 0 0\n`,
  );
  file(
    '/proc/pressure/cpu',
    'some avg10=41.20 avg60=38.90 avg300=30.12 total=912345678\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
  );
  file('/proc/sys/net/netfilter/nf_conntrack_count', '1873\n');
  file('/proc/sys/net/netfilter/nf_conntrack_max', '262144\n');
  for (let n = 0; n < 40; n++) {
    const pod = `/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${hex(8)}_${hex(4)}.slice`;
    file(
      `${pod}/cpu.stat`,
      `usage_usec ${int(1e6, 1e9)}\nuser_usec 1\nsystem_usec 1\nnr_periods ${int(1000, 9000)}\nnr_throttled ${n % 4 === 0 ? int(1, 900) : 0}\nthrottled_usec ${int(0, 1e6)}\n`,
    );
    file(`${pod}/cgroup.procs`, `${int(3000, 30000)}\n`);
  }
  file(
    '/sys/fs/cgroup/kubepods.slice/cpu.stat',
    'usage_usec 91234567890\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n',
  );
  file('/sys/fs/cgroup/kubepods.slice/memory.stat', 'anon 4123456789\nfile 2123456789\n');
  file(
    '/etc/cni/net.d/10-aws.conflist',
    JSON.stringify(
      {
        cniVersion: '0.4.0',
        name: 'aws-cni',
        plugins: [
          {
            name: 'aws-cni',
            type: 'aws-cni',
            vethPrefix: 'eni',
            mtu: '9001',
            pluginLogFile: '/var/log/aws-routed-eni/plugin.log',
          },
        ],
      },
      null,
      2,
    ),
  );
  file(
    '/var/run/aws-node/ipam.json',
    JSON.stringify({
      version: 'vpc-cni-ipam/1',
      allocations: Array.from({ length: 40 }, () => ({ containerID: hex(64), ifName: 'eth0', ipv4: ip() })),
    }),
  );
  file(
    '/etc/kubernetes/kubelet/config.json',
    JSON.stringify({ kind: 'KubeletConfiguration', maxPods: 58, cgroupDriver: 'systemd' }, null, 2),
  );
  file(
    '/var/lib/kubelet/kubeconfig',
    'apiVersion: v1\nkind: Config\nusers:\n- name: kubelet\n  user:\n    exec:\n      command: aws\n',
  );
  file('/var/log/cloud-init.log', `${'2026-11-25 10:00:01,123 - util.py[DEBUG]: Running command\n'.repeat(20_000)}`);
  file(stamp.slice(root.length), ROOT_VERSION);
  return root;
}

// ---------------------------------------------------------------------------------------------------------------
const fmtMB = (bytes) => (bytes / 1e6).toFixed(bytes < 10e6 ? 2 : 1);
console.log(
  `eks-node-diag agent benchmark (node ${process.version}, ${runs} run(s) per measure, best wall time taken)\n`,
);
const logIds = logItemIds();
const rows = [];
const notes = [];
for (const world of worlds) {
  const rootArgs = world === 'root' ? ['--root', await buildRoot()] : [];
  const full = await collectBest(`${world}-full`, rootArgs);
  const withoutLogs = await collectBest(`${world}-no-logs`, [...rootArgs, '--skip', logIds.join(',')]);
  // Where the log-copying CPU goes: the same full run without the redaction stage.
  const unredacted =
    world === 'root' ? await collectBest(`${world}-no-redact`, [...rootArgs, '--no-redact']) : undefined;
  for (const [label, run] of [
    ['full collection', full],
    ['all but log items', withoutLogs],
    ...(unredacted ? [['full, --no-redact', unredacted]] : []),
  ]) {
    const { kept, seen } = sizes(run.manifest.items);
    const statuses = new Map();
    for (const item of run.manifest.items) statuses.set(item.status, (statuses.get(item.status) ?? 0) + 1);
    rows.push({
      world: world === 'root' ? 'root tree' : 'this machine',
      run: label,
      'wall s': run.seconds.toFixed(2),
      'agent CPU s': run.agentCpu.toFixed(2),
      'commands CPU s': run.commandsCpu.toFixed(2),
      'peak RSS MB': run.peakRssMB.toFixed(0),
      'bundle MB': fmtMB(run.bundleBytes),
      'kept MB': fmtMB(kept),
      'seen MB': fmtMB(seen),
      items: [...statuses].map(([status, count]) => `${count} ${status}`).join(', '),
    });
  }
  // Folder items record each file under its own id (ipamd.log is `ipamd-log`): their paths tell them apart.
  const logItems = full.manifest.items.filter((item) => logIds.includes(item.id) || item.path.startsWith('var_log/'));
  const logSizes = sizes(logItems);
  const logItemSeconds = logItems.reduce((sum, item) => sum + (item.durationMs ?? 0), 0) / 1000;
  notes.push(
    `${world === 'root' ? 'root tree' : 'this machine'}: log copying (full minus all-but-logs): ` +
      `${(full.seconds - withoutLogs.seconds).toFixed(2)} s wall, ` +
      `${(full.agentCpu - withoutLogs.agentCpu).toFixed(2)} s agent CPU, ` +
      `${(full.commandsCpu - withoutLogs.commandsCpu).toFixed(2)} s commands CPU (journalctl); ` +
      `${logItems.length} log entries, ${fmtMB(logSizes.kept)} MB kept of ${fmtMB(logSizes.seen)} MB seen, ` +
      `their item times add up to ${logItemSeconds.toFixed(2)} s (two items run at a time). ` +
      `Outside log copying: ${withoutLogs.agentCpu.toFixed(2)} agent CPU-s (target < ${TARGET_CPU_SECONDS}: ` +
      `${withoutLogs.agentCpu < TARGET_CPU_SECONDS ? 'met' : 'MISSED'}), ${withoutLogs.peakRssMB.toFixed(0)} MB peak RSS ` +
      `(target < ${TARGET_RSS_MB}: ${withoutLogs.peakRssMB < TARGET_RSS_MB ? 'met' : 'MISSED'}).`,
  );
}
console.table(rows);
for (const note of notes) console.log(`- ${note}`);
console.log(
  `\ntargets: outside log copying < ${TARGET_CPU_SECONDS} CPU-seconds (agent user+sys) and < ${TARGET_RSS_MB} MB peak RSS. ` +
    'kept = bytes in the bundle before compression (manifest `bytes`); seen = what the sources held (truncated items ' +
    'count their full size). Log items: journals and the /var/log copies.',
);
