import { describe, expect, it } from 'vitest';
import { inventory } from '../items/index.ts';
import { RedactionEngine, redactText } from './engine.ts';
import {
  DEFAULT_REDACTORS,
  EXTRA_REDACTORS,
  isRedactorName,
  REDACTOR_PROFILES,
  resolveRedactors,
  UnknownRedactorError,
} from './redactors.ts';
import { MASK } from './syntax.ts';

const M = MASK;

interface Case {
  name: string;
  input: string;
  output: string;
  count: number;
  names?: string[];
}

/** Each redactor, in the shapes it exists for; `by` is the redactor expected to do the masking. */
const cases: Record<string, Case[]> = {
  'aws-access-key-id': [
    { name: 'env', input: 'AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE', output: `AWS_ACCESS_KEY_ID=AKIA${M}`, count: 1 },
    {
      name: 'temporary',
      input: '"AccessKeyId": "ASIAXYZXYZXYZXYZXYZ2"',
      output: `"AccessKeyId": "ASIA${M}"`,
      count: 1,
    },
    {
      name: 'url-encoded credential scope stays',
      input: 'X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240102%2Fus-west-2%2Fs3%2Faws4_request',
      output: `X-Amz-Credential=AKIA${M}%2F20240102%2Fus-west-2%2Fs3%2Faws4_request`,
      count: 1,
    },
    { name: 'too short', input: 'AKIA1234', output: 'AKIA1234', count: 0 },
    { name: 'inside a longer word', input: 'XAKIAIOSFODNN7EXAMPLEX', output: 'XAKIAIOSFODNN7EXAMPLEX', count: 0 },
    { name: 'role unique ids are not keys', input: 'AROAIOSFODNN7EXAMPLE', output: 'AROAIOSFODNN7EXAMPLE', count: 0 },
  ],
  'aws-secret-access-key': [
    {
      name: 'credentials file',
      input: 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      output: `aws_secret_access_key = ${M}`,
      count: 1,
    },
    {
      name: 'JSON',
      input: '{"SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","x":1}',
      output: `{"SecretAccessKey":"${M}","x":1}`,
      count: 1,
    },
    {
      name: 'YAML camelCase',
      input: '  secretAccessKey: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      output: `  secretAccessKey: ${M}`,
      count: 1,
    },
    {
      name: 'Go struct print',
      input: '{AccessKeyID:AKIAIOSFODNN7EXAMPLE SecretAccessKey:abc/def+ghi SessionToken:IQoJb3+/= Source:x}',
      output: `{AccessKeyID:AKIA${M} SecretAccessKey:${M} SessionToken:${M} Source:x}`,
      count: 3,
    },
  ],
  'aws-session-token': [
    { name: 'env', input: 'AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjEAAa+/==', output: `AWS_SESSION_TOKEN=${M}`, count: 1 },
    { name: 'IMDS JSON', input: '  "Token" : "IQoJb3JpZ2luX2Vj",', output: `  "Token" : "${M}",`, count: 1 },
    {
      name: 'query parameter ends at &',
      input: '?X-Amz-Security-Token=IQoJ%2Fb3J&X-Amz-Date=20240102T000000Z',
      output: `?X-Amz-Security-Token=${M}&X-Amz-Date=20240102T000000Z`,
      count: 1,
    },
    { name: 'header', input: 'X-Amz-Security-Token: IQoJb3JpZ2lu', output: `X-Amz-Security-Token: ${M}`, count: 1 },
    { name: 'prose', input: 'Couldn\'t update token" err="x"', output: 'Couldn\'t update token" err="x"', count: 0 },
  ],
  'aws-signature': [
    {
      name: 'presigned',
      input: '&X-Amz-SignedHeaders=host&X-Amz-Signature=0123456789abcdef0123456789abcdef',
      output: `&X-Amz-SignedHeaders=host&X-Amz-Signature=${M}`,
      count: 1,
    },
    {
      name: 'SigV4 header',
      input:
        'Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240102/us-west-2/s3/aws4_request, SignedHeaders=host, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024',
      output: `Authorization: AWS4-HMAC-SHA256 Credential=AKIA${M}/20240102/us-west-2/s3/aws4_request, SignedHeaders=host, Signature=${M}`,
      count: 2,
    },
  ],
  'http-auth-header': [
    { name: 'bearer', input: 'Authorization: Bearer abc.def-ghi', output: `Authorization: Bearer ${M}`, count: 1 },
    {
      name: 'basic',
      input: '-H "Authorization: Basic dXNlcjpwYXNz"',
      output: `-H "Authorization: Basic ${M}"`,
      count: 1,
    },
    {
      name: 'unquoted in a ps line: one word',
      input: 'curl -H Authorization: Bearer abcdefgh https://x/y',
      output: `curl -H Authorization: Bearer ${M} https://x/y`,
      count: 1,
    },
    { name: 'no scheme', input: 'Authorization: sk-abcdef', output: `Authorization: ${M}`, count: 1 },
    {
      name: 'IMDSv2 token header',
      input: 'X-aws-ec2-metadata-token: AQAEAN4x==',
      output: `X-aws-ec2-metadata-token: ${M}`,
      count: 1,
    },
    {
      name: 'IMDSv2 ttl header stays',
      input: 'X-aws-ec2-metadata-token-ttl-seconds: 21600',
      output: 'X-aws-ec2-metadata-token-ttl-seconds: 21600',
      count: 0,
    },
    { name: 'cookie', input: 'Cookie: session=abc; csrf=def', output: `Cookie: ${M}`, count: 1 },
    {
      name: 'masked already',
      input: 'Authorization: Bearer <masked>',
      output: 'Authorization: Bearer <masked>',
      count: 0,
    },
    {
      name: 'kubelet config object stays',
      input: '    "authorization": {',
      output: '    "authorization": {',
      count: 0,
    },
    {
      name: 'Go struct print stays (docker info)',
      input: 'Docker Info: &{ID:ZB6L Plugins:{Authorization:[] Log:[awslogs]} Swarm:{}}',
      output: 'Docker Info: &{ID:ZB6L Plugins:{Authorization:[] Log:[awslogs]} Swarm:{}}',
      count: 0,
    },
  ],
  'bearer-token': [
    { name: 'anywhere', input: 'using bearer eyabc123456 now', output: `using bearer ${M} now`, count: 1 },
    { name: 'short words are prose', input: 'Bearer token expired', output: 'Bearer token expired', count: 0 },
  ],
  jwt: [
    {
      name: 'bare',
      input: 'sa token eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJrOHMifQ.c2lnbmF0dXJl end',
      output: `sa token ${M} end`,
      count: 1,
    },
  ],
  'kubeconfig-credentials': [
    { name: 'client-key-data', input: '    client-key-data: QUJDREVG', output: `    client-key-data: ${M}`, count: 1 },
    {
      name: 'client-certificate-data',
      input: '    client-certificate-data: QUJDREVG',
      output: `    client-certificate-data: ${M}`,
      count: 1,
    },
    { name: 'token', input: '    token: abcdef.0123', output: `    token: ${M}`, count: 1 },
    { name: 'JSON', input: '{"token":"abc","x":"y"}', output: `{"token":"${M}","x":"y"}`, count: 1 },
    {
      name: 'certificate-authority-data stays',
      input: '    certificate-authority-data: QUJDREVG',
      output: '    certificate-authority-data: QUJDREVG',
      count: 0,
    },
    { name: 'exec arg "token" stays', input: '        - "token"', output: '        - "token"', count: 0 },
    { name: 'token as a JSON value stays', input: '"path": "token"', output: '"path": "token"', count: 0 },
    {
      name: 'mid-line prose stays',
      input: 'failed to get token: timeout',
      output: 'failed to get token: timeout',
      count: 0,
    },
  ],
  'url-userinfo': [
    { name: 'password', input: 'https://user:pa55@host/x', output: `https://user:${M}@host/x`, count: 1 },
    { name: 'no password', input: 'ssh://git@github.com/x', output: 'ssh://git@github.com/x', count: 0 },
    { name: 'port is not a password', input: 'http://host:8080/a@b', output: 'http://host:8080/a@b', count: 0 },
  ],
  'secret-assignment': [
    { name: 'env array', input: '"DB_PASSWORD=a b c",', output: `"DB_PASSWORD=${M}",`, count: 1 },
    { name: 'logfmt', input: 'level=info password=abc user=x', output: `level=info password=${M} user=x`, count: 1 },
    { name: 'env file keeps spaces in', input: 'API_TOKEN=a b c', output: `API_TOKEN=${M}`, count: 1 },
    { name: 'export', input: 'export API_TOKEN="a b"', output: `export API_TOKEN="${M}"`, count: 1 },
    {
      name: 'quoted ini in echo',
      input: 'echo "hec_token = abc" >> f',
      output: `echo "hec_token = ${M}" >> f`,
      count: 1,
    },
    { name: 'query', input: '/cb?access_token=abc&state=1', output: `/cb?access_token=${M}&state=1`, count: 1 },
    {
      name: 'file path names stay',
      input: 'AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
      output: 'AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
      count: 0,
    },
    { name: 'booleans stay', input: 'ENABLE_TOKEN_AUTH=true', output: 'ENABLE_TOKEN_AUTH=true', count: 0 },
    { name: 'shell references stay', input: 'TOKEN=$(curl -s x)', output: 'TOKEN=$(curl -s x)', count: 0 },
    {
      name: 'klog source location is not a struct field',
      input: 'E0102 token_manager.go:121] "x"',
      output: 'E0102 token_manager.go:121] "x"',
      count: 0,
    },
    { name: 'empty value', input: 'PASSWORD=', output: 'PASSWORD=', count: 0 },
    {
      name: 'token-bucket counts stay',
      input: 'service="podresources" qps=100 burstTokens=10 maxTokens=abc',
      output: `service="podresources" qps=100 burstTokens=10 maxTokens=${M}`,
      count: 1,
    },
    {
      name: 'iptables comment naming a service',
      input: '-A KUBE-SERVICES -m comment --comment "secret-store:http cluster IP" -j KUBE-SVC-ABC',
      output: '-A KUBE-SERVICES -m comment --comment "secret-store:http cluster IP" -j KUBE-SVC-ABC',
      count: 0,
    },
    {
      name: 'sysctl line',
      input: 'net.bridge.bridge-nf-pass-vlan-input-dev = 0',
      output: 'net.bridge.bridge-nf-pass-vlan-input-dev = 0',
      count: 0,
    },
    { name: 'unterminated quote runs to the end', input: 'x "API_TOKEN=abc', output: `x "API_TOKEN=${M}`, count: 1 },
  ],
  'secret-flag': [
    { name: '=', input: 'cmd --password=abc -v', output: `cmd --password=${M} -v`, count: 1 },
    { name: 'space', input: 'cmd --token abc -v', output: `cmd --token ${M} -v`, count: 1 },
    { name: 'followed by a flag', input: 'cmd --token --verbose', output: 'cmd --token --verbose', count: 0 },
    { name: 'JSON argv', input: '["--token", "abc", "-v"]', output: `["--token", "${M}", "-v"]`, count: 1 },
    { name: 'quoted with space', input: "tool '--secret=a b' -v", output: `tool '--secret=${M}' -v`, count: 1 },
    {
      name: 'ttl',
      input: 'kubeadm token create --token-ttl 24h',
      output: 'kubeadm token create --token-ttl 24h',
      count: 0,
    },
    { name: 'iptables -p', input: '-A FORWARD -p tcp -j ACCEPT', output: '-A FORWARD -p tcp -j ACCEPT', count: 0 },
    {
      name: 'b64 cluster ca',
      input: '--b64-cluster-ca QUJDREVGR0g= --apiserver-endpoint https://x',
      output: '--b64-cluster-ca QUJDREVGR0g= --apiserver-endpoint https://x',
      count: 0,
    },
    {
      name: 'YAML list pair',
      input: '  - --token\n  - abc\n  - -v',
      output: `  - --token\n  - ${M}\n  - -v`,
      count: 1,
    },
    { name: 'JSON list pair', input: '  "--token",\n  "abc"\n]', output: `  "--token",\n  "${M}"\n]`, count: 1 },
    { name: 'lone flag then a flag', input: '  - --token\n  - --other', output: '  - --token\n  - --other', count: 0 },
  ],
  'secret-field': [
    { name: 'JSON', input: '{"password": "a b", "user": "x"}', output: `{"password": "${M}", "user": "x"}`, count: 1 },
    {
      name: 'escaped JSON',
      input: '"{\\"clientSecret\\":\\"abc\\",\\"id\\":1}"',
      output: `"{\\"clientSecret\\":\\"${M}\\",\\"id\\":1}"`,
      count: 1,
    },
    { name: 'YAML', input: 'db:\n  password: hunter2 # note', output: `db:\n  password: ${M}`, count: 1 },
    { name: 'YAML quoted', input: "  apiKey: 'abc'", output: `  apiKey: '${M}'`, count: 1 },
    {
      name: 'YAML block scalar',
      input: 'privateKey: |\n  line one\n\n  line two\nnext: 1',
      output: `privateKey: |\n  ${M}\n\nnext: 1`,
      count: 1,
    },
    {
      name: 'YAML block scalar with a tag',
      input: 'password: !!binary |\n  aGVsbG8=\nnext: 1',
      output: `password: !!binary |\n  ${M}\nnext: 1`,
      count: 1,
    },
    {
      name: 'containerd registry auth (TOML)',
      input: '  auth = "dXNlcjpwYXNz"\n  identitytoken = "abc"',
      output: `  auth = "${M}"\n  identitytoken = "${M}"`,
      count: 2,
    },
    {
      name: 'YAML nested mapping stays',
      input: 'credentials:\n  user: x',
      output: 'credentials:\n  user: x',
      count: 0,
    },
    { name: 'object value stays', input: '"serviceAccountToken": {', output: '"serviceAccountToken": {', count: 0 },
    {
      name: 'boolean stays',
      input: '"automountServiceAccountToken": true',
      output: '"automountServiceAccountToken": true',
      count: 0,
    },
  ],
  'env-name-value': [
    {
      name: 'compact JSON',
      input: '[{"name":"API_TOKEN","value":"abc"},{"name":"X","value":"y"}]',
      output: `[{"name":"API_TOKEN","value":"${M}"},{"name":"X","value":"y"}]`,
      count: 1,
    },
    {
      name: 'pretty JSON',
      input: '{\n  "name": "DB_PASSWORD",\n  "value": "abc"\n}',
      output: `{\n  "name": "DB_PASSWORD",\n  "value": "${M}"\n}`,
      count: 1,
    },
    {
      name: 'YAML',
      input: '- name: SLACK_TOKEN\n  value: abc',
      output: `- name: SLACK_TOKEN\n  value: ${M}`,
      count: 1,
    },
    {
      name: 'valueFrom stays',
      input: '- name: SLACK_TOKEN\n  valueFrom:\n    secretKeyRef: {name: s, key: token}',
      output: '- name: SLACK_TOKEN\n  valueFrom:\n    secretKeyRef: {name: s, key: token}',
      count: 0,
    },
    {
      name: 'a value two lines on is not taken',
      input: '- name: SLACK_TOKEN\n  other: 1\n  value: abc',
      output: '- name: SLACK_TOKEN\n  other: 1\n  value: abc',
      count: 0,
    },
  ],
  'pem-private-key': [
    {
      name: 'block',
      input: 'x\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nAB==\n-----END PRIVATE KEY-----\ny',
      output: `x\n-----BEGIN PRIVATE KEY-----\n${M}\n-----END PRIVATE KEY-----\ny`,
      count: 1,
    },
    {
      name: 'one line with escapes',
      input: '"key":"-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEEIA\\n-----END EC PRIVATE KEY-----\\n"',
      output: `"key":"-----BEGIN EC PRIVATE KEY-----${M}-----END EC PRIVATE KEY-----\\n"`,
      count: 1,
    },
    {
      name: 'indented in YAML',
      input:
        'key: |\n  -----BEGIN OPENSSH PRIVATE KEY-----\n  b3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n  -----END OPENSSH PRIVATE KEY-----',
      output: `key: |\n  -----BEGIN OPENSSH PRIVATE KEY-----\n  ${M}\n  -----END OPENSSH PRIVATE KEY-----`,
      count: 1,
    },
    {
      name: 'certificates stay',
      input: '-----BEGIN CERTIFICATE-----\nMIIC5zCCAc+gAwIBAgIBADANBgkqhkiG\n-----END CERTIFICATE-----',
      output: '-----BEGIN CERTIFICATE-----\nMIIC5zCCAc+gAwIBAgIBADANBgkqhkiG\n-----END CERTIFICATE-----',
      count: 0,
    },
    {
      name: 'a mention without a body closes at the next ordinary line',
      input: 'grep "-----BEGIN RSA PRIVATE KEY-----" failed\nJan 02 kubelet[1]: Started.\nnext line',
      output: 'grep "-----BEGIN RSA PRIVATE KEY-----" failed\nJan 02 kubelet[1]: Started.\nnext line',
      count: 0,
    },
    {
      name: 'encrypted key headers stay',
      input:
        '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123\n\nMIIEpAIBAAKCAQEA3\n-----END RSA PRIVATE KEY-----',
      output: `-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123\n\n${M}\n-----END RSA PRIVATE KEY-----`,
      count: 1,
    },
  ],
  'pem-private-key-base64': [
    {
      name: 'encoded key in one value',
      input: `data: ${Buffer.from('-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----\n').toString('base64')}`,
      output: `data: ${M}`,
      count: 1,
    },
    {
      name: 'encoded certificate stays',
      input: `ca: ${Buffer.from('-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n').toString('base64')}`,
      output: `ca: ${Buffer.from('-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n').toString('base64')}`,
      count: 0,
    },
  ],
  'kubeadm-bootstrap-token': [
    {
      name: 'bare, with the profile',
      input: 'use abcdef.0123456789abcdef to join',
      output: `use abcdef.${M} to join`,
      count: 1,
      names: ['user-data'],
    },
    {
      name: 'not in the default set',
      input: 'use abcdef.0123456789abcdef',
      output: 'use abcdef.0123456789abcdef',
      count: 0,
    },
    {
      name: 'host names stay',
      input: 'ip-10-0-0-1.us-west-2.compute.internal',
      output: 'ip-10-0-0-1.us-west-2.compute.internal',
      count: 0,
      names: ['kubeadm-bootstrap-token'],
    },
  ],
  'password-short-flag': [
    {
      name: 'mysql',
      input: 'mysql -u root -phunter2 db',
      output: `mysql -u root -p${M} db`,
      count: 1,
      names: ['command-line'],
    },
    {
      name: 'redis-cli',
      input: 'redis-cli -h x -a hunter2',
      output: `redis-cli -h x -a ${M}`,
      count: 1,
      names: ['command-line'],
    },
    {
      name: 'mysql -p alone prompts',
      input: 'mysql -u root -p db',
      output: 'mysql -u root -p db',
      count: 0,
      names: ['command-line'],
    },
  ],
  'base64-blob': [
    {
      name: 'opaque blob',
      input: `content: ${Buffer.from(`${'A'.repeat(10)}secret config with password=x and more text 0123456789`).toString('base64')}`,
      output: `content: ${M}`,
      count: 1,
      names: ['base64-blob'],
    },
    {
      name: 'hex digests stay',
      input: `sha256:${'0123456789abcdef'.repeat(4)}`,
      output: `sha256:${'0123456789abcdef'.repeat(4)}`,
      count: 0,
      names: ['base64-blob'],
    },
  ],
};

describe('redactors', () => {
  for (const [redactor, list] of Object.entries(cases)) {
    describe(redactor, () => {
      it.each(list)('$name', ({ input, output, count, names }) => {
        const result = redactText(input, names ?? []);
        expect(result.text).toBe(output);
        expect(result.count).toBe(count);
      });
    });
  }

  it('has a case table for every redactor', () => {
    const named = [...DEFAULT_REDACTORS, ...EXTRA_REDACTORS].map((redactor) => redactor.name).sort();
    expect(Object.keys(cases).sort()).toEqual(named);
  });

  it('credits replacements to the redactor that made them', () => {
    const engine = new RedactionEngine(resolveRedactors());
    engine.line('env AWS_SECRET_ACCESS_KEY=abc AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE');
    expect(engine.counts()).toEqual({ 'aws-access-key-id': 1, 'aws-secret-access-key': 1 });
    expect(engine.total).toBe(2);
  });

  it('is idempotent: output redacted again changes nothing and counts nothing', () => {
    for (const list of Object.values(cases)) {
      for (const { input, names } of list) {
        const once = redactText(input, names ?? []);
        expect(redactText(once.text, names ?? []), input).toEqual({ text: once.text, count: 0 });
      }
    }
  });

  it('every redactor has a name, a description and lowercase gates', () => {
    for (const redactor of [...DEFAULT_REDACTORS, ...EXTRA_REDACTORS]) {
      expect(redactor.name).toMatch(/^[a-z0-9-]+$/);
      expect(redactor.description.length).toBeGreaterThan(30);
      for (const substring of redactor.scan) expect(substring).toBe(substring.toLowerCase());
    }
  });

  it('survives malformed and odd input without throwing', () => {
    for (const input of [
      '',
      '\0\0\0',
      '"',
      '\\',
      '=',
      'PASSWORD',
      '--password',
      '--password=',
      '"password":',
      'password: "',
      '-----BEGIN RSA PRIVATE KEY-----',
      '-----END RSA PRIVATE KEY-----',
      'LS0tLS1CRUdJTi',
      'LS0tLS1CRUdJTi!!!',
      'Authorization:',
      'https://:@',
      'eyJ.eyJ.',
      '\u00ff\u00fe password=\u00e9\u00e8',
      'x'.repeat(10_000),
    ]) {
      expect(() => redactText(input, ['user-data', 'command-line']), JSON.stringify(input)).not.toThrow();
    }
  });
});

describe('resolveRedactors', () => {
  it('gives the defaults, in order, to every item', () => {
    expect(resolveRedactors().map((r) => r.name)).toEqual(DEFAULT_REDACTORS.map((r) => r.name));
  });

  it('adds extras named directly or through a profile, each once', () => {
    const names = resolveRedactors(['user-data', 'kubeadm-bootstrap-token', 'command-line']).map((r) => r.name);
    expect(names.slice(DEFAULT_REDACTORS.length)).toEqual([
      'kubeadm-bootstrap-token',
      'base64-blob',
      'password-short-flag',
    ]);
  });

  it('forks multi-line redactors so two streams never share a block', () => {
    const [first, second] = [resolveRedactors(), resolveRedactors()];
    const pemA = first.find((r) => r.name === 'pem-private-key');
    const pemB = second.find((r) => r.name === 'pem-private-key');
    pemA?.apply('-----BEGIN PRIVATE KEY-----');
    expect(pemA?.holding?.()).toBe(true);
    expect(pemB?.holding?.()).toBe(false);
  });

  it('refuses an unknown name, listing the known ones', () => {
    expect(() => resolveRedactors(['kubeconfg'])).toThrow(UnknownRedactorError);
    expect(() => resolveRedactors(['kubeconfg'])).toThrow(/kubeconfig/);
  });

  it('knows every name the inventory gives', () => {
    for (const item of inventory) {
      for (const name of item.redact ?? []) expect(isRedactorName(name), `${item.id}: ${name}`).toBe(true);
    }
    for (const extras of Object.values(REDACTOR_PROFILES)) {
      for (const name of extras) expect(isRedactorName(name)).toBe(true);
    }
  });
});
