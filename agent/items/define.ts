/**
 * Small constructors for inventory records, so each table reads like a list (as sos plugins' setup() does) while
 * every record still carries its budgets explicitly.
 */
import { bundlePaths, type ItemId } from '../../contract/bundle.ts';
import type { CollectItem, ImdsPath, ItemSource } from './types.ts';

const SECOND = 1000;
export const KiB = 1024;
export const MiB = 1024 * KiB;

interface Budget {
  timeoutMs?: number;
  maxBytes?: number;
  tail?: boolean;
  priority?: number;
  redact?: readonly string[];
}

function item(
  id: ItemId,
  source: ItemSource,
  why: string,
  budget: Budget,
  defaults: Required<Omit<Budget, 'redact'>>,
): CollectItem {
  return {
    id,
    out: bundlePaths[id],
    source,
    timeoutMs: budget.timeoutMs ?? defaults.timeoutMs,
    maxBytes: budget.maxBytes ?? defaults.maxBytes,
    tail: budget.tail ?? defaults.tail,
    priority: budget.priority ?? defaults.priority,
    ...(budget.redact ? { redact: budget.redact } : {}),
    why,
  };
}

export const command = (
  id: ItemId,
  argv: readonly string[],
  why: string,
  budget: Budget = {},
  okExitCodes?: readonly number[],
) =>
  item(id, { kind: 'command', argv, ...(okExitCodes ? { okExitCodes } : {}) }, why, budget, {
    timeoutMs: 30 * SECOND,
    maxBytes: 16 * MiB,
    tail: false,
    priority: 3,
  });

export const file = (id: ItemId, path: string, why: string, budget: Budget = {}) =>
  item(id, { kind: 'file', path }, why, budget, {
    timeoutMs: 30 * SECOND,
    maxBytes: 16 * MiB,
    tail: true,
    priority: 3,
  });

/** Every file matching the pattern, each written under the item's folder by its own name. */
export const glob = (id: ItemId, pattern: string, why: string, budget: Budget = {}) =>
  item(id, { kind: 'glob', pattern }, why, budget, {
    timeoutMs: 60 * SECOND,
    maxBytes: 64 * MiB,
    tail: true,
    priority: 3,
  });

export const journal = (id: ItemId, unit: string, why: string, budget: Budget = {}) =>
  item(id, { kind: 'journal', unit }, why, budget, {
    timeoutMs: 120 * SECOND,
    maxBytes: 128 * MiB,
    tail: true,
    priority: 2,
  });

export const http = (id: ItemId, url: string, why: string, budget: Budget = {}) =>
  item(id, { kind: 'http', url }, why, budget, { timeoutMs: 5 * SECOND, maxBytes: 32 * MiB, tail: false, priority: 1 });

export const derived = (id: ItemId, name: string, why: string, budget: Budget = {}) =>
  item(id, { kind: 'derived', name }, why, budget, {
    timeoutMs: 30 * SECOND,
    maxBytes: 16 * MiB,
    tail: false,
    priority: 2,
  });

export const imds = (id: ItemId, path: ImdsPath, why: string, budget: Budget = {}) =>
  item(id, { kind: 'imds', path }, why, budget, {
    timeoutMs: 10 * SECOND,
    maxBytes: 1 * MiB,
    tail: false,
    priority: 2,
  });
