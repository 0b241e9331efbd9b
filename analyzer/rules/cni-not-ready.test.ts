import { expect } from 'vitest';
import { ruleTester } from '../engine/rule-tester.ts';
import rule from './cni-not-ready.ts';

const KUBELET = 'kubelet/kubelet.log';
const MESSAGES = 'var_log/messages';
const PLUGIN = 'var_log/aws-routed-eni/plugin.log';
const IPAMD = 'var_log/aws-routed-eni/ipamd.log';
const CONFLIST = 'cni/10-aws.conflist';
const CNI_ENV = 'cni/cni-configuration-variables-containerd.json';
const ENIS = 'ipamd/enis.json';
const METRICS = 'ipamd/metrics.json';

const lines = (all: string[]) => `${all.join('\n')}\n`;
const host = 'ip-10-0-1-23.ec2.internal';

/** `HH:MM:SS` for a number of seconds after 08:00:00. */
function clock(seconds: number): string {
  const total = 8 * 3600 + seconds;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor(total / 60) % 60)}:${pad(total % 60)}`;
}
const kubelet = (seconds: number, body: string) => `Nov 20 ${clock(seconds)} ${host} kubelet[3412]: ${body}`;
// kubelet.go updateRuntimeUp, every ~5 s while the CNI is not initialized (containerd; issue reports and EKS guides).
const notReady = (seconds: number) =>
  kubelet(
    seconds,
    `E1120 ${clock(seconds)}.330578    3412 kubelet.go:3011] "Container runtime network not ready" networkReady="NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"`,
  );
const routine = (seconds: number) =>
  kubelet(
    seconds,
    `I1120 ${clock(seconds)}.000001    3412 kubelet_getters.go:187] "Pod status updated" pod="kube-system/kube-proxy-abcde" status="Running"`,
  );
/** Not-ready lines every 5 s from `from` to `to` seconds. */
const notReadyBurst = (from: number, to: number) => {
  const out: string[] = [];
  for (let s = from; s <= to; s += 5) out.push(notReady(s));
  return out;
};

const conflist = JSON.stringify({
  cniVersion: '0.4.0',
  name: 'aws-cni',
  disableCheck: true,
  plugins: [
    {
      name: 'aws-cni',
      type: 'aws-cni',
      vethPrefix: 'eni',
      mtu: '9001',
      podSGEnforcingMode: 'strict',
      pluginLogFile: '/var/log/aws-routed-eni/plugin.log',
      pluginLogLevel: 'DEBUG',
    },
    { name: 'egress-cni', type: 'egress-cni', mtu: '9001', enabled: 'false' },
    { type: 'portmap', capabilities: { portMappings: true }, snat: true },
  ],
});
// `ctr -n k8s.io container info` of the aws-node container, as the stock collector saves it (trimmed).
const cniEnv = JSON.stringify({
  ID: '7f9c0d1e2a3b',
  Image: '602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1',
  Spec: {
    process: { env: ['AWS_VPC_K8S_CNI_LOGLEVEL=DEBUG', 'DISABLE_INTROSPECTION=false', 'DISABLE_METRICS=false'] },
  },
});
const ipamdLog = `${JSON.stringify({ level: 'info', ts: '2026-11-20T08:00:05.000Z', caller: 'aws-k8s-agent/main.go:64', msg: 'Starting L-IPAMD v1.19.2  ...' })}\n`;

const zap = (level: string, ts: string, caller: string, msg: string) =>
  JSON.stringify({ level, ts: `2026-11-20T${ts}Z`, caller, msg });
// cmd/routed-eni-cni-plugin/cni.go when ipamd does not listen (issue reports: "connect: connection refused").
const grpcRefused = (ts: string, container: string) =>
  zap(
    'error',
    ts,
    'routed-eni-cni-plugin/cni.go:283',
    `Error received from AddNetwork grpc call for containerID ${container}: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing dial tcp 127.0.0.1:50051: connect: connection refused"`,
  );
const addOk = (ts: string, container: string) =>
  zap(
    'info',
    ts,
    'routed-eni-cni-plugin/cni.go:297',
    `Received add network response from ipamd for container ${container} interface eth0: Success:true IPAddress:{IPv4Addr:"10.0.1.57"} DeviceNumber:0 VPCv4CIDRs:"10.0.0.0/16"`,
  );

ruleTester(rule, {
  pass: [
    {
      name: 'stock bundle: 40 s of NetworkPluginNotReady at boot, then ready for an hour; conflist in place',
      files: {
        [KUBELET]: lines([...notReadyBurst(0, 40), routine(600), routine(3600)]),
        [CONFLIST]: conflist,
        [CNI_ENV]: cniEnv,
        [PLUGIN]: lines([addOk('08:01:00.000', '6397e2a1')]),
      },
      messageId: 'ready',
      evidence: [`${KUBELET}:11`, `${CONFLIST}:`],
      check: (result) => {
        expect(result.summary).toContain('reports ended 59 min before the journal ends');
        expect(result.summary).toContain('plugins aws-cni, egress-cni, portmap');
        expect(result.caveats.join(' ')).toMatch(/as it does while aws-node starts/);
      },
    },
    {
      name: 'only the conflist (older 0.3.1 config)',
      files: {
        [CONFLIST]: JSON.stringify({
          cniVersion: '0.3.1',
          name: 'aws-cni',
          plugins: [{ name: 'aws-cni', type: 'aws-cni', vethPrefix: 'eni' }],
        }),
      },
      messageId: 'ready',
      evidence: [`${CONFLIST}:`],
    },
    {
      name: 'short-iso journal that never reports the network not ready',
      files: {
        [KUBELET]: lines([
          `2026-11-20T08:00:00+0000 ${host} kubelet[3412]: I1120 08:00:00.000001    3412 kubelet.go:2400] "SyncLoop ADD" source="api" pods=["kube-system/aws-node-7xk2p"]`,
          `2026-11-20T08:10:00+0000 ${host} kubelet[3412]: I1120 08:10:00.000001    3412 kubelet_node_status.go:497] "Fast updating node status as it just became ready"`,
        ]),
      },
      messageId: 'ready',
      evidence: [`${KUBELET}:2`],
      check: (result) => expect(result.summary).toContain('never reported NetworkPluginNotReady in 2 journal lines'),
    },
  ],
  fail: [
    {
      name: 'still not ready at the end of the journal, and the stock cni/ folder lacks 10-aws.conflist',
      files: {
        [KUBELET]: lines([routine(0), ...notReadyBurst(60, 660)]),
        [CNI_ENV]: cniEnv,
        [IPAMD]: ipamdLog,
      },
      messageId: 'notReady',
      severity: 'critical',
      evidence: [`${KUBELET}:2`, `${KUBELET}:122`, 'cni/10-aws.conflist:'],
      check: (result) => {
        expect(result.summary).toContain(
          '"Network plugin returns error: cni plugin not initialized", 121 lines since Nov 20 08:01:00 (10 min)',
        );
        expect(result.summary).toContain('also cni/10-aws.conflist is missing');
      },
    },
    {
      name: 'a node still booting when the bundle was taken is a warning',
      files: { [KUBELET]: lines(notReadyBurst(0, 30)), [CONFLIST]: conflist },
      messageId: 'notReady',
      severity: 'warning',
      evidence: [`${KUBELET}:1`, `${KUBELET}:7`],
      check: (result) => expect(result.caveats.join(' ')).toMatch(/still starting/),
    },
    {
      name: 'a twelve-minute outage an hour before collection',
      files: { [KUBELET]: lines([routine(0), ...notReadyBurst(300, 1020), routine(4600)]), [CONFLIST]: conflist },
      messageId: 'notReadyPast',
      severity: 'warning',
      evidence: [`${KUBELET}:2`, `${KUBELET}:146`],
      check: (result) =>
        expect(result.summary).toBe(
          'kubelet reported the network plugin not ready for 12 min (Nov 20 08:05:00 to Nov 20 08:17:00, 145 lines); it then stopped, 60 min before the journal ends.',
        ),
    },
    {
      name: 'AL2 with dockershim: "cni config uninitialized" in /var/log/messages until the end',
      files: {
        [MESSAGES]: lines(
          [
            0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95, 100, 105, 110, 115, 120, 125,
            130, 135, 140, 145, 150, 155, 160, 165, 170, 175, 180,
          ].map(
            (s) =>
              `Nov 20 ${clock(s)} ip-10-0-1-23 kubelet: E1120 ${clock(s)}.058410    8755 kubelet.go:2183] Container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:docker: network plugin is not ready: cni config uninitialized`,
          ),
        ),
      },
      messageId: 'notReady',
      severity: 'critical',
      evidence: [`${MESSAGES}:1`, `${MESSAGES}:37`],
      check: (result) =>
        expect(result.summary).toContain('docker: network plugin is not ready: cni config uninitialized'),
    },
    {
      name: 'our agent found no 10-aws.conflist on the node while ipamd runs',
      files: { [IPAMD]: ipamdLog, [KUBELET]: lines([routine(0)]) },
      manifest: {
        'cni-conflist': {
          status: 'error',
          reason: "ENOENT: no such file or directory, open '/etc/cni/net.d/10-aws.conflist'",
        },
      },
      messageId: 'conflistMissing',
      severity: 'critical',
      evidence: ['manifest.json:'],
      check: (result) => expect(result.summary).toContain(`ipamd writes ${IPAMD}`),
    },
    {
      name: 'an empty 10-aws.conflist',
      files: { [CONFLIST]: '', [KUBELET]: lines([routine(0)]) },
      messageId: 'conflistInvalid',
      severity: 'critical',
      evidence: [`${CONFLIST}:`],
    },
    {
      name: 'the CNI plugin cannot reach ipamd and no add succeeded since',
      files: {
        [PLUGIN]: lines([
          addOk('07:59:00.000', '11aa'),
          grpcRefused('08:00:10.389', '0c3fd6a7'),
          grpcRefused('08:00:40.102', '5b8e21f0'),
          grpcRefused('08:01:10.117', '9d4c7a33'),
        ]),
        [CONFLIST]: conflist,
      },
      messageId: 'ipamdNotServing',
      severity: 'critical',
      evidence: [`${PLUGIN}:2`, `${PLUGIN}:3`, `${PLUGIN}:4`],
      check: (result) =>
        expect(result.summary).toContain('could not reach ipamd 3 times and no CNI add succeeded afterwards'),
    },
    {
      name: 'ipamd was unreachable for a while, then served again',
      files: {
        [PLUGIN]: lines([grpcRefused('08:00:10.389', '0c3fd6a7'), addOk('08:02:00.000', '0c3fd6a7')]),
        [CONFLIST]: conflist,
      },
      messageId: 'ipamdNotServing',
      severity: 'warning',
      evidence: [`${PLUGIN}:1`],
    },
    {
      name: 'stock bundle where ipamd answered neither introspection nor metrics',
      files: { [ENIS]: '', [METRICS]: '', [CONFLIST]: conflist, [CNI_ENV]: cniEnv },
      messageId: 'ipamdNotServing',
      severity: 'critical',
      evidence: [`${ENIS}:`, `${METRICS}:`],
      check: (result) => expect(result.summary).toContain('answered neither its introspection endpoint'),
    },
    {
      name: 'our agent was refused by ipamd on both endpoints',
      files: { [CONFLIST]: conflist },
      manifest: {
        'ipamd-enis': { status: 'error', reason: 'connect ECONNREFUSED 127.0.0.1:61679' },
        'ipamd-metrics': { status: 'error', reason: 'connect ECONNREFUSED 127.0.0.1:61678' },
      },
      messageId: 'ipamdNotServing',
      severity: 'critical',
      evidence: ['manifest.json:'],
    },
  ],
  notEvaluated: [
    {
      name: 'none of the inputs (only ipamd.log)',
      files: { [IPAMD]: ipamdLog },
      reason: 'none of kubelet/kubelet.log',
    },
    {
      name: 'an empty kubelet journal and nothing else',
      files: { [KUBELET]: '' },
      reason: 'neither the kubelet journal nor cni/10-aws.conflist could be read',
    },
    {
      name: 'introspection disabled on purpose and no journal or conflist',
      files: { [ENIS]: '', [METRICS]: '', 'ipamd/ipam_introspection_ignore.txt': 'ignore introspection\n' },
      reason: 'neither the kubelet journal nor cni/10-aws.conflist',
    },
    {
      name: 'journalctl timed out on the node',
      files: {},
      manifest: { 'kubelet-log': { status: 'timeout', reason: 'journalctl did not finish within 60s' } },
      reason: 'journalctl did not finish within 60s',
    },
  ],
});
