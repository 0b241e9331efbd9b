import { describe, expect, it } from 'vitest';
import { type IpamdLogEntry, ipamdLogParser } from './ipamd-log.ts';
import { headerSample, parseLines, unparsedReason } from './test-kit.ts';

function entry(raw: string): IpamdLogEntry {
  const [event] = parseLines(ipamdLogParser, [raw]);
  if (event?.kind !== 'entry') throw new Error(`expected an entry, got ${JSON.stringify(event)}`);
  return event;
}

function reasonFor(raw: string): string | undefined {
  return unparsedReason(ipamdLogParser, raw);
}

describe('ipamdLogParser: the header sample', () => {
  it('parses every sample line of the module comment', () => {
    const sample = headerSample(new URL('./ipamd-log.ts', import.meta.url));
    expect(sample).toHaveLength(4);
    const events = parseLines(ipamdLogParser, sample);
    expect(events.every((event) => event.kind === 'entry')).toBe(true);
    expect(events.map((event) => (event.kind === 'entry' ? event.level : ''))).toEqual([
      'info',
      'error',
      'info',
      'info',
    ]);
    expect(events[2]).toMatchObject({
      caller: 'ebpf/bpf_client.go:310',
      msg: 'Attached ingress probe',
      fields: { logger: 'ebpf-client', podName: 'coredns-6799fbcd5-ss7tc', attempt: 2 },
    });
    expect(events[3]).toMatchObject({ ts: '2018-06-15T02:26:38Z', msg: expect.stringMatching(/^Received CNI add/) });
  });
});

describe('ipamdLogParser: zap JSON (v1.6+)', () => {
  it('reads level, ts, caller and msg, with no extra fields', () => {
    const raw =
      '{"level":"info","ts":"2026-06-08T02:50:18.473Z","caller":"ipamd/ipamd.go:1316","msg":"Added ENI(eni-09ab)\'s IP/Prefix 10.141.86.239/32 to datastore"}';
    expect(entry(raw)).toEqual({
      kind: 'entry',
      line: 1,
      raw,
      level: 'info',
      ts: '2026-06-08T02:50:18.473Z',
      caller: 'ipamd/ipamd.go:1316',
      msg: "Added ENI(eni-09ab)'s IP/Prefix 10.141.86.239/32 to datastore",
      fields: {},
    });
  });

  it('keeps every other key in fields, with its JSON type', () => {
    const event = entry(
      '{"level":"error","ts":"2024-10-30T21:32:54.531Z","caller":"ipamd/ipamd.go:2050","msg":"Failed to increase pool","error":"InsufficientFreeAddressesInSubnet","retry":{"n":3,"backoff":[1,2]},"ok":false}',
    );
    expect(event.fields).toEqual({
      error: 'InsufficientFreeAddressesInSubnet',
      retry: { n: 3, backoff: [1, 2] },
      ok: false,
    });
  });

  it('reads the entrypoint script lines of the aws-node container', () => {
    expect(
      entry(
        '{"level":"info","ts":"2022-02-04T22:24:55.014Z","caller":"entrypoint.sh","msg":"Checking for IPAM connectivity ... "}',
      ),
    ).toMatchObject({ caller: 'entrypoint.sh', msg: 'Checking for IPAM connectivity ... ' });
  });

  it('lower-cases capitalised levels and turns a numeric ts into ISO 8601', () => {
    const event = entry('{"level":"WARN","ts":1717815018.473,"msg":"HTTP_TIMEOUT env is not set"}');
    expect(event).toMatchObject({ level: 'warn', ts: '2024-06-08T02:50:18.473Z' });
    expect(event).not.toHaveProperty('caller');
    expect(entry('{"level":"WARNING","msg":"m"}').level).toBe('warn');
    expect(entry('{"level":"dpanic","msg":"m"}').level).toBe('dpanic');
  });

  it('accepts a line without level or ts, and surrounding whitespace or a CR', () => {
    const event = entry('  {"msg":"bare"}\r');
    expect(event).toMatchObject({ level: '', msg: 'bare', fields: {} });
    expect(event).not.toHaveProperty('ts');
    expect(entry('{"level":5,"ts":"x","caller":7,"msg":"odd types"}')).toMatchObject({ level: '', ts: 'x' });
  });

  it('does not let a __proto__ key change the prototype of fields', () => {
    const event = entry('{"level":"info","msg":"m","__proto__":{"polluted":true},"a":1}');
    expect(Object.getPrototypeOf(event.fields)).toBe(Object.prototype);
    expect(event.fields).toEqual({ a: 1 });
  });
});

describe('ipamdLogParser: seelog text (before v1.6)', () => {
  it.each([
    ['2018-06-15T02:26:38Z [INFO] Received CNI add request: ContainerID(6397e2)', 'info'],
    ['2018-06-15T02:26:38Z [DEBUG] Found eni-0abc that has less than the maximum number of IP addresses', 'debug'],
    ['2018-06-15T02:26:38Z [WARN] Failed to retrieve eni', 'warn'],
    ['2018-06-15T02:26:38Z [ERROR] Failed to allocate IP', 'error'],
    ['2018-06-15T02:26:38Z [CRITICAL] Failed to initialize', 'critical'],
    ['2018-06-15T02:26:38Z [TRACE] trace line', 'trace'],
  ])('reads %s', (raw, level) => {
    expect(entry(raw)).toEqual({
      kind: 'entry',
      line: 1,
      raw,
      level,
      ts: '2018-06-15T02:26:38Z',
      msg: raw.slice(raw.indexOf('] ') + 2),
      fields: {},
    });
  });

  it('reads a zone offset and keeps brackets inside the message', () => {
    expect(entry('2018-06-15T02:26:38+00:00 [INFO] Add [10.0.0.1] to pool')).toMatchObject({
      ts: '2018-06-15T02:26:38+00:00',
      msg: 'Add [10.0.0.1] to pool',
    });
    expect(entry('2018-06-15T02:26:38Z [INFO]')).toMatchObject({ msg: '' });
  });
});

describe('ipamdLogParser: malformed input', () => {
  it.each([
    ['', 'empty line'],
    ['   \r', 'empty line'],
    ['[1,2,3]', 'JSON value is not an object'],
    ['"just a string"', 'JSON value is not an object'],
    ['null', 'JSON value is not an object'],
    ['12345', 'JSON value is not an object'],
    ['{"level":"info","ts":"2026-06-08T02:50:18.473Z"}', 'JSON object without a string "msg"'],
    ['{"level":"info","msg":42}', 'JSON object without a string "msg"'],
    ['{"level":"info","ts":"2026-06-08T02:50:18.473Z","caller":"ipamd/ipa', 'JSON line cut short (no closing brace)'],
    ['{level: info, msg: "not json"}', 'invalid JSON'],
    ['{"msg":"a"} {"msg":"b"}', 'invalid JSON'],
    ['\u0000\u0001\u00ff binary junk', 'neither a JSON object nor a seelog "<time> [LEVEL] message" line'],
    [
      '  continuation of a multi-line seelog message',
      'neither a JSON object nor a seelog "<time> [LEVEL] message" line',
    ],
    ['2018-06-15T02:26:38Z no level here', 'neither a JSON object nor a seelog "<time> [LEVEL] message" line'],
    ['2018-06-15 02:26:38 [INFO] not an ISO time', 'neither a JSON object nor a seelog "<time> [LEVEL] message" line'],
    ['2018-06-15T02:26:38Z [INFO', 'neither a JSON object nor a seelog "<time> [LEVEL] message" line'],
  ])('reports %j as unparsed', (raw, reason) => {
    expect(reasonFor(raw)).toBe(reason);
  });

  it('emits exactly one event for every prefix of a real line, and never throws', () => {
    const parser = ipamdLogParser.create();
    let count = 0;
    let pushed = 0;
    for (const sample of headerSample(new URL('./ipamd-log.ts', import.meta.url))) {
      for (let end = 0; end <= sample.length; end++) {
        parser.push(sample.slice(0, end), ++pushed, () => {
          count++;
        });
      }
    }
    expect(count).toBe(pushed);
  });
});
