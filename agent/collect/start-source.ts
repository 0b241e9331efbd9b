/**
 * Turns an inventory record into running source(s). Also resolves what only the node can tell: where ipamd serves
 * introspection (INTROSPECTION_BIND_ADDRESS, possibly `unix:`), and whether introspection or metrics are disabled,
 * read from the aws-k8s-agent process environment under the node root.
 */
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import type { CollectItem } from '../items/types.ts';
import { runCommand } from '../sources/command.ts';
import { readNodeFile, readNodeGlob } from '../sources/file.ts';
import { httpGet } from '../sources/http.ts';
import type { ImdsClient } from '../sources/imds.ts';
import { readJournal } from '../sources/journal.ts';
import type { SourceContext, SourceRun } from '../sources/types.ts';
import { findProcess, readSmallNodeFile, runDerived } from './derived.ts';
import { describeSource, type SourceStarter } from './run-items.ts';

const DEFAULT_INTROSPECTION = 'http://127.0.0.1:61679';
const DEFAULT_METRICS = 'http://127.0.0.1:61678';

export interface IpamdEndpoints {
  introspection: string;
  metrics: string;
  introspectionDisabled?: string;
  metricsDisabled?: string;
}

/** ipamd's settings from its own process environment (the aws-k8s-agent process), when it runs. */
export async function findIpamdEndpoints(ctx: SourceContext): Promise<IpamdEndpoints> {
  const endpoints: IpamdEndpoints = { introspection: DEFAULT_INTROSPECTION, metrics: DEFAULT_METRICS };
  const found = await findProcess(ctx, 'aws-k8s-agent');
  if ('problem' in found || !found.pid) return endpoints;
  const environ = (await readSmallNodeFile(ctx, `/proc/${found.pid}/environ`, 256 * 1024)) ?? '';
  const env = new Map(
    environ.split('\0').map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
  const bind = env.get('INTROSPECTION_BIND_ADDRESS');
  if (bind) endpoints.introspection = bind.startsWith('unix:') ? bind : `http://${bind}`;
  if (env.get('DISABLE_INTROSPECTION') === 'true')
    endpoints.introspectionDisabled = 'DISABLE_INTROSPECTION=true on aws-node';
  if (env.get('DISABLE_METRICS') === 'true') endpoints.metricsDisabled = 'DISABLE_METRICS=true on aws-node';
  return endpoints;
}

function skipped(reason: string): SourceRun {
  return { stream: Readable.from([]), done: Promise.resolve({ status: 'skipped', reason }) };
}

function textRun(value: Promise<string | Error>): SourceRun {
  const stream = Readable.from(
    (async function* () {
      const text = await value;
      if (typeof text === 'string') yield Buffer.from(text);
    })(),
  );
  return {
    stream,
    done: value.then((text) =>
      typeof text === 'string'
        ? { status: 'ok' as const }
        : { status: /not on EC2/.test(text.message) ? ('skipped' as const) : ('error' as const), reason: text.message },
    ),
  };
}

export function createSourceStarter(options: {
  sinceMs: number;
  imds: Pick<ImdsClient, 'read'>;
  endpoints: () => Promise<IpamdEndpoints>;
}): SourceStarter {
  const since = new Date(Date.now() - options.sinceMs);
  return async (item: CollectItem, ctx: SourceContext) => {
    const source = item.source;
    const one = (run: SourceRun) => [{ out: item.out, source: describeSource(source), run }];
    switch (source.kind) {
      case 'command':
        return one(runCommand(source.argv, ctx, source.okExitCodes ? { okExitCodes: source.okExitCodes } : {}));
      case 'file':
        return one(readNodeFile(source.path, ctx));
      case 'journal':
        return one(readJournal(source.unit, since, ctx));
      case 'derived':
        return one(runDerived(source.name, ctx));
      case 'imds':
        return one(textRun(options.imds.read(source.path)));
      case 'http': {
        const endpoints = await options.endpoints();
        const [scheme, path] = [
          source.url.slice(0, source.url.indexOf(':')),
          source.url.slice(source.url.indexOf(':') + 1),
        ];
        const disabled = scheme === 'metrics' ? endpoints.metricsDisabled : endpoints.introspectionDisabled;
        if (disabled) return one(skipped(disabled));
        const base = scheme === 'metrics' ? endpoints.metrics : endpoints.introspection;
        const url = base.startsWith('unix:') ? `${base}:${path}` : `${base}${path}`;
        return [{ out: item.out, source: url, run: httpGet(url, ctx) }];
      }
      case 'glob': {
        const files = await readNodeGlob(source.pattern, ctx);
        return files.map((file) => ({
          out: `${item.out}/${posix.basename(file.path)}`,
          source: file.path,
          run: file.run,
        }));
      }
    }
  };
}
