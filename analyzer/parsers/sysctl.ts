/** Placeholder while the parser is being written in parallel; replaced before this change lands. */
import type { ParserDef, UnparsedEvent } from './types.ts';

export type SysctlEvent = UnparsedEvent;

export const sysctlParser: ParserDef<SysctlEvent> = {
  name: 'sysctl',
  create: () => ({
    push(raw, line, emit) {
      emit({ kind: 'unparsed', line, raw, reason: 'parser not written yet' });
    },
  }),
};
