/**
 * Deterministic pseudo-randomness for simulated nodes: the same scenario renders the same ids, addresses and jitter
 * every time, so a failing test can be re-run on identical input.
 */

export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  hex(length: number): string;
  /** Kubernetes' generated-name suffix alphabet (no vowels, no 0/1/3). */
  podSuffix(length?: number): string;
  uuid(): string;
}

function hashSeed(seed: string): number {
  let hash = 2166136261;
  for (let i = 0; i < seed.length; i++) {
    hash ^= seed.charCodeAt(i);
    hash = Math.imul(hash, 16777619);
  }
  return hash >>> 0;
}

const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** mulberry32: tiny, fast and good enough for test data. */
export function createRandom(seed: string): Random {
  let state = hashSeed(seed);
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const fromAlphabet = (alphabet: string, length: number) =>
    Array.from({ length }, () => alphabet[int(0, alphabet.length - 1)]).join('');
  const hex = (length: number) => fromAlphabet('0123456789abcdef', length);
  return {
    next,
    int,
    pick: <T>(items: readonly T[]) => items[int(0, items.length - 1)] as T,
    hex,
    podSuffix: (length = 5) => fromAlphabet(SUFFIX_ALPHABET, length),
    uuid: () => `${hex(8)}-${hex(4)}-4${hex(3)}-${fromAlphabet('89ab', 1)}${hex(3)}-${hex(12)}`,
  };
}
