/**
 * Seeded pseudo-random numbers, so a scenario renders the same bytes on every run (no Math.random, no clock).
 * mulberry32 seeded by an FNV-1a hash of a string: tiny, fast, and good enough for plausible-looking variety.
 */

/** Characters Kubernetes uses for generated name suffixes (`k8s.io/apimachinery/pkg/util/rand`): no vowels, no 0/1/3. */
export const KUBE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** Float in [min, max). */
  float(min: number, max: number): number;
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
  hex(length: number): string;
  /** A Kubernetes-style name suffix (`x7k2p`). */
  kubeSuffix(length: number): string;
  uuid(): string;
  /** A new generator whose sequence depends only on this one's seed and the label (stable when callers are added). */
  fork(label: string): Random;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function createRandom(seed: string): Random {
  let state = fnv1a(seed);
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const fromAlphabet = (alphabet: string, length: number): string => {
    let out = '';
    for (let index = 0; index < length; index++) out += alphabet[Math.floor(next() * alphabet.length)];
    return out;
  };
  const random: Random = {
    next,
    int,
    float: (min, max) => min + next() * (max - min),
    chance: (probability) => next() < probability,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)] as T;
    },
    hex: (length) => fromAlphabet('0123456789abcdef', length),
    kubeSuffix: (length) => fromAlphabet(KUBE_NAME_ALPHABET, length),
    uuid: () => {
      const hex = fromAlphabet('0123456789abcdef', 32);
      const variant = '89ab'[Math.floor(next() * 4)];
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
    },
    fork: (label) => createRandom(`${seed}/${label}`),
  };
  return random;
}
