import { hostnameOf } from './node.ts';
import { createRandom } from './random.ts';
import type { NodeSimulation, Pod, PodSpec } from './simulation.ts';
import { isoMillis, klogTime, type Micros, SECOND } from './time.ts';

/** Kubelet 1.14 lines: glog header, then free text. */
export class LegacyKubelet {
  readonly sim: NodeSimulation;
  readonly pid: number;

  constructor(sim: NodeSimulation) {
    this.sim = sim;
    this.pid = sim.node.kubeletPid;
  }

  line(at: Micros, severity: 'I' | 'W' | 'E', source: string, text: string): void {
    if (at >= this.sim.node.collectedAt) return;
    this.sim.journal.add(
      at,
      'kubelet',
      this.pid,
      `${severity}${klogTime(at)} ${String(this.pid).padStart(7, ' ')} ${source}] ${text}`,
    );
  }

  /** kubelet's `SyncLoop (PLEG)` line for one container (or the sandbox) of a pod starting or dying. */
  plegEvent(at: Micros, pod: Pod, type: 'ContainerStarted' | 'ContainerDied', containerId: string): void {
    this.line(
      at,
      'I',
      'kubelet.go:1953',
      `SyncLoop (PLEG): "${this.podKey(pod)}", event: &pleg.PodLifecycleEvent{ID:"${pod.uid}", Type:"${type}", Data:"${containerId}"}`,
    );
  }

  podKey(pod: Pod): string {
    return `${pod.spec.name}_${pod.spec.namespace}(${pod.uid})`;
  }

  startup(at: Micros, cniReadyAt: Micros): void {
    const node = this.sim.node;
    let t = at;
    this.sim.journal.add(t, 'systemd', 1, 'Started Kubernetes Kubelet.');
    const step = (severity: 'I' | 'W' | 'E', source: string, text: string, gapMs = 3): void => {
      t += gapMs * 1_000 + (t % 997);
      this.line(t, severity, source, text);
    };
    this.sim.journal.add(
      t + 40_000,
      'kubelet',
      this.pid,
      'Flag --allow-privileged has been deprecated, will be removed in a future version',
    );
    step('I', 'server.go:417', `Version: ${node.kubeletVersion}`, 90);
    step('I', 'aws.go:1173', 'Building AWS cloudprovider');
    step('I', 'aws.go:1139', 'Zone not specified in configuration file; querying AWS metadata service', 4);
    step('I', 'tags.go:79', `AWS cloud filtering on ClusterID: ${node.clusterName}`, 160);
    step('I', 'server.go:625', '--cgroups-per-qos enabled, but --cgroup-root was not specified.  defaulting to /', 30);
    step('I', 'container_manager_linux.go:261', 'container manager verified user specified cgroup-root exists: []');
    step(
      'I',
      'container_manager_linux.go:266',
      `Creating Container Manager object based on Node Config: {RuntimeCgroupsName: SystemCgroupsName: KubeletCgroupsName: ContainerRuntime:docker CgroupsPerQOS:true CgroupRoot:/ CgroupDriver:cgroupfs KubeletRootDir:/var/lib/kubelet ProtectKernelDefaults:false NodeAllocatableConfig:{KubeReservedCgroupName: SystemReservedCgroupName: EnforceNodeAllocatable:map[pods:{}] KubeReserved:map[cpu:{i:{value:80 scale:-3} d:{Dec:<nil>} s:80m Format:DecimalSI} ephemeral-storage:{i:{value:1073741824 scale:0} d:{Dec:<nil>} s:1Gi Format:BinarySI} memory:{i:{value:935329792 scale:0} d:{Dec:<nil>} s: Format:BinarySI}] SystemReserved:map[] HardEvictionThresholds:[{Signal:memory.available Operator:LessThan Value:{Quantity:100Mi Percentage:0} GracePeriod:0s MinReclaim:<nil>} {Signal:nodefs.available Operator:LessThan Value:{Quantity:<nil> Percentage:0.1} GracePeriod:0s MinReclaim:<nil>} {Signal:nodefs.inodesFree Operator:LessThan Value:{Quantity:<nil> Percentage:0.05} GracePeriod:0s MinReclaim:<nil>}]} QOSReserved:map[] ExperimentalCPUManagerPolicy:none ExperimentalCPUManagerReconcilePeriod:10s ExperimentalPodPidsLimit:-1 EnforceCPULimits:true CPUCFSQuotaPeriod:100ms}`,
    );
    step('I', 'container_manager_linux.go:286', 'Creating device plugin manager: true');
    step('I', 'state_mem.go:36', '[cpumanager] initializing new in-memory state store');
    step('I', 'kubelet.go:279', 'Adding pod path: /etc/kubernetes/manifests', 20);
    step('I', 'kubelet.go:304', 'Watching apiserver');
    step('I', 'client.go:75', 'Connecting to docker on unix:///var/run/docker.sock');
    step('I', 'client.go:104', 'Start docker client with request timeout=2m0s');
    step(
      'W',
      'docker_service.go:561',
      'Hairpin mode set to "promiscuous-bridge" but kubenet is not enabled, falling back to "hairpin-veth"',
    );
    step('I', 'docker_service.go:238', 'Hairpin mode set to "hairpin-veth"');
    step('I', 'docker_service.go:253', 'Docker cri networking managed by cni');
    step(
      'I',
      'docker_service.go:258',
      'Docker Info: &{ID:ZB6L:5WXJ:ZPQ2:PX3A:CBOT:OQ4L:DKYG:4HZ7:7E4N:XKFY:Q3AO:MMRM Containers:0 ContainersRunning:0 ContainersPaused:0 ContainersStopped:0 Images:1 Driver:overlay2 DriverStatus:[[Backing Filesystem xfs] [Supports d_type true] [Native Overlay Diff true]] SystemStatus:[] Plugins:{Volume:[local] Network:[bridge host macvlan null overlay] Authorization:[] Log:[awslogs fluentd gcplogs gelf journald json-file logentries splunk syslog]} MemoryLimit:true SwapLimit:true KernelMemory:true CPUCfsPeriod:true CPUCfsQuota:true CPUShares:true CPUSet:true IPv4Forwarding:true BridgeNfIptables:true BridgeNfIP6tables:true Debug:false NFd:22 OomKillDisable:true NGoroutines:35 SystemTime:2019-06-12T00:00:00Z LoggingDriver:json-file CgroupDriver:cgroupfs NEventsListener:0 KernelVersion:' +
        node.kernel +
        ' OperatingSystem:Amazon Linux 2 OSType:linux Architecture:x86_64}',
    );
    step('I', 'docker_service.go:273', 'Setting cgroupDriver to cgroupfs');
    step('I', 'remote_runtime.go:59', 'parsed scheme: ""');
    step(
      'I',
      'kuberuntime_manager.go:210',
      'Container runtime docker initialized, version: 18.06.1-ce, apiVersion: 1.38.0',
      50,
    );
    step('I', 'server.go:1037', 'Started kubelet', 30);
    step('I', 'server.go:141', 'Starting to listen on 0.0.0.0:10250');
    step('I', 'fs_resource_analyzer.go:64', 'Starting FS ResourceAnalyzer');
    step('I', 'status_manager.go:152', 'Starting to sync pod status with apiserver');
    step('I', 'kubelet.go:1806', 'Starting kubelet main sync loop.');
    step(
      'I',
      'kubelet.go:1823',
      'skipping pod synchronization - [container runtime status check may not have completed yet., PLEG is not healthy: pleg has yet to be successful.]',
    );
    step('I', 'volume_manager.go:248', 'Starting Kubelet Volume Manager');
    step('I', 'desired_state_of_world_populator.go:130', 'Desired state populator starts to run');
    step('I', 'kubelet_node_status.go:283', 'Setting node annotation to enable volume controller attach/detach', 200);
    step('I', 'kubelet_node_status.go:72', `Attempting to register node ${hostnameOf(node)}`);
    step('I', 'cpu_manager.go:155', '[cpumanager] starting with none policy');
    step('I', 'cpu_manager.go:156', '[cpumanager] reconciling every 10s');
    step('I', 'policy_none.go:42', '[cpumanager] none policy: Start');
    step('I', 'kubelet_node_status.go:75', `Successfully registered node ${hostnameOf(node)}`, 400);
    for (let at2 = t + 3 * SECOND; at2 < cniReadyAt; at2 += 5 * SECOND) {
      this.line(
        at2,
        'E',
        'kubelet.go:2170',
        'Container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:docker: network plugin is not ready: cni config uninitialized',
      );
    }
  }

  admit(spec: PodSpec, at: Micros, withNetwork: boolean): Pod {
    const pod = this.sim.registerPod(spec, at);
    const random = this.sim.random;
    this.line(at, 'I', 'kubelet.go:1908', `SyncLoop (ADD, "api"): "${this.podKey(pod)}"`);
    let t = at + random.int(60_000, 150_000);
    const volumes = [...(spec.volumes ?? []), { name: pod.apiVolume, plugin: 'secret' }];
    for (const volume of volumes) {
      this.line(
        t,
        'I',
        'reconciler.go:207',
        `operationExecutor.VerifyControllerAttachedVolume started for volume "${volume.name}" (UniqueName: "kubernetes.io/${volume.plugin}/${pod.uid}-${volume.name}") pod "${spec.name}" (UID: "${pod.uid}")`,
      );
      t += random.int(300, 3_000);
    }
    for (const volume of volumes) {
      t += random.int(50_000, 100_000);
      this.line(
        t,
        'I',
        'reconciler.go:252',
        `operationExecutor.MountVolume started for volume "${volume.name}" (UniqueName: "kubernetes.io/${volume.plugin}/${pod.uid}-${volume.name}") pod "${spec.name}" (UID: "${pod.uid}")`,
      );
      t += random.int(3_000, 30_000);
      this.line(
        t,
        'I',
        'operation_generator.go:669',
        `MountVolume.SetUp succeeded for volume "${volume.name}" (UniqueName: "kubernetes.io/${volume.plugin}/${pod.uid}-${volume.name}") pod "${spec.name}" (UID: "${pod.uid}")`,
      );
    }
    t += random.int(80_000, 200_000);
    this.line(
      t,
      'I',
      'kuberuntime_manager.go:397',
      `No sandbox for pod "${this.podKey(pod)}" can be found. Need to start a new one`,
    );
    t += random.int(400_000, 900_000);
    if (withNetwork) this.sim.addPodNetwork(pod, t);
    t += random.int(300_000, 1_200_000);
    for (const id of [...pod.containerIds.values(), pod.sandboxId]) {
      this.plegEvent(t, pod, 'ContainerStarted', id);
      t += random.int(20, 300);
    }
    pod.startedAt = t;
    for (const name of pod.containerIds.keys()) pod.containerStartedAt.set(name, t);
    return pod;
  }

  complete(pod: Pod, at: Micros): void {
    for (const id of pod.containerIds.values()) {
      this.plegEvent(at, pod, 'ContainerDied', id);
    }
    const stop = at + this.sim.random.int(700_000, 1_300_000);
    if (pod.ip) this.sim.delPodNetwork(pod, stop);
    this.line(
      stop + 20_000,
      'W',
      'docker_sandbox.go:394',
      `failed to read pod IP from plugin/docker: NetworkPlugin cni failed on the status hook for pod "${pod.spec.name}_${pod.spec.namespace}": CNI failed to retrieve network namespace path: cannot find network namespace for the terminated container "${pod.sandboxId}"`,
    );
    this.plegEvent(stop + 40_000, pod, 'ContainerDied', pod.sandboxId);
    pod.stoppedAt = stop;
  }

  remove(pod: Pod, at: Micros): void {
    const random = this.sim.random;
    const node = this.sim.node;
    this.line(at, 'I', 'kubelet.go:1924', `SyncLoop (DELETE, "api"): "${this.podKey(pod)}"`);
    this.line(
      at + random.int(5_000, 30_000),
      'I',
      'kubelet.go:1918',
      `SyncLoop (REMOVE, "api"): "${this.podKey(pod)}"`,
    );
    let t = at + random.int(80_000, 150_000);
    this.line(
      t,
      'I',
      'reconciler.go:181',
      `operationExecutor.UnmountVolume started for volume "${pod.apiVolume}" (UniqueName: "kubernetes.io/secret/${pod.uid}-${pod.apiVolume}") pod "${pod.uid}" (UID: "${pod.uid}")`,
    );
    t += random.int(2_000, 12_000);
    this.line(
      t,
      'I',
      'operation_generator.go:815',
      `UnmountVolume.TearDown succeeded for volume "kubernetes.io/secret/${pod.uid}-${pod.apiVolume}" (OuterVolumeSpecName: "${pod.apiVolume}") pod "${pod.uid}" (UID: "${pod.uid}"). InnerVolumeSpecName "${pod.apiVolume}". PluginName "kubernetes.io/secret", VolumeGidValue ""`,
    );
    t += random.int(90_000, 120_000);
    this.line(
      t,
      'I',
      'reconciler.go:301',
      `Volume detached for volume "${pod.apiVolume}" (UniqueName: "kubernetes.io/secret/${pod.uid}-${pod.apiVolume}") on node "${hostnameOf(node)}" DevicePath ""`,
    );
    t += random.int(1_500_000, 2_500_000);
    this.line(t, 'W', 'kubelet_getters.go:284', `Path "/var/lib/kubelet/pods/${pod.uid}/volumes" does not exist`);
    this.line(
      t + 200,
      'I',
      'kubelet_volumes.go:140',
      `Cleaned up orphaned pod volumes dir from pod "${pod.uid}" at /var/lib/kubelet/pods/${pod.uid}/volumes`,
    );
    pod.removedAt = at;
  }
}

interface SeelogLine {
  at: Micros;
  level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  msg: string;
}

const seelogLine = (line: SeelogLine): string => `${isoMillis(line.at)} [${line.level}] ${line.msg}`;

/** Splits seelog lines into the hourly files `ipamd.log.2019-06-12-08` and the current `ipamd.log`. */
function hourlyFiles(base: string, lines: SeelogLine[], now: Micros): Record<string, string> {
  lines.sort((a, b) => a.at - b.at);
  const hourOf = (at: Micros): string => isoMillis(at).slice(0, 13).replace('T', '-');
  const current = hourOf(now);
  const files: Record<string, string[]> = {};
  for (const line of lines) {
    const hour = hourOf(line.at);
    const name = hour === current ? base : `${base}.${hour}`;
    const list = files[name] ?? [];
    list.push(seelogLine(line));
    files[name] = list;
  }
  return Object.fromEntries(Object.entries(files).map(([name, text]) => [name, `${text.join('\n')}\n`]));
}

export function legacyIpamdLogs(sim: NodeSimulation, version: string): Record<string, string> {
  const node = sim.node;
  const random = createRandom(`legacy-ipamd/${node.seed}`);
  const lines: SeelogLine[] = [];
  const start = sim.ipamdStarts[0]?.at ?? node.bootAt;
  const push = (at: Micros, level: SeelogLine['level'], msg: string): void => {
    lines.push({ at, level, msg });
  };
  let t = start;
  const step = (level: SeelogLine['level'], msg: string, gapMs = 20): void => {
    t += gapMs * 1_000;
    push(t, level, msg);
  };
  step('INFO', `Starting L-IPAMD ${version}  ...`);
  step('INFO', 'Testing communication with server', 10);
  step(
    'INFO',
    `Running with Kubernetes cluster version: v1.14+. git version: ${node.kubeletVersion.replace(/-eks.*/, '-eks-5047ed')}. git tree state: clean. commit: 5047edce664593832e9b889e447ac75ab104f527. platform: linux/amd64`,
    18,
  );
  step('INFO', 'Communication with server successful');
  step('INFO', 'Starting Pod controller');
  step('INFO', 'Waiting for controller cache sync');
  step('DEBUG', `Discovered region: ${node.region}`, 200);
  step('DEBUG', `Found availability zone: ${node.availabilityZone} `);
  step('DEBUG', `Discovered the instance primary ip address: ${node.privateIp}`);
  step('DEBUG', `Found instance-id: ${node.instanceId} `);
  step('DEBUG', `Found instance-type: ${node.instanceType} `);
  step(
    'DEBUG',
    `Found primary interface's MAC address: 02:${random.hex(2)}:${random.hex(2)}:${random.hex(2)}:${random.hex(2)}:${random.hex(2)}`,
  );
  step('DEBUG', `${sim.enis[0]?.id} is the primary eni of this instance`);
  step('INFO', 'Setting up host network... ', 300);
  step('INFO', 'Starting L-IPAMD gRPC server', 200);
  step('INFO', 'Serving metrics on port 61678');
  const total = sim.enis.reduce((sum, eni) => sum + eni.secondaryIps.length, 0);
  const assignedAt = (at: Micros): number =>
    sim.cni.reduce(
      (count, event) =>
        event.at > at ? count : event.kind === 'add' ? count + 1 : event.kind === 'del' ? count - 1 : count,
      0,
    );
  for (let at = start + 30 * SECOND; at < node.collectedAt; at += 30 * SECOND + random.int(-300_000, 300_000)) {
    const used = assignedAt(at);
    push(at, 'DEBUG', `IP pool stats: total = ${total}, used = ${used}, c.maxIPsPerENI = ${node.ipsPerEni - 1}`);
    push(
      at + 60,
      'DEBUG',
      `IP pool is NOT too low: available (${total - used}) >= ENI target (1) * addrsPerENI (${node.ipsPerEni - 1})`,
    );
    push(
      at + 90,
      'DEBUG',
      `It might be possible to remove extra ENIs because available (${total - used}) > ENI target (1) * addrsPerENI (${node.ipsPerEni - 1}): `,
    );
    push(at + 130, 'DEBUG', 'No ENI can be deleted at this time');
  }
  for (const event of sim.cni) {
    if (event.at >= node.collectedAt) continue;
    const pod = event.pod;
    const at = event.at + random.int(1_000, 3_000);
    if (event.kind === 'add') {
      push(
        at,
        'INFO',
        `Received AddNetwork for NS ${pod.netns}, Pod ${pod.spec.name}, NameSpace ${pod.spec.namespace}, Container ${pod.sandboxId}, ifname eth0`,
      );
      push(
        at + 90,
        'DEBUG',
        `AssignIPv4Address: IP address pool stats: total: ${total}, assigned ${assignedAt(event.at - 1)}`,
      );
      push(
        at + 200,
        'INFO',
        `AssignPodIPv4Address Assign IP ${event.ip} to pod (name ${pod.spec.name}, namespace ${pod.spec.namespace} container ${pod.sandboxId})`,
      );
      push(
        at + 310,
        'INFO',
        `Send AddNetworkReply: IPv4Addr ${event.ip}, DeviceNumber: ${event.deviceNumber}, err: <nil>`,
      );
    } else if (event.kind === 'del') {
      push(
        at,
        'INFO',
        `Received DelNetwork for IP ${event.ip}, Pod ${pod.spec.name}, Namespace ${pod.spec.namespace}, Container ${pod.sandboxId}`,
      );
      push(
        at + 120,
        'DEBUG',
        `UnassignPodIPv4Address: IP address pool stats: total:${total}, assigned ${assignedAt(event.at - 1)}, pod(Name: ${pod.spec.name}, Namespace: ${pod.spec.namespace}, Container ${pod.sandboxId})`,
      );
      push(at + 240, 'INFO', `Send DelNetworkReply: IPv4Addr ${event.ip}, DeviceNumber: 0, err: <nil>`);
    }
  }
  return hourlyFiles('ipamd.log', lines, node.collectedAt);
}

export function legacyPluginLogs(sim: NodeSimulation): Record<string, string> {
  const node = sim.node;
  const lines: SeelogLine[] = [];
  for (const event of sim.cni) {
    if (event.at >= node.collectedAt) continue;
    const pod = event.pod;
    const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.spec.namespace};K8S_POD_NAME=${pod.spec.name};K8S_POD_INFRA_CONTAINER_ID=${pod.sandboxId}`;
    const stdin = '{"cniVersion":"0.3.1","mtu":"9001","name":"aws-cni","type":"aws-cni","vethPrefix":"eni"}';
    if (event.kind === 'add') {
      lines.push({
        at: event.at,
        level: 'INFO',
        msg: `Received CNI add request: ContainerID(${pod.sandboxId}) Netns(${pod.netns}) IfName(eth0) Args(${args}) Path(/opt/cni/bin/) argsStdinData(${stdin})`,
      });
      lines.push({
        at: event.at + 4_000,
        level: 'INFO',
        msg: `Received add network response for pod ${pod.spec.name} namespace ${pod.spec.namespace} container ${pod.sandboxId}: ${event.ip}, table ${event.deviceNumber === 0 ? 0 : event.deviceNumber + 1}, external-SNAT: false, vpcCIDR: [${node.vpcCidr}]`,
      });
      lines.push({
        at: event.at + 9_000,
        level: 'DEBUG',
        msg: `SetupNS: hostVethName=eni${createRandom(`veth/${pod.spec.namespace}.${pod.spec.name}`).hex(11)}, contVethName=eth0, netnsPath=${pod.netns}, table=${event.deviceNumber === 0 ? 0 : event.deviceNumber + 1}, mtu=9001`,
      });
      lines.push({ at: event.at + 31_000, level: 'INFO', msg: `Added toContainer rule for ${event.ip}/32` });
    } else if (event.kind === 'del') {
      lines.push({
        at: event.at,
        level: 'INFO',
        msg: `Received CNI del request: ContainerID(${pod.sandboxId}) Netns() IfName(eth0) Args(${args}) Path(/opt/cni/bin/) argsStdinData(${stdin})`,
      });
      lines.push({
        at: event.at + 3_000,
        level: 'INFO',
        msg: `Received del network response for pod ${pod.spec.name} namespace ${pod.spec.namespace} container ${pod.sandboxId}: ${event.ip}, table 0`,
      });
      lines.push({ at: event.at + 5_000, level: 'DEBUG', msg: `TeardownNS: addr ${event.ip}/32, table 0` });
      lines.push({ at: event.at + 6_000, level: 'INFO', msg: `Delete toContainer rule for ${event.ip}/32 ` });
    }
  }
  return hourlyFiles('plugin.log', lines, node.collectedAt);
}

/** `/v1/enis` before v1.7: one ENIIPPools map with per-address Assigned flags. */
export function legacyEniOut(sim: NodeSimulation): string {
  const pools: Record<string, unknown> = {};
  let total = 0;
  for (const eni of sim.enis) {
    const addresses: Record<string, unknown> = {};
    let assigned = 0;
    for (const ip of eni.secondaryIps) {
      const isAssigned = sim.assignments.has(ip);
      if (isAssigned) assigned++;
      addresses[ip] = { Address: ip, Assigned: isAssigned, UnassignedTime: '0001-01-01T00:00:00Z' };
      total++;
    }
    pools[eni.id] = {
      ID: eni.id,
      IsPrimary: eni.deviceNumber === 0,
      DeviceNumber: eni.deviceNumber,
      AssignedIPv4Addresses: assigned,
      IPv4Addresses: addresses,
    };
  }
  return JSON.stringify({ TotalIPs: total, AssignedIPs: sim.assignments.size, ENIIPPools: pools });
}

/** `/v1/pods` before v1.7: pod name, namespace and sandbox id → IP and device number. */
export function legacyPodOut(sim: NodeSimulation): string {
  const pods: Record<string, unknown> = {};
  for (const assignment of sim.assignments.values()) {
    pods[`${assignment.pod.spec.name}_${assignment.pod.spec.namespace}_${assignment.pod.sandboxId}`] = {
      IP: assignment.ip,
      DeviceNumber: assignment.eni.deviceNumber,
    };
  }
  return JSON.stringify(pods);
}

export function legacyMetrics(sim: NodeSimulation): string {
  const node = sim.node;
  const random = createRandom(`legacy-metrics/${node.seed}`);
  const total = sim.enis.reduce((sum, eni) => sum + eni.secondaryIps.length, 0);
  const lines = [
    '# HELP awscni_add_ip_req_count The number of add IP address request',
    '# TYPE awscni_add_ip_req_count counter',
    `awscni_add_ip_req_count ${sim.cni.filter((e) => e.kind === 'add').length}`,
    '# HELP awscni_assigned_ip_addresses The number of IP addresses assigned to pods',
    '# TYPE awscni_assigned_ip_addresses gauge',
    `awscni_assigned_ip_addresses ${sim.assignments.size}`,
    '# HELP awscni_aws_api_latency_ms AWS API call latency in ms',
    '# TYPE awscni_aws_api_latency_ms summary',
  ];
  for (const api of [
    'AssignPrivateIpAddresses',
    'AttachNetworkInterface',
    'CreateNetworkInterface',
    'DescribeInstances',
    'DescribeNetworkInterfaces',
    'GetMetadata',
    'ModifyNetworkInterfaceAttribute',
  ]) {
    for (const quantile of ['0.5', '0.9', '0.99'])
      lines.push(
        `awscni_aws_api_latency_ms{api="${api}",error="false",status="200",quantile="${quantile}"} ${random.int(40, 900)}`,
      );
    lines.push(`awscni_aws_api_latency_ms_sum{api="${api}",error="false",status="200"} ${random.int(500, 9000)}`);
    lines.push(`awscni_aws_api_latency_ms_count{api="${api}",error="false",status="200"} ${random.int(1, 40)}`);
  }
  lines.push(
    '# HELP awscni_del_ip_req_count The number of delete IP address request',
    '# TYPE awscni_del_ip_req_count counter',
    `awscni_del_ip_req_count{reason="PodDeleted"} ${sim.cni.filter((e) => e.kind === 'del').length}`,
    '# HELP awscni_eni_allocated The number of ENIs allocated',
    '# TYPE awscni_eni_allocated gauge',
    `awscni_eni_allocated ${sim.enis.length}`,
    '# HELP awscni_eni_max The maximum number of ENIs that can be attached to the instance',
    '# TYPE awscni_eni_max gauge',
    `awscni_eni_max ${node.maxEnis}`,
    '# HELP awscni_ip_max The maximum number of IP addresses that can be allocated to the instance',
    '# TYPE awscni_ip_max gauge',
    `awscni_ip_max ${node.maxEnis * (node.ipsPerEni - 1)}`,
    '# HELP awscni_ipamd_action_inprogress The number of ipamd actions inprogress',
    '# TYPE awscni_ipamd_action_inprogress gauge',
    'awscni_ipamd_action_inprogress{fn="increaseIPPool"} 0',
    'awscni_ipamd_action_inprogress{fn="nodeIPPoolReconcile"} 0',
    'awscni_ipamd_action_inprogress{fn="nodeInit"} 0',
    '# HELP awscni_reconcile_count The number of times ipamd reconciles on ENIs and IP addresses',
    '# TYPE awscni_reconcile_count counter',
    `awscni_reconcile_count{fn="eniReconcileAdd"} ${Math.round((node.collectedAt - node.bootAt) / (60 * SECOND))}`,
    '# HELP awscni_total_ip_addresses The total number of IP addresses',
    '# TYPE awscni_total_ip_addresses gauge',
    `awscni_total_ip_addresses ${total}`,
    '# HELP go_goroutines Number of goroutines that currently exist.',
    '# TYPE go_goroutines gauge',
    `go_goroutines ${random.int(40, 80)}`,
    '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.',
    '# TYPE process_cpu_seconds_total counter',
    `process_cpu_seconds_total ${(random.float(60, 200)).toFixed(2)}`,
    '# HELP process_resident_memory_bytes Resident memory size in bytes.',
    '# TYPE process_resident_memory_bytes gauge',
    `process_resident_memory_bytes ${random.int(30_000_000, 45_000_000)}`,
  );
  return `${lines.join('\n')}\n`;
}
