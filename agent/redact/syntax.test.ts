import { describe, expect, it } from 'vitest';
import { isHarmlessValue, isSecretKeyName, MASK, normalizeKeyName, rewrite, valueSpan } from './syntax.ts';

describe('normalizeKeyName', () => {
  it('turns camelCase, kebab-case and dotted names into UPPER_SNAKE', () => {
    expect(normalizeKeyName('secretAccessKey')).toBe('SECRET_ACCESS_KEY');
    expect(normalizeKeyName('client-secret')).toBe('CLIENT_SECRET');
    expect(normalizeKeyName('spring.datasource.password')).toBe('SPRING_DATASOURCE_PASSWORD');
    expect(normalizeKeyName('XApiKey')).toBe('XAPI_KEY');
    expect(normalizeKeyName('--token--')).toBe('TOKEN');
  });
});

describe('isSecretKeyName', () => {
  it.each([
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_CONTAINER_AUTHORIZATION_TOKEN',
    'DB_PASSWORD',
    'MYSQL_PWD',
    'SMTP_PASS',
    'passwd',
    'SSH_PASSPHRASE',
    'secretAccessKey',
    'client-secret',
    'token',
    'id-token',
    'refreshToken',
    'apiKey',
    'X_API_KEY',
    'PRIVATE_KEY',
    'privateKey',
    'GOOGLE_APPLICATION_CREDENTIALS_JSON',
    'discovery-token',
    'splunk_hec_token',
  ])('%s names a secret', (name) => {
    expect(isSecretKeyName(name)).toBe(true);
  });

  it.each([
    // What the analyzer needs from aws-node and the node: paths, ARNs, URIs, targets.
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    'AWS_SHARED_CREDENTIALS_FILE',
    'AWS_ROLE_ARN',
    'WARM_IP_TARGET',
    'WARM_ENI_TARGET',
    'AWS_VPC_K8S_CNI_LOGLEVEL',
    'AWS_ACCESS_KEY_ID',
    'tls-private-key-file',
    'image-credential-provider-bin-dir',
    'token-ttl',
    'discovery-token-ca-cert-hash',
    'discovery-token-unsafe-skip-ca-verification',
    'secretName',
    'credential_source',
    'tokenExpirationSeconds',
    'PWD',
    'OLDPWD',
    'BYPASS',
    'net.bridge.bridge-nf-pass-vlan-input-dev',
    'HOSTNAME',
    'b64-cluster-ca',
    'client-key-data',
    '',
  ])('%s does not', (name) => {
    expect(isSecretKeyName(name)).toBe(false);
  });
});

describe('isHarmlessValue', () => {
  it('keeps masks, placeholders, booleans, shell references and system paths', () => {
    for (const value of [
      MASK,
      `"${MASK}"`,
      '',
      '""',
      'true',
      'False',
      '<masked>',
      'DATA+OMITTED',
      '$TOKEN',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell reference, not a template
      '${AWS_SESSION_TOKEN}',
      '$(aws ssm get-parameter --name x)',
      '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
      '/etc/eks/image-credential-provider/config.json',
      "<set to the key 'password' in secret 'db'>",
      '********',
    ]) {
      expect(isHarmlessValue(value), value).toBe(true);
    }
  });

  it('masks everything else, including paths outside the system directories and short numbers', () => {
    for (const value of ['hunter2', '1234', '/AbC+dEf/GHI=', 'Bearer', 'x', '/app/secret', 'truee']) {
      expect(isHarmlessValue(value), value).toBe(false);
    }
  });
});

describe('valueSpan', () => {
  const slice = (line: string, start: number, mode: 'word' | 'query' | 'rest', opener = '') => {
    const span = valueSpan(line, start, mode, opener);
    return line.slice(span.start, span.end);
  };

  it('ends a word at blanks and quotes but keeps backslash escapes inside it', () => {
    expect(slice('a=b c', 2, 'word')).toBe('b');
    expect(slice('a=pa\\ ss next', 2, 'word')).toBe('pa\\ ss');
    expect(slice('"cmd --p=ab\\"cd\\" x"', 9, 'word')).toBe('ab\\"cd\\"');
  });

  it('reads a value in its own quotes, and to the enclosing quote when the key sat inside one', () => {
    expect(slice('k="a b" c', 2, 'word')).toBe('a b');
    expect(slice("k='a b' c", 2, 'word')).toBe('a b');
    expect(slice('"K=a b", "L=c"', 3, 'word', '"')).toBe('a b');
    expect(slice('"K=a \\" b", x', 3, 'word', '"')).toBe('a \\" b');
    expect(slice('\\"K\\":\\"v w\\"}', 6, 'word')).toBe('v w');
  });

  it('runs an unterminated quote to the end of the line', () => {
    expect(slice('k="abc', 2, 'word')).toBe('abc');
    expect(slice('"K=abc', 3, 'word', '"')).toBe('abc');
  });

  it('stops a query value at & and #, a rest value at NUL, trimming trailing blanks', () => {
    expect(slice('?a=b&c=d', 3, 'query')).toBe('b');
    expect(slice('?a=b#frag', 3, 'query')).toBe('b');
    expect(slice('K=a b c  ', 2, 'rest')).toBe('a b c');
    expect(slice('K=a b\0L=c', 2, 'rest')).toBe('a b');
  });

  it('gives an empty span at the end of a line', () => {
    expect(slice('K=', 2, 'word')).toBe('');
  });
});

describe('rewrite', () => {
  it('masks each span once, leaves harmless values and counts what it masked', () => {
    const pattern = /(?<key>\w+)=(?<value>\S*)/dg;
    const result = rewrite('a=1 b=true c=$X d=', pattern, (match) => {
      const indices = match.indices?.groups?.value;
      return indices ? { start: indices[0], end: indices[1] } : null;
    });
    expect(result).toEqual({ line: `a=${MASK} b=true c=$X d=`, count: 1 });
  });

  it('skips a match that overlaps one already masked', () => {
    const result = rewrite('xxxx', /xx/g, (match) => ({ start: match.index, end: match.index + 3 }));
    expect(result).toEqual({ line: `${MASK}x`, count: 1 });
  });
});
