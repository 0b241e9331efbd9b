/**
 * Test material for the redaction tests: documents in the shapes the agent collects from a node (container info
 * from ctr and docker, ps, kubeconfigs, cloud-init output and user-data, journals, instance-metadata credentials,
 * presigned URLs, /proc environ, pod specs), each with planted secrets, the non-secrets that must survive, and the
 * number of replacements expected. Secret values are random per run so nothing can pass by matching a constant.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { kubeconfigYaml } from '../../samples/lib/kubelet-files.ts';

export interface Planted {
  label: string;
  value: string;
  /** Strings that must not appear in the output; by default the value, its first 8 characters and its base64. */
  probes?: readonly string[];
}

export interface SourceSample {
  name: string;
  text: string;
  secrets: readonly Planted[];
  /** Strings that must come out exactly as they went in. */
  keep: readonly string[];
  /** Replacements expected with the sample's redactor names. */
  redactions: number;
  /** Extra redactor names or profiles, as the inventory gives them. */
  names?: readonly string[];
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function pick(alphabet: string, length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

export const secret = (length = 24) => pick(ALNUM, length);
export const accessKeyId = (kind: 'AKIA' | 'ASIA' = 'AKIA') => kind + pick(UPPER, 16);
/** 40 characters of base64 with a slash and a plus, like a real secret access key. */
export const secretAccessKey = () => `${pick(ALNUM, 12)}/${pick(ALNUM, 13)}+${pick(ALNUM, 13)}`;
/** Session tokens are long base64 with slashes, pluses and padding. */
export const sessionToken = () => `IQoJb3JpZ2luX2Vj${pick(ALNUM, 60)}/${pick(ALNUM, 80)}+${pick(ALNUM, 40)}==`;
export const hex = (length: number) => randomBytes(length / 2).toString('hex');
export const b64 = (text: string) => Buffer.from(text).toString('base64');
const b64url = (text: string) => Buffer.from(text).toString('base64url');

export function jwt(): string {
  const header = b64url(JSON.stringify({ alg: 'RS256', kid: secret(12) }));
  const payload = b64url(
    JSON.stringify({ iss: 'kubernetes/serviceaccount', sub: `system:serviceaccount:${secret(8)}` }),
  );
  return `${header}.${payload}.${b64url(randomBytes(64).toString('latin1'))}`;
}

/** A real private key (so base64 and line shapes are right), and its body lines as probes. */
export function privateKeyPem(kind: 'rsa' | 'ec' = 'ec'): { pem: string; bodyLines: string[] } {
  const { privateKey } =
    kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 1024 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ type: kind === 'rsa' ? 'pkcs1' : 'sec1', format: 'pem' }).toString();
  const bodyLines = pem.split('\n').filter((line) => line !== '' && !line.startsWith('-----'));
  return { pem, bodyLines };
}

/** A certificate-shaped PEM (public: CA bundles must survive redaction). */
export function certificatePem(): string {
  const body = b64(randomBytes(600).toString('latin1'))
    .match(/.{1,64}/g)
    ?.join('\n');
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}

const probesOfKey = (label: string, key: { bodyLines: string[] }): Planted[] =>
  key.bodyLines.map((line, index) => ({ label: `${label} line ${index + 1}`, value: line, probes: [line] }));

/** The probes of a planted secret: the value, its first 8 characters and its base64 (for values of 8+). */
export function probesOf(planted: Planted): readonly string[] {
  if (planted.probes) return planted.probes;
  const value = planted.value;
  return value.length >= 8 ? [value, value.slice(0, 8), b64(value)] : [value];
}

function ctrContainerInfo(): SourceSample {
  const keyId = accessKeyId();
  const secretKey = secretAccessKey();
  const session = sessionToken();
  const dbPassword = `${secret(10)} ${secret(10)}`;
  const apiToken = secret(32);
  const annotationToken = secret(20);
  const text = `{
    "ID": "5f0c1e7b8a7d4c2e9f1a0b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70",
    "Labels": {
        "io.cri-containerd.kind": "container",
        "io.kubernetes.container.name": "aws-node",
        "io.kubernetes.pod.name": "aws-node-7xk2p",
        "io.kubernetes.pod.namespace": "kube-system"
    },
    "Image": "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.18.3-eksbuild.1",
    "Runtime": {
        "Name": "io.containerd.runc.v2",
        "Options": {
            "type_url": "containerd.runc.v1.Options",
            "value": "SAE="
        }
    },
    "Spec": {
        "ociVersion": "1.1.0",
        "process": {
            "user": {
                "uid": 0,
                "gid": 0
            },
            "args": [
                "/app/aws-vpc-cni"
            ],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOSTNAME=ip-192-168-12-34.us-west-2.compute.internal",
                "ADDITIONAL_ENI_TAGS={}",
                "AWS_VPC_K8S_CNI_LOGLEVEL=DEBUG",
                "AWS_VPC_K8S_CNI_LOG_FILE=/host/var/log/aws-routed-eni/ipamd.log",
                "WARM_ENI_TARGET=1",
                "WARM_IP_TARGET=5",
                "MINIMUM_IP_TARGET=10",
                "ENABLE_PREFIX_DELEGATION=false",
                "AWS_STS_REGIONAL_ENDPOINTS=regional",
                "AWS_DEFAULT_REGION=us-west-2",
                "AWS_REGION=us-west-2",
                "AWS_ROLE_ARN=arn:aws:iam::111122223333:role/AmazonEKSVPCCNIRole",
                "AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token",
                "AWS_ACCESS_KEY_ID=${keyId}",
                "AWS_SECRET_ACCESS_KEY=${secretKey}",
                "AWS_SESSION_TOKEN=${session}",
                "DB_PASSWORD=${dbPassword}",
                "MY_API_TOKEN=${apiToken}",
                "KUBERNETES_SERVICE_HOST=10.100.0.1"
            ],
            "cwd": "/app"
        },
        "annotations": {
            "io.kubernetes.cri.container-type": "container",
            "kubectl.kubernetes.io/last-applied-configuration": "{\\"apiVersion\\":\\"apps/v1\\",\\"spec\\":{\\"containers\\":[{\\"env\\":[{\\"name\\":\\"WARM_IP_TARGET\\",\\"value\\":\\"5\\"},{\\"name\\":\\"ANNOTATED_SECRET\\",\\"value\\":\\"${annotationToken}\\"}],\\"name\\":\\"aws-node\\"}]}}"
        }
    }
}
`;
  return {
    name: 'ctr container info (aws-node)',
    text,
    secrets: [
      { label: 'access key id', value: keyId, probes: [keyId, keyId.slice(4)] },
      { label: 'secret access key', value: secretKey },
      { label: 'session token', value: session, probes: [session, session.slice(16, 40)] },
      { label: 'password with a space', value: dbPassword, probes: dbPassword.split(' ') },
      { label: 'api token', value: apiToken },
      { label: 'escaped last-applied env value', value: annotationToken },
    ],
    keep: [
      '"AWS_VPC_K8S_CNI_LOGLEVEL=DEBUG"',
      '"WARM_IP_TARGET=5"',
      '"ENABLE_PREFIX_DELEGATION=false"',
      '"AWS_ROLE_ARN=arn:aws:iam::111122223333:role/AmazonEKSVPCCNIRole"',
      '"AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token"',
      '"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials"',
      '"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"',
      '"AWS_VPC_K8S_CNI_LOG_FILE=/host/var/log/aws-routed-eni/ipamd.log"',
      '\\"name\\":\\"WARM_IP_TARGET\\",\\"value\\":\\"5\\"',
      '"value": "SAE="',
      'amazon-k8s-cni:v1.18.3-eksbuild.1',
    ],
    redactions: 6,
    names: ['environment'],
  };
}

function dockerInspect(): SourceSample {
  const password = secret(16);
  const argToken = secret(28);
  const clientSecret = secret(30);
  const text = `[
    {
        "Id": "86199ab4c77bb43a21bef6b7e711bed3c30baa7dc50de3182de3c73d2ba116b7",
        "Path": "/app/aws-vpc-cni",
        "Args": [
            "--enable-ipv6=false",
            "--token",
            "${argToken}",
            "--password=${password}"
        ],
        "Config": {
            "Hostname": "ip-10-0-1-23",
            "Env": [
                "AWS_VPC_K8S_CNI_EXTERNALSNAT=false",
                "AWS_VPC_ENI_MTU=9001",
                "CLIENT_SECRET=${clientSecret}",
                "PWD=/app"
            ],
            "Cmd": null
        }
    }
]
`;
  return {
    name: 'docker inspect',
    text,
    secrets: [
      { label: '--password=', value: password },
      { label: '--token as its own argv element', value: argToken },
      { label: 'client secret env', value: clientSecret },
    ],
    keep: ['"--enable-ipv6=false"', '"AWS_VPC_ENI_MTU=9001"', '"PWD=/app"', '"AWS_VPC_K8S_CNI_EXTERNALSNAT=false"'],
    redactions: 3,
    names: ['environment'],
  };
}

function psFauxwww(): SourceSample {
  const password = secret(14);
  const apiKey = secret(32);
  const envSecret = secret(20);
  const mysqlPassword = secret(12);
  const sshpass = secret(12);
  const bearer = secret(40);
  const quoted = `${secret(6)} ${secret(6)}`;
  const text = `USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND
root           2  0.0  0.0      0     0 ?        S    Jan01   0:00 [kthreadd]
root        3120  2.1  1.4 1843600 115436 ?      Ssl  Jan01  51:03 /usr/bin/kubelet --config /etc/kubernetes/kubelet/kubelet-config.json --kubeconfig /var/lib/kubelet/kubeconfig --container-runtime-endpoint unix:///run/containerd/containerd.sock --image-credential-provider-config /etc/eks/image-credential-provider/config.json --image-credential-provider-bin-dir /etc/eks/image-credential-provider --node-ip=192.168.12.34 --pod-infra-container-image=602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.5 --v=2 --hostname-override=ip-192-168-12-34.us-west-2.compute.internal --cloud-provider=external --node-labels=eks.amazonaws.com/nodegroup=ng-1
root        4410  0.0  0.2 1238000 20000 ?       Sl   Jan01   0:12 /usr/bin/containerd-shim-runc-v2 -namespace k8s.io -id 5f0c1e7b8a7d -address /run/containerd/containerd.sock
root        4502  0.3  0.6 748000 52000 ?        Ssl  Jan01   8:40  \\_ /app/aws-k8s-agent --password=${password} --api-key ${apiKey}
root        4503  0.0  0.0   4000  1000 ?        S    Jan01   0:00  \\_ env SERVICE_SECRET=${envSecret} /app/helper --tls-private-key-file=/etc/helper/tls.key
root        5001  0.0  0.1  20000  9000 pts/0    S+   10:00   0:00 mysql -h db.internal -u admin -p${mysqlPassword} orders
root        5002  0.0  0.0   5000  2000 pts/1    S+   10:01   0:00 sshpass -p ${sshpass} ssh ec2-user@10.0.0.5
root        5003  0.0  0.0   9000  3000 pts/2    S+   10:02   0:00 curl -s -H Authorization: Bearer ${bearer} https://10.100.0.1/api
root        5004  0.0  0.0   9000  3000 pts/3    S+   10:03   0:00 /usr/bin/tool '--secret=${quoted}' --verbose
root        6001  0.0  0.0   3000  1000 ?        S    10:04   0:00 iptables -w 5 -t nat -A POSTROUTING -p tcp -j AWS-SNAT-CHAIN-0
root        6002  0.0  0.0   3000  1000 ?        S    10:04   0:00 ssh -p 2222 ec2-user@10.0.0.6
`;
  return {
    name: 'ps fauxwww',
    text,
    secrets: [
      { label: '--password=', value: password },
      { label: '--api-key value', value: apiKey },
      { label: 'env prefix assignment', value: envSecret },
      { label: 'mysql -p', value: mysqlPassword },
      { label: 'sshpass -p', value: sshpass },
      { label: 'bearer token', value: bearer },
      { label: 'quoted secret flag with a space', value: quoted, probes: quoted.split(' ') },
    ],
    keep: [
      '--image-credential-provider-config /etc/eks/image-credential-provider/config.json',
      '--image-credential-provider-bin-dir /etc/eks/image-credential-provider',
      '--tls-private-key-file=/etc/helper/tls.key',
      '-A POSTROUTING -p tcp -j AWS-SNAT-CHAIN-0',
      'ssh -p 2222 ec2-user@10.0.0.6',
      '--kubeconfig /var/lib/kubelet/kubeconfig',
      '/app/helper',
    ],
    redactions: 7,
    names: ['command-line'],
  };
}

function kubeconfigYamlSample(): SourceSample {
  const ca = certificatePem();
  const clientKey = privateKeyPem('ec');
  const clientCert = b64(certificatePem());
  const clientKeyData = b64(clientKey.pem);
  const token = secret(40);
  const password = secret(16);
  const idToken = jwt();
  const refreshToken = secret(36);
  const clientSecret = secret(24);
  // The AL2 AMI's kubeconfig with its CA inlined, followed by users of every credential kind a kubeconfig can carry.
  const text = `${kubeconfigYaml(
    {
      os: 'al2',
      apiServerEndpoint: 'https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com',
      clusterName: 'my-cluster',
      region: 'us-west-2',
    },
    { certificateAuthorityData: b64(ca) },
  )}- name: node-cert
  user:
    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem
    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem
- name: inline
  user:
    client-certificate-data: ${clientCert}
    client-key-data: ${clientKeyData}
    token: ${token}
- name: basic
  user:
    username: admin
    password: "${password}"
- name: oidc
  user:
    auth-provider:
      name: oidc
      config:
        client-id: kubernetes
        client-secret: ${clientSecret}
        id-token: ${idToken}
        idp-issuer-url: https://oidc.example.com
        refresh-token: ${refreshToken}
`;
  return {
    name: 'kubeconfig YAML',
    text,
    secrets: [
      { label: 'client-certificate-data', value: clientCert, probes: [clientCert, clientCert.slice(60, 100)] },
      { label: 'client-key-data', value: clientKeyData, probes: [clientKeyData, clientKeyData.slice(60, 100)] },
      ...probesOfKey('decoded client key', clientKey),
      { label: 'token', value: token },
      { label: 'password', value: password },
      { label: 'client-secret', value: clientSecret },
      { label: 'id-token', value: idToken, probes: [idToken, idToken.split('.')[2] ?? idToken] },
      { label: 'refresh-token', value: refreshToken },
    ],
    keep: [
      `certificate-authority-data: ${b64(ca)}`,
      'client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem',
      'client-key: /var/lib/kubelet/pki/kubelet-client-current.pem',
      '        - "token"\n        - "-i"\n        - "my-cluster"',
      'username: admin',
      'client-id: kubernetes',
      'idp-issuer-url: https://oidc.example.com',
    ],
    redactions: 7,
    names: ['kubeconfig'],
  };
}

function kubeconfigJson(): SourceSample {
  const clientKey = privateKeyPem('rsa');
  const clientKeyData = b64(clientKey.pem);
  const token = jwt();
  const ca = b64(certificatePem());
  const text = `{"kind":"Config","apiVersion":"v1","clusters":[{"name":"kubernetes","cluster":{"server":"https://10.0.0.1","certificate-authority-data":"${ca}"}}],"users":[{"name":"kubelet","user":{"client-key-data":"${clientKeyData}","token":"${token}"}}],"current-context":"kubelet"}
`;
  return {
    name: 'kubeconfig JSON on one line',
    text,
    secrets: [
      { label: 'client-key-data', value: clientKeyData, probes: [clientKeyData.slice(80, 120)] },
      { label: 'token', value: token, probes: [token, token.split('.')[2] ?? token] },
    ],
    keep: [`"certificate-authority-data":"${ca}"`, '"server":"https://10.0.0.1"', '"current-context":"kubelet"'],
    redactions: 2,
    names: ['kubeconfig'],
  };
}

function cloudInitOutput(): SourceSample {
  const ca = b64(certificatePem());
  const bootstrapToken = `${pick('abcdefghijklmnopqrstuvwxyz0123456789', 6)}.${pick('abcdefghijklmnopqrstuvwxyz0123456789', 16)}`;
  const discoveryToken = `${pick('abcdefghijklmnopqrstuvwxyz0123456789', 6)}.${pick('abcdefghijklmnopqrstuvwxyz0123456789', 16)}`;
  const bareToken = `${pick('abcdefghijklmnopqrstuvwxyz0123456789', 6)}.${pick('abcdefghijklmnopqrstuvwxyz0123456789', 16)}`;
  const secretKey = secretAccessKey();
  const key = privateKeyPem('rsa');
  const caHash = hex(64);
  const text = `Cloud-init v. 22.2.2 running 'modules:final' at Mon, 01 Jan 2024 10:00:00 +0000. Up 12.34 seconds.
+ /etc/eks/bootstrap.sh my-cluster --b64-cluster-ca ${ca} --apiserver-endpoint https://0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com --dns-cluster-ip 10.100.0.10 --kubelet-extra-args '--node-labels=eks.amazonaws.com/nodegroup=ng-1,role=worker --max-pods=58'
+ export AWS_SECRET_ACCESS_KEY=${secretKey}
+ kubeadm join 192.168.0.10:6443 --token ${bootstrapToken} --discovery-token ${discoveryToken} --discovery-token-ca-cert-hash sha256:${caHash}
[preflight] Running pre-flight checks
bootstrap token in a message: ${bareToken}
+ cat /root/.ssh/id_rsa
${key.pem}Created symlink /etc/systemd/system/multi-user.target.wants/kubelet.service → /etc/systemd/system/kubelet.service.
Cloud-init v. 22.2.2 finished at Mon, 01 Jan 2024 10:01:00 +0000. Datasource DataSourceEc2Local.  Up 70.12 seconds
`;
  return {
    name: 'cloud-init-output.log with bootstrap tokens',
    text,
    secrets: [
      { label: '--token', value: bootstrapToken, probes: [bootstrapToken, bootstrapToken.slice(7)] },
      { label: '--discovery-token', value: discoveryToken, probes: [discoveryToken, discoveryToken.slice(7)] },
      { label: 'bare bootstrap token (user-data profile)', value: bareToken, probes: [bareToken.slice(7)] },
      { label: 'exported secret key', value: secretKey },
      ...probesOfKey('printed private key', key),
    ],
    keep: [
      `--b64-cluster-ca ${ca} --apiserver-endpoint`,
      `--discovery-token-ca-cert-hash sha256:${caHash}`,
      "--kubelet-extra-args '--node-labels=eks.amazonaws.com/nodegroup=ng-1,role=worker --max-pods=58'",
      '-----BEGIN RSA PRIVATE KEY-----',
      '-----END RSA PRIVATE KEY-----',
      'Created symlink /etc/systemd/system/multi-user.target.wants/kubelet.service',
      '[preflight] Running pre-flight checks',
    ],
    redactions: 5,
    names: ['user-data'],
  };
}

function userData(): SourceSample {
  const dbPassword = `${secret(8)}#${secret(8)}`;
  const wrappedKey = privateKeyPem('rsa');
  const wrapped = b64(wrappedKey.pem)
    .match(/.{1,76}/g)
    ?.join('\n      ');
  const nodeConfigCa = b64(certificatePem());
  const hecToken = secret(36);
  const text = `MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BOUNDARY"

--BOUNDARY
Content-Type: application/node.eks.aws

---
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: my-cluster
    apiServerEndpoint: https://example.com
    certificateAuthority: ${nodeConfigCa}
    cidr: 10.100.0.0/16

--BOUNDARY
Content-Type: text/x-shellscript; charset="us-ascii"

#!/bin/bash
TOKEN=$(curl -s -X PUT "http://169.254.169.254/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 21600")
INSTANCE_ID=$(curl -s -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/instance-id)
DB_PASSWORD='${dbPassword}'
echo "splunk_hec_token = ${hecToken}" >> /etc/app.conf

--BOUNDARY
Content-Type: text/cloud-config

write_files:
  - path: /etc/app/tls.key
    encoding: b64
    content: |
      ${wrapped}
  - path: /etc/app/app.conf
    content: hello
--BOUNDARY--
`;
  return {
    name: 'user-data (MIME, NodeConfig, script, cloud-config)',
    text,
    secrets: [
      { label: 'quoted password with #', value: dbPassword, probes: dbPassword.split('#') },
      { label: 'ini-style token in an echo', value: hecToken },
      ...(b64(wrappedKey.pem).match(/.{1,76}/g) ?? []).map((line, index) => ({
        label: `wrapped base64 key line ${index + 1}`,
        value: line,
        // The first line starts with the encoded BEGIN header, which is not secret; its end is key material.
        probes: [index === 0 ? line.slice(44) : line],
      })),
    ],
    keep: [
      `certificateAuthority: ${nodeConfigCa}`,
      'TOKEN=$(curl -s -X PUT "http://169.254.169.254/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 21600")',
      '-H "X-aws-ec2-metadata-token: $TOKEN"',
      '  - path: /etc/app/app.conf\n    content: hello',
    ],
    redactions: 3,
    names: ['user-data'],
  };
}

function journal(): SourceSample {
  const bearer = secret(48);
  const klogToken = secret(30);
  const key = privateKeyPem('ec');
  const prefixed = key.pem
    .trimEnd()
    .split('\n')
    .map((line) => `Jan 02 15:04:06 ip-10-0-0-1 cloud-init[812]: ${line}`)
    .join('\n');
  const sa = jwt();
  const text = `Jan 02 15:04:05 ip-10-0-0-1 kubelet[3120]: I0102 15:04:05.123456    3120 prober.go:107] "Probe failed" probeType="Readiness" pod="kube-system/aws-node-7xk2p" podUID="0f3c" containerName="aws-node" probeResult="failure" output="timeout: failed to connect service \\":50051\\" within 5s"
Jan 02 15:04:05 ip-10-0-0-1 kubelet[3120]: I0102 15:04:05.200000    3120 round_trippers.go:466] curl -v -XGET  -H "Accept: application/json" -H "Authorization: Bearer ${bearer}" 'https://10.100.0.1:443/api/v1/nodes/ip-10-0-0-1'
Jan 02 15:04:05 ip-10-0-0-1 kubelet[3120]: I0102 15:04:05.200001    3120 round_trippers.go:466] curl -v -XGET  -H "Authorization: Bearer <masked>" 'https://10.100.0.1:443/api/v1/pods'
Jan 02 15:04:05 ip-10-0-0-1 kubelet[3120]: E0102 15:04:05.300000    3120 token_manager.go:121] "Couldn't update token" err="context deadline exceeded" cacheKey="kube-system/aws-node" token="${klogToken}"
Jan 02 15:04:05 ip-10-0-0-1 aws-node[4502]: {"level":"info","ts":"2024-01-02T15:04:05.000Z","caller":"ipamd/ipamd.go:512","msg":"Using service account token","token":"${sa}"}
${prefixed}
Jan 02 15:04:07 ip-10-0-0-1 kubelet[3120]: E0102 15:04:07.000000    3120 kubelet.go:2855] "Container runtime network not ready" networkReady="NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"
`;
  return {
    name: 'journal lines',
    text,
    secrets: [
      { label: 'bearer token in a curl line', value: bearer },
      { label: 'klog token=', value: klogToken },
      { label: 'service account JWT in JSON', value: sa, probes: [sa, sa.split('.')[2] ?? sa] },
      ...probesOfKey('journal-prefixed private key', key),
    ],
    keep: [
      'output="timeout: failed to connect service \\":50051\\" within 5s"',
      '"Authorization: Bearer <masked>"',
      'err="context deadline exceeded" cacheKey="kube-system/aws-node"',
      'Jan 02 15:04:06 ip-10-0-0-1 cloud-init[812]: -----BEGIN EC PRIVATE KEY-----',
      'Jan 02 15:04:06 ip-10-0-0-1 cloud-init[812]: -----END EC PRIVATE KEY-----',
      'networkReady="NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"',
      '"msg":"Using service account token"',
    ],
    redactions: 4,
  };
}

function imdsCredentials(): SourceSample {
  const keyId = accessKeyId('ASIA');
  const secretKey = secretAccessKey();
  const token = sessionToken();
  const text = `{
  "Code" : "Success",
  "LastUpdated" : "2024-01-02T15:00:00Z",
  "Type" : "AWS-HMAC",
  "AccessKeyId" : "${keyId}",
  "SecretAccessKey" : "${secretKey}",
  "Token" : "${token}",
  "Expiration" : "2024-01-02T21:00:00Z"
}
`;
  return {
    name: 'instance-metadata credentials JSON',
    text,
    secrets: [
      { label: 'AccessKeyId', value: keyId, probes: [keyId, keyId.slice(4)] },
      { label: 'SecretAccessKey', value: secretKey },
      { label: 'Token', value: token, probes: [token, token.slice(16, 48)] },
    ],
    keep: [
      '"Code" : "Success"',
      '"Type" : "AWS-HMAC"',
      '"Expiration" : "2024-01-02T21:00:00Z"',
      '"LastUpdated" : "2024-01-02T15:00:00Z"',
      '"AccessKeyId" : "ASIA',
    ],
    redactions: 3,
  };
}

function presignedUrls(): SourceSample {
  const keyId = accessKeyId();
  const signature = hex(64);
  const securityToken = encodeURIComponent(sessionToken());
  const v2Key = accessKeyId();
  const v2Signature = encodeURIComponent(b64(randomBytes(20).toString('latin1')));
  const headerKey = accessKeyId('ASIA');
  const headerSignature = hex(64);
  const userinfoPassword = secret(14);
  const text = `2024-01-02 15:04:05,123 - MainThread - botocore.auth - DEBUG - Generated presigned URL: https://diag-bucket.s3.us-west-2.amazonaws.com/bundles/node.tgz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${keyId}%2F20240102%2Fus-west-2%2Fs3%2Faws4_request&X-Amz-Date=20240102T150405Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=${securityToken}&X-Amz-Signature=${signature}
PUT https://diag-bucket.s3.amazonaws.com/bundles/node.tgz?AWSAccessKeyId=${v2Key}&Expires=1704211445&Signature=${v2Signature} HTTP/1.1
Authorization: AWS4-HMAC-SHA256 Credential=${headerKey}/20240102/us-west-2/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=${headerSignature}
proxy: http://proxyuser:${userinfoPassword}@proxy.internal:3128
`;
  return {
    name: 'presigned URLs and signed requests',
    text,
    secrets: [
      { label: 'X-Amz-Credential key id', value: keyId, probes: [keyId, keyId.slice(4)] },
      { label: 'X-Amz-Signature', value: signature },
      { label: 'X-Amz-Security-Token', value: securityToken, probes: [securityToken, securityToken.slice(16, 48)] },
      { label: 'SigV2 AWSAccessKeyId', value: v2Key, probes: [v2Key.slice(4)] },
      { label: 'SigV2 Signature', value: v2Signature },
      { label: 'SigV4 header key id', value: headerKey, probes: [headerKey.slice(4)] },
      { label: 'SigV4 header signature', value: headerSignature },
      { label: 'proxy URL password', value: userinfoPassword },
    ],
    keep: [
      '%2F20240102%2Fus-west-2%2Fs3%2Faws4_request&X-Amz-Date=20240102T150405Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host',
      '/20240102/us-west-2/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=',
      'Expires=1704211445',
      'http://proxyuser:',
      '@proxy.internal:3128',
    ],
    redactions: 8,
  };
}

function procEnviron(): SourceSample {
  const token = sessionToken();
  const spaced = `${secret(8)} ${secret(8)}`;
  const text = `PATH=/usr/local/sbin:/usr/bin\0HOME=/root\0AWS_SESSION_TOKEN=${token}\0PWD=/root\0MY_SECRET=${spaced}\0AWS_ROLE_ARN=arn:aws:iam::111122223333:role/node\0\n`;
  return {
    name: '/proc/<pid>/environ (NUL separated)',
    text,
    secrets: [
      { label: 'session token', value: token, probes: [token, token.slice(16, 48)] },
      { label: 'secret with a space', value: spaced, probes: spaced.split(' ') },
    ],
    keep: ['PATH=/usr/local/sbin:/usr/bin\0', '\0PWD=/root\0', '\0AWS_ROLE_ARN=arn:aws:iam::111122223333:role/node\0'],
    redactions: 2,
  };
}

function envFileAndCredentials(): SourceSample {
  const secretKey = secretAccessKey();
  const token = sessionToken();
  const keyId = accessKeyId();
  const kubeletEnvToken = `${secret(10)} and ${secret(10)}`;
  const text = `[default]
aws_access_key_id = ${keyId}
aws_secret_access_key = ${secretKey}
aws_session_token=${token}
region = us-west-2
credential_source = Ec2InstanceMetadata
web_identity_token_file = /var/run/secrets/eks.amazonaws.com/serviceaccount/token

# /etc/eksctl/kubelet.env
NODE_LABELS=alpha.eksctl.io/nodegroup-name=ng-1
BOOTSTRAP_TOKEN=${kubeletEnvToken}
CLUSTER_DNS=10.100.0.10
`;
  return {
    name: 'credentials file and env file',
    text,
    secrets: [
      { label: 'aws_access_key_id', value: keyId, probes: [keyId.slice(4)] },
      { label: 'aws_secret_access_key', value: secretKey },
      { label: 'aws_session_token', value: token, probes: [token, token.slice(16, 48)] },
      { label: 'env-file value with spaces', value: kubeletEnvToken, probes: kubeletEnvToken.split(' and ') },
    ],
    keep: [
      'region = us-west-2',
      'credential_source = Ec2InstanceMetadata',
      'web_identity_token_file = /var/run/secrets/eks.amazonaws.com/serviceaccount/token',
      'NODE_LABELS=alpha.eksctl.io/nodegroup-name=ng-1',
      'CLUSTER_DNS=10.100.0.10',
    ],
    redactions: 4,
  };
}

function podSpecs(): SourceSample {
  const jsonPassword = secret(18);
  const yamlToken = secret(22);
  const blockSecret = [secret(30), secret(30)];
  const text = `{
    "apiVersion": "v1",
    "kind": "Pod",
    "spec": {
        "automountServiceAccountToken": true,
        "containers": [
            {
                "env": [
                    {
                        "name": "WARM_PREFIX_TARGET",
                        "value": "1"
                    },
                    {
                        "name": "DB_PASSWORD",
                        "value": "${jsonPassword}"
                    },
                    {
                        "name": "API_TOKEN",
                        "valueFrom": {
                            "secretKeyRef": {
                                "key": "token",
                                "name": "api-credentials"
                            }
                        }
                    }
                ],
                "name": "aws-node"
            }
        ],
        "volumes": [
            {
                "name": "aws-iam-token",
                "projected": {
                    "sources": [
                        {
                            "serviceAccountToken": {
                                "audience": "sts.amazonaws.com",
                                "expirationSeconds": 86400,
                                "path": "token"
                            }
                        }
                    ]
                }
            }
        ]
    }
}
---
spec:
  containers:
  - env:
    - name: ENABLE_POD_ENI
      value: "false"
    - name: SLACK_TOKEN
      value: ${yamlToken}
    - name: CERT_PASSWORD
      valueFrom:
        secretKeyRef:
          key: password
          name: certs
    name: aws-node
  secretName: my-secret
  tls:
    privateKey: |
      ${blockSecret[0]}
      ${blockSecret[1]}
    certificate: kept
`;
  return {
    name: 'pod specs (JSON and YAML)',
    text,
    secrets: [
      { label: 'JSON env value', value: jsonPassword },
      { label: 'YAML env value', value: yamlToken },
      ...blockSecret.map((value, index) => ({ label: `block scalar line ${index + 1}`, value })),
    ],
    keep: [
      '"name": "WARM_PREFIX_TARGET",\n                        "value": "1"',
      '"automountServiceAccountToken": true',
      '"key": "token",\n                                "name": "api-credentials"',
      '"audience": "sts.amazonaws.com"',
      '"path": "token"',
      '- name: ENABLE_POD_ENI\n      value: "false"',
      '- name: CERT_PASSWORD\n      valueFrom:\n        secretKeyRef:\n          key: password\n          name: certs',
      'secretName: my-secret',
      '    certificate: kept',
    ],
    redactions: 3,
  };
}

function ipamdLog(): SourceSample {
  const text = `{"level":"info","ts":"2024-01-02T15:04:05.000Z","caller":"ipamd/ipamd.go:636","msg":"Adding 10.0.1.23/32 to DS for eni-0a1b2c3d4e5f67890"}
{"level":"debug","ts":"2024-01-02T15:04:05.001Z","caller":"datastore/data_store.go:607","msg":"AssignPodIPv4Address: IP address pool stats: total 28, assigned 27"}
{"level":"error","ts":"2024-01-02T15:04:05.002Z","caller":"ipamd/ipamd.go:848","msg":"Failed to increase pool size due to not able to allocate ENI AllocENI: error attaching ENI: AttachmentLimitExceeded"}
{"level":"info","ts":"2024-01-02T15:04:05.003Z","caller":"awsutils/awsutils.go:418","msg":"Using IMDSv2 with token TTL 21600s","url":"http://169.254.169.254/latest/meta-data/"}
`;
  return {
    name: 'ipamd log (nothing secret)',
    text,
    secrets: [],
    keep: [text],
    redactions: 0,
  };
}

/** Every source shape, freshly planted. */
export function sourceSamples(): SourceSample[] {
  return [
    ctrContainerInfo(),
    dockerInspect(),
    psFauxwww(),
    kubeconfigYamlSample(),
    kubeconfigJson(),
    cloudInitOutput(),
    userData(),
    journal(),
    imdsCredentials(),
    presignedUrls(),
    procEnviron(),
    envFileAndCredentials(),
    podSpecs(),
    ipamdLog(),
  ];
}

/** Lines of ordinary node logs (kubelet journal, ipamd, containerd): no secrets, many near-misses. */
export function ordinaryLogLines(): string[] {
  return [
    'Jan 02 15:04:05 ip-10-0-0-1 kubelet[3120]: I0102 15:04:05.123456    3120 prober.go:107] "Probe failed" probeType="Liveness" pod="kube-system/aws-node-7xk2p" containerName="aws-node" probeResult="failure" output="timeout: failed to connect service \\":50051\\" within 5s"',
    'Jan 02 15:04:05 ip-10-0-0-1 kubelet[3120]: I0102 15:04:05.223456    3120 kubelet_node_status.go:496] "Updating node status" node="ip-10-0-0-1.us-west-2.compute.internal"',
    '{"level":"info","ts":"2024-01-02T15:04:05.000Z","caller":"ipamd/ipamd.go:636","msg":"Adding 10.0.1.23/32 to DS for eni-0a1b2c3d4e5f67890"}',
    '{"level":"debug","ts":"2024-01-02T15:04:05.001Z","caller":"datastore/data_store.go:607","msg":"AssignPodIPv4Address: IP address pool stats: total 28, assigned 27"}',
    'time="2024-01-02T15:04:05.123456789Z" level=info msg="StartContainer for \\"5f0c1e7b8a7d\\" returns successfully"',
    'Jan 02 15:04:06 ip-10-0-0-1 containerd[2870]: time="2024-01-02T15:04:06Z" level=error msg="failed to pull image \\"602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.18.3\\"" error="rpc error: code = Unknown"',
    'Jan 02 15:04:07 ip-10-0-0-1 kernel: nf_conntrack: nf_conntrack: table full, dropping packet',
    'Jan 02 15:04:08 ip-10-0-0-1 systemd[1]: Started kubelet.service - Kubernetes Kubelet.',
    '2024-01-02T15:04:09.000Z [INFO] Sending request to https://ec2.us-west-2.amazonaws.com/ for DescribeNetworkInterfaces',
    'Jan 02 15:04:10 ip-10-0-0-1 kubelet[3120]: E0102 15:04:10.000000    3120 pod_workers.go:1298] "Error syncing pod, skipping" err="network is not ready: container runtime network not ready" pod="default/web-5d8f7c9b6-abcde"',
  ];
}
