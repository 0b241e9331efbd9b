import { once } from 'node:events';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { ordinaryLogLines, privateKeyPem, secret } from './fixtures.ts';
import { piecesOf, runChunks } from './run-stream.ts';
import { createRedactor, safeCut } from './stream.ts';
import { MASK } from './syntax.ts';

const MiB = 1024 * 1024;

describe('createRedactor', () => {
  it('redacts lines, keeps carriage returns and a missing final newline', async () => {
    const result = await runChunks([Buffer.from('PASSWORD=abc\r\nplain\r\nAPI_TOKEN=xyz')]);
    expect(result.text).toBe(`PASSWORD=${MASK}\r\nplain\r\nAPI_TOKEN=${MASK}`);
    expect(result.count).toBe(2);
    expect(result.counts).toEqual({ 'secret-assignment': 2 });
  });

  it('passes bytes that are not UTF-8 through unchanged around a secret', async () => {
    const head = Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x0a]);
    const utf8 = Buffer.from('日本語 é → ok\n');
    const input = Buffer.concat([head, utf8, Buffer.from('x DB_PASSWORD=s3cr3t \xe9\n', 'latin1'), head]);
    const result = await runChunks(piecesOf(input, 3));
    const expected = Buffer.concat([head, utf8, Buffer.from(`x DB_PASSWORD=${MASK} \xe9\n`, 'latin1'), head]);
    expect(result.output.equals(expected)).toBe(true);
  });

  it('gives empty output and no count for empty input', async () => {
    const result = await runChunks([]);
    expect(result.output.length).toBe(0);
    expect(result.count).toBe(0);
  });

  it('masks the body of a private key cut short by the end of the input', async () => {
    const key = privateKeyPem('rsa');
    const truncated = key.pem.split('\n').slice(0, 6).join('\n');
    const result = await runChunks(piecesOf(Buffer.from(`before\n${truncated}`), 5));
    for (const line of key.bodyLines.slice(0, 5)) expect(result.text).not.toContain(line);
    expect(result.text).toBe(`before\n-----BEGIN RSA PRIVATE KEY-----\n${MASK}\n`);
    expect(result.count).toBe(1);
  });

  it('holds a private key block open across chunks that each hold one line', async () => {
    const key = privateKeyPem('ec');
    const lines = `start\n${key.pem}end\n`.split(/(?<=\n)/).map((line) => Buffer.from(line));
    const result = await runChunks(lines);
    expect(result.text).toBe(`start\n-----BEGIN EC PRIVATE KEY-----\n${MASK}\n-----END EC PRIVATE KEY-----\nend\n`);
  });

  it('applies extras only where named, and refuses unknown names', async () => {
    const line = Buffer.from('mysql -u root -phunter2\n');
    expect((await runChunks([line])).text).toBe('mysql -u root -phunter2\n');
    expect((await runChunks([line], ['command-line'])).text).toBe(`mysql -u root -p${MASK}\n`);
    expect(() => createRedactor(['no-such-redactor'])).toThrow(/no-such-redactor/);
  });
});

describe('over-long lines', () => {
  it('redacts a 3 MiB JSON line in pieces, every secret masked and nothing dropped', async () => {
    const secrets = Array.from({ length: 2000 }, () => secret(20));
    const items = secrets.map(
      (value, index) => `{"name":"item-${index}","token":"${value}","pad":"${'p'.repeat(1600)}"}`,
    );
    const line = `{"items":[${items.join(',')}]}`;
    expect(line.length).toBeGreaterThan(3 * MiB);
    const result = await runChunks(piecesOf(Buffer.from(`${line}\nnext API_TOKEN=abc\n`), 64 * 1024));
    for (const value of secrets) expect(result.text.includes(value)).toBe(false);
    expect(result.count).toBe(secrets.length + 1);
    expect(result.droppedBytes).toBe(0);
    expect(result.text.split('\n')).toHaveLength(3);
    expect(result.text.length).toBe(line.length + 20 + secrets.length * (MASK.length - 20) + MASK.length - 3);
  });

  it('never cuts between a key and its value, wherever the limit falls', async () => {
    const limit = 1024;
    for (let shift = 0; shift < 160; shift++) {
      const planted = Array.from({ length: 7 }, () => secret(18));
      const head = 'w,'.repeat(Math.floor((limit - 100 + shift) / 2));
      const line =
        `${head}"password": "${planted[0]}", --token ${planted[1]}, Authorization: Bearer ${planted[2]}, ` +
        `"client-key-data": "${planted[3]}", X-Amz-Signature=${planted[4]},["--token","${planted[5]}"],` +
        `{"name":"DB_PASSWORD","value":"${planted[6]}"},${'z,'.repeat(limit)}`;
      const result = await runChunks([Buffer.from(`${line}\n`)], [], { maxLineBytes: limit });
      for (const value of planted) expect(result.text.includes(value), `shift ${shift}`).toBe(false);
      expect(result.droppedBytes).toBe(0);
    }
  });

  it('falls back to blanks when a long line has no commas, still keeping keys with their values', async () => {
    const limit = 1024;
    for (let shift = 0; shift < 80; shift++) {
      const value = secret(18);
      const line = `${'word '.repeat(Math.floor((limit - 40 + shift) / 5))}--password ${value} ${'tail '.repeat(400)}`;
      const result = await runChunks([Buffer.from(`${line}\n`)], [], { maxLineBytes: limit });
      expect(result.text.includes(value), `shift ${shift}`).toBe(false);
      expect(result.count).toBe(1);
    }
  });

  it('drops a stretch with no place to cut, with a visible marker, and goes on redacting', async () => {
    const blob = 'A'.repeat(3 * MiB + 5);
    const result = await runChunks(piecesOf(Buffer.from(`${blob}\nAPI_TOKEN=abc\n`), 64 * 1024));
    expect(result.droppedBytes).toBe(3 * MiB);
    expect(result.text).toContain('bytes of an over-long line dropped: no safe place to cut it for redaction]');
    expect(result.text.endsWith(`AAAAA\nAPI_TOKEN=${MASK}\n`)).toBe(true);
    expect(result.output.length).toBeLessThan(1024);
  });

  it('streams a line with no end instead of buffering it', async () => {
    const input = new PassThrough();
    const redactor = createRedactor();
    let received = 0;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        done();
      },
    });
    const done = pipeline(input, redactor.transform, sink);
    const piece = Buffer.from('abc def, '.repeat((64 * 1024) / 9));
    let written = 0;
    while (written < 8 * MiB) {
      if (!input.write(piece)) await once(input, 'drain');
      written += piece.length;
    }
    for (let settled = 0, last = -1; settled < 5; settled = received === last ? settled + 1 : 0) {
      last = received;
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Everything but at most one line's limit has come out before the input ends.
    expect(received).toBeGreaterThan(written - MiB - piece.length);
    input.end();
    await done;
    expect(received).toBe(written);
  });

  it('splits a producer chunk of many megabytes into bounded windows', async () => {
    const lines = `${ordinaryLogLines().join('\n')}\n`.repeat(20_000);
    const input = Buffer.from(`${lines}DB_PASSWORD=abc\n`);
    expect(input.length).toBeGreaterThan(20 * MiB);
    const result = await runChunks([input]);
    expect(result.count).toBe(1);
    expect(result.output.length).toBe(input.length - 3 + MASK.length);
  });
});

describe('hostile input', () => {
  it('stays linear on megabyte lines built to make regexes backtrack', async () => {
    const lines = [
      `"token": ${'\\'.repeat(MiB)}`,
      `-----BEGIN PRIVATE KEY-----${'QUJD'.repeat(MiB / 4)}`,
      `LS0tLS1CRUdJTi${'QUJD'.repeat(MiB / 4)}`,
      'mysql '.repeat(MiB / 6),
      ':// a:'.repeat(MiB / 6),
      '"name":"x_token",'.repeat(MiB / 17),
      '--token '.repeat(MiB / 8),
      `x${' a_token=x'.repeat(MiB / 10)}`,
      '\\"password\\":\\"x\\",'.repeat(MiB / 20),
      `token${' '.repeat(MiB)}`,
      `eyJ${'a'.repeat(MiB)}`,
    ];
    const started = performance.now();
    const result = await runChunks(piecesOf(Buffer.from(`${lines.join('\n')}\n`), 64 * 1024), [
      'user-data',
      'command-line',
    ]);
    const seconds = (performance.now() - started) / 1000;
    // Quadratic behaviour on these lines takes minutes; linear takes well under a second each.
    expect(seconds).toBeLessThan(30);
    expect(result.count).toBeGreaterThan(MiB / 10);
  });
});

describe('safeCut', () => {
  it('prefers commas to blanks and refuses a cut right after a waiting key', () => {
    expect(safeCut('aaaa bbbb,cccc dddd', 17)).toBe(10);
    expect(safeCut('aaaa bbbb cccc dddd', 17)).toBe(15);
    expect(safeCut('a b, "--token", "x"', 18)).toBe(4);
    expect(safeCut('x token: abc', 10)).toBe(2);
    expect(safeCut('{"name":"DB_PASSWORD","value":"x"}', 30)).toBe(0);
    expect(safeCut('aaaaaaaaaaaaaaaa', 10)).toBe(0);
  });
});

describe('throughput', () => {
  it('redacts 100 MB of ordinary log lines, changing nothing (MB/s reported)', async () => {
    const block = Buffer.from(`${ordinaryLogLines().join('\n')}\n`.repeat(Math.ceil(MiB / 1500)));
    const total = 100 * 1000 * 1000;
    const rounds = Math.ceil(total / block.length);
    let out = 0;
    const redactor = createRedactor();
    const started = process.hrtime.bigint();
    await pipeline(
      Readable.from(
        (function* () {
          for (let round = 0; round < rounds; round++) yield* piecesOf(block, 64 * 1024);
        })(),
      ),
      redactor.transform,
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          out += chunk.length;
          done();
        },
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const megabytes = (rounds * block.length) / 1e6;
    console.log(
      `redaction throughput: ${(megabytes / seconds).toFixed(1)} MB/s (${megabytes.toFixed(0)} MB of ordinary log lines in ${seconds.toFixed(2)} s)`,
    );
    expect(out).toBe(rounds * block.length);
    expect(redactor.count()).toBe(0);
  });
});
