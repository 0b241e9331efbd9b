/**
 * The simulated node's systemd journal: kernel, systemd, containerd and kubelet entries in journal export format
 * (`KEY=value` lines, a blank line between entries), turned into real journal files by systemd-journal-remote so
 * that `journalctl --directory <root>/var/log/journal -u kubelet` reads them like a node's own.
 *
 * kubelet writes klog lines to stderr and journald splits them at newlines, so a multi-line klog value
 * (`output=<` … ` >`) becomes several entries, each a single line; no entry here needs the binary field form.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createRandom, type Random } from '../random.ts';
import type { NodeScenario } from '../scenarios.ts';
import { MINUTE, type NodeStory, SECOND } from './story.ts';
import { klogTime, logrusTime } from './time.ts';

export interface JournalEntry {
  /** Microseconds since the epoch, when journald received the line. */
  realtime: number;
  fields: Record<string, string>;
}

const AWS_NODE_PROBE = '/app/grpc-health-probe -addr=127.0.0.1:50051 -connect-timeout=5s -rpc-timeout=5s';

interface Writer {
  identity: Record<string, string>;
  pid: number;
}

export function journalEntries(scenario: NodeScenario, story: NodeStory): JournalEntry[] {
  const { node } = scenario;
  const random: Random = createRandom(`journal/${scenario.name}`);
  const entries: JournalEntry[] = [];
  const common = {
    _BOOT_ID: node.bootId,
    _MACHINE_ID: node.machineId,
    _HOSTNAME: node.hostname,
  };
  const bootMicros = story.bootAt * 1000;
  const push = (atMs: number, fields: Record<string, string>) => {
    const realtime = atMs * 1000 + random.int(0, 999);
    entries.push({
      realtime,
      fields: { ...common, __MONOTONIC_TIMESTAMP: String(realtime - bootMicros + 2_913_004), ...fields },
    });
  };

  const kernel = (atMs: number, message: string, priority = '6') =>
    push(atMs, {
      _TRANSPORT: 'kernel',
      PRIORITY: priority,
      SYSLOG_FACILITY: '0',
      SYSLOG_IDENTIFIER: 'kernel',
      MESSAGE: message,
    });
  const systemd = (atMs: number, unit: string, message: string) =>
    push(atMs, {
      _TRANSPORT: 'journal',
      PRIORITY: '6',
      SYSLOG_FACILITY: '3',
      SYSLOG_IDENTIFIER: 'systemd',
      _PID: '1',
      _UID: '0',
      _GID: '0',
      _COMM: 'systemd',
      _EXE: '/usr/lib/systemd/systemd',
      _CMDLINE: '/usr/lib/systemd/systemd --switched-root --system --deserialize=32',
      _SYSTEMD_CGROUP: '/init.scope',
      _SYSTEMD_UNIT: 'init.scope',
      _SYSTEMD_SLICE: '-.slice',
      UNIT: unit,
      CODE_FILE: 'src/core/job.c',
      MESSAGE: message,
    });
  const daemon = (name: string, pid: number, exe: string, cmdline: string): Writer => ({
    pid,
    identity: {
      _TRANSPORT: 'stdout',
      PRIORITY: '6',
      SYSLOG_FACILITY: '3',
      SYSLOG_IDENTIFIER: name,
      _PID: String(pid),
      _UID: '0',
      _GID: '0',
      _COMM: name,
      _EXE: exe,
      _CMDLINE: cmdline,
      _CAP_EFFECTIVE: '1ffffffffff',
      _SYSTEMD_CGROUP: `/runtime.slice/${name}.service`,
      _SYSTEMD_UNIT: `${name}.service`,
      _SYSTEMD_SLICE: 'runtime.slice',
      _SYSTEMD_INVOCATION_ID: random.hex(32),
      _STREAM_ID: random.hex(32),
    },
  });
  const kubeletWriter = daemon(
    'kubelet',
    node.kubeletPid,
    '/usr/bin/kubelet',
    `/usr/bin/kubelet --config /etc/kubernetes/kubelet/config.json --kubeconfig /var/lib/kubelet/kubeconfig --container-runtime-endpoint unix:///run/containerd/containerd.sock --hostname-override=${node.hostname} --cloud-provider=external --node-ip=${node.privateIp} --node-labels=eks.amazonaws.com/nodegroup=shop-general,eks.amazonaws.com/capacityType=ON_DEMAND --v=2`,
  );
  const containerdWriter = daemon('containerd', node.containerdPid, '/usr/bin/containerd', '/usr/bin/containerd');

  /** One klog record; each physical line becomes its own entry, as journald stores stderr. */
  const klog = (atMs: number, severity: 'I' | 'W' | 'E', source: string, message: string) => {
    const micros = atMs * 1000 + random.int(0, 999);
    const header = `${severity}${klogTime(micros)} ${String(kubeletWriter.pid).padStart(7, ' ')} ${source}] `;
    message.split('\n').forEach((line, index) => {
      push(atMs, { ...kubeletWriter.identity, MESSAGE: index === 0 ? `${header}${line}` : line });
    });
  };
  const containerd = (atMs: number, level: 'info' | 'warning' | 'error', msg: string, extra = '') => {
    const micros = atMs * 1000 + random.int(0, 999);
    push(atMs, {
      ...containerdWriter.identity,
      MESSAGE: `time="${logrusTime(micros, random.int(0, 999))}" level=${level} msg=${JSON.stringify(msg)}${extra}`,
    });
  };
  const q = JSON.stringify;

  // Boot: kernel, then systemd starts containerd and kubelet.
  const boot = story.bootAt;
  kernel(
    boot,
    `Linux version ${node.kernel} (mockbuild@ip-10-0-50-28) (gcc (GCC) 11.5.0 20240719 (Red Hat 11.5.0-5), GNU ld version 2.41-50.amzn2023.0.3) #1 SMP PREEMPT_DYNAMIC Tue Oct 28 19:02:47 UTC 2025`,
    '5',
  );
  kernel(
    boot + 2,
    `Command line: BOOT_IMAGE=(hd0,gpt1)/boot/vmlinuz-${node.kernel} root=UUID=8f3c1a52-5d0b-4c61-9a4e-2e7b1f0c9d36 ro console=tty0 console=ttyS0,115200n8 nvme_core.io_timeout=4294967295 rd.emergency=poweroff rd.shell=0 selinux=1 security=selinux quiet`,
  );
  kernel(boot + 9 * SECOND, 'ena 0000:00:05.0 ens5: renamed from eth0');
  const containerdStart = boot + 14 * SECOND;
  systemd(containerdStart, 'containerd.service', 'Starting containerd.service - containerd container runtime...');
  containerd(
    containerdStart + 80,
    'info',
    `starting containerd`,
    ` revision=05044ec0a9a75232cad458027ca83437aae3f4da version=${node.containerdVersion}`,
  );
  containerd(containerdStart + 420, 'info', 'containerd successfully booted in 0.361282s');
  systemd(containerdStart + 430, 'containerd.service', 'Started containerd.service - containerd container runtime.');

  const kubeletStart = story.kubeletStartAt;
  systemd(kubeletStart - 40, 'kubelet.service', 'Starting kubelet.service - Kubernetes Kubelet...');
  systemd(kubeletStart, 'kubelet.service', 'Started kubelet.service - Kubernetes Kubelet.');
  klog(kubeletStart + 90, 'I', 'server.go:530', `"Kubelet version" kubeletVersion="${node.kubeletVersion}"`);
  klog(kubeletStart + 91, 'I', 'server.go:532', '"Golang settings" GOGC="" GOMAXPROCS="" GOTRACEBACK=""');
  klog(kubeletStart + 640, 'I', 'kubelet.go:2468', '"Starting kubelet main sync loop"');
  klog(
    kubeletStart + 650,
    'E',
    'kubelet.go:3117',
    '"Container runtime network not ready" networkReady="NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"',
  );
  klog(
    kubeletStart + 2 * SECOND,
    'I',
    'kubelet_node_status.go:78',
    `"Successfully registered node" node="${node.hostname}"`,
  );

  // aws-node and kube-proxy come first; pods with pod IPs wait for the CNI.
  const awsNode = story.awsNode;
  const awsNodeRef = `kube-system/${awsNode.name}`;
  const kubeProxyRef = `kube-system/${story.kubeProxyPod.name}`;
  klog(
    kubeletStart + 4 * SECOND,
    'I',
    'kubelet.go:2544',
    `"SyncLoop ADD" source="api" pods=[${q(awsNodeRef)},${q(kubeProxyRef)}]`,
  );
  const awsNodeSandbox = random.hex(64);
  awsNode.startedAt.forEach((startedAt, attempt) => {
    const containerId = awsNode.containerIds[attempt] ?? '';
    containerd(
      startedAt - 300,
      'info',
      `CreateContainer within sandbox ${q(awsNodeSandbox)} for container &ContainerMetadata{Name:aws-node,Attempt:${attempt},}`,
    );
    containerd(startedAt - 20, 'info', `StartContainer for ${q(containerId)} returns successfully`);
    klog(
      startedAt + 400,
      'I',
      'kubelet.go:2575',
      `"SyncLoop (PLEG): event for pod" pod=${q(awsNodeRef)} event={"ID":${q(awsNode.uid)},"Type":"ContainerStarted","Data":${q(containerId)}}`,
    );
    klog(
      startedAt + 38 * SECOND,
      'I',
      'kubelet.go:2609',
      `"SyncLoop (probe)" probe="readiness" status="ready" pod=${q(awsNodeRef)}`,
    );
  });

  for (const pod of story.pods) {
    const ref = `${pod.namespace}/${pod.name}`;
    klog(pod.startedAt - 2 * SECOND, 'I', 'kubelet.go:2544', `"SyncLoop ADD" source="api" pods=[${q(ref)}]`);
    containerd(
      pod.startedAt - 1500,
      'info',
      `RunPodSandbox for &PodSandboxMetadata{Name:${pod.name},Uid:${pod.uid},Namespace:${pod.namespace},Attempt:0,}`,
    );
    containerd(
      pod.startedAt - 400,
      'info',
      `RunPodSandbox for &PodSandboxMetadata{Name:${pod.name},Uid:${pod.uid},Namespace:${pod.namespace},Attempt:0,} returns sandbox id ${q(pod.sandboxId)}`,
    );
    containerd(pod.startedAt, 'info', `StartContainer for ${q(pod.containerId)} returns successfully`);
    klog(
      pod.startedAt + 700,
      'I',
      'pod_startup_latency_tracker.go:104',
      `"Observed pod startup duration" pod=${q(ref)} podStartSLOduration=${(2 + random.next() * 2).toFixed(9)} podStartE2EDuration="${(3 + random.next() * 3).toFixed(6)}s"`,
    );
  }

  // The CronJob's pods: started, run to completion, deleted.
  for (const run of story.jobRuns) {
    const ref = `${run.namespace}/${run.name}`;
    klog(run.startedAt - 2 * SECOND, 'I', 'kubelet.go:2544', `"SyncLoop ADD" source="api" pods=[${q(ref)}]`);
    containerd(
      run.startedAt - 400,
      'info',
      `RunPodSandbox for &PodSandboxMetadata{Name:${run.name},Uid:${run.uid},Namespace:${run.namespace},Attempt:0,} returns sandbox id ${q(run.sandboxId)}`,
    );
    containerd(run.startedAt, 'info', `StartContainer for ${q(run.containerId)} returns successfully`);
    klog(
      run.startedAt + 700,
      'I',
      'pod_startup_latency_tracker.go:104',
      `"Observed pod startup duration" pod=${q(ref)} podStartSLOduration=${(1 + random.next()).toFixed(9)} podStartE2EDuration="${(2 + random.next() * 2).toFixed(6)}s"`,
    );
    klog(
      run.endedAt + 300,
      'I',
      'kubelet.go:2575',
      `"SyncLoop (PLEG): event for pod" pod=${q(ref)} event={"ID":${q(run.uid)},"Type":"ContainerDied","Data":${q(run.containerId)}}`,
    );
    containerd(run.endedAt + 880, 'info', `TearDown network for sandbox ${q(run.sandboxId)} successfully`);
    containerd(run.endedAt + 930, 'info', `StopPodSandbox for ${q(run.sandboxId)} returns successfully`);
    klog(run.endedAt + 4 * SECOND, 'I', 'kubelet.go:2560', `"SyncLoop DELETE" source="api" pods=[${q(ref)}]`);
    klog(run.endedAt + 4 * SECOND + 40, 'I', 'kubelet.go:2554', `"SyncLoop REMOVE" source="api" pods=[${q(ref)}]`);
  }

  // aws-node's probes under CPU starvation.
  for (const probe of story.probeEvents) {
    const output =
      probe.style === 'exec-timeout'
        ? `output=${q(`command ${q(AWS_NODE_PROBE)} timed out`)}`
        : 'output=<\n\ttimeout: failed to connect service "127.0.0.1:50051" within 5s\n >';
    klog(
      probe.at,
      'I',
      'prober.go:107',
      `"Probe failed" probeType=${q(probe.probeType)} pod=${q(awsNodeRef)} podUID=${q(awsNode.uid)} containerName="aws-node" probeResult="failure" ${output}`,
    );
  }
  story.restarts.forEach((at, index) => {
    const dying = awsNode.containerIds[index] ?? '';
    klog(
      at,
      'I',
      'kuberuntime_manager.go:1130',
      `"Message for Container of pod" containerName="aws-node" containerStatusID={"Type":"containerd","ID":${q(dying)}} pod=${q(awsNodeRef)} containerMessage="Container aws-node failed liveness probe, will be restarted"`,
    );
    klog(
      at + 2,
      'I',
      'kuberuntime_container.go:809',
      `"Killing container with a grace period" pod=${q(awsNodeRef)} podUID=${q(awsNode.uid)} containerName="aws-node" containerID="containerd://${dying}" gracePeriod=30`,
    );
    containerd(at + 5, 'info', `StopContainer for ${q(dying)} with timeout 30 (s)`);
    containerd(at + 7, 'info', `Stop container ${q(dying)} with signal terminated`);
  });
  if (scenario.probeFailures) {
    // A starved kubelet falls behind on its own housekeeping too.
    const from = story.now - scenario.probeFailures.firstMinutesAgo * MINUTE;
    for (let at = from; at < story.now; at += 7 * MINUTE + random.int(0, 90 * SECOND)) {
      klog(
        at,
        'I',
        'kubelet.go:2698',
        `"Housekeeping took longer than expected" expected="1s" actual="${(2 + random.next() * 3).toFixed(3)}s"`,
      );
    }
  }

  // Pods that never get an address.
  for (const failure of story.ipFailures) {
    const ref = `${failure.namespace}/${failure.pod}`;
    const cniError = `failed to setup network for sandbox ${q(failure.sandboxId)}: plugin type="aws-cni" name="aws-cni" failed (add): add cmd: failed to assign an IP address to container`;
    const rpcError = `rpc error: code = Unknown desc = ${cniError}`;
    containerd(
      failure.at + 30,
      'error',
      `RunPodSandbox for &PodSandboxMetadata{Name:${failure.pod},Uid:${failure.podUid},Namespace:${failure.namespace},Attempt:0,} failed, error`,
      ` error=${q(cniError)}`,
    );
    klog(failure.at + 31, 'E', 'log.go:32', `"RunPodSandbox from runtime service failed" err=${q(rpcError)}`);
    klog(
      failure.at + 31,
      'E',
      'kuberuntime_sandbox.go:72',
      `"Failed to create sandbox for pod" err=${q(rpcError)} pod=${q(ref)}`,
    );
    klog(
      failure.at + 32,
      'E',
      'pod_workers.go:1301',
      `"Error syncing pod, skipping" err=${q(`failed to "CreatePodSandbox" for "${failure.pod}_${failure.namespace}(${failure.podUid})" with CreatePodSandboxError: "Failed to create sandbox for pod \\"${failure.pod}_${failure.namespace}(${failure.podUid})\\": ${rpcError}"`)} pod=${q(ref)} podUID=${q(failure.podUid)}`,
    );
  }

  return entries.sort((a, b) => a.realtime - b.realtime);
}

/**
 * Journal export format. Every value here is one line; a newline would need the binary field form. Each entry ends
 * with a blank line: systemd-journal-remote silently drops a last entry that is not terminated.
 */
export function exportText(entries: JournalEntry[]): string {
  return entries
    .map((entry) => {
      const lines = [`__REALTIME_TIMESTAMP=${entry.realtime}`];
      for (const [key, value] of Object.entries(entry.fields)) {
        if (value.includes('\n')) throw new Error(`journal field ${key} holds a newline: ${JSON.stringify(value)}`);
        lines.push(`${key}=${value}`);
      }
      return `${lines.join('\n')}\n\n`;
    })
    .join('');
}

/** Writes `exportText` into `journalFile` with systemd-journal-remote; fails with its stderr when it does. */
export async function buildJournalFile(journalRemote: string, exportData: string, journalFile: string): Promise<void> {
  if (!journalFile.endsWith('.journal')) throw new Error(`journal file name must end in .journal: ${journalFile}`);
  await mkdir(dirname(journalFile), { recursive: true });
  await new Promise<void>((resolve, reject) => {
    const child = spawn(journalRemote, ['-o', journalFile, '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${journalRemote} -o ${journalFile} exited with ${code}: ${stderr.trim()}`));
    });
    child.stdin.end(exportData);
  });
}

export async function writeJournal(
  journalRemote: string,
  entries: JournalEntry[],
  exportFile: string,
  journalFile: string,
): Promise<void> {
  const text = exportText(entries);
  await mkdir(dirname(exportFile), { recursive: true });
  await writeFile(exportFile, text);
  await buildJournalFile(journalRemote, text, journalFile);
}
