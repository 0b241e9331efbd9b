/** Placeholder while the parser is being written in parallel; replaced before this change lands. */
import type { ParserDef, UnparsedEvent } from './types.ts';

export type PromTextEvent = UnparsedEvent;

export const promTextParser: ParserDef<PromTextEvent> = {
  name: 'prom-text',
  create: () => ({
    push(raw, line, emit) {
      emit({ kind: 'unparsed', line, raw, reason: 'parser not written yet' });
    },
  }),
};
