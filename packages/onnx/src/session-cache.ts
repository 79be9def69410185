/**
 * Compiled runtime sessions by graph key, least recently used first out. Each session holds
 * its own copy of the weights its graph embeds, so the number kept is bounded.
 */
import type { OnnxRuntimeSession } from './runtime.js';

/** The weights a graph key names (`W<id>` parts, compile-graph.ts). */
function weightIdsOf(key: string): Set<number> {
  const ids = new Set<number>();
  for (const part of key.split('|')) if (/^W\d+$/.test(part)) ids.add(Number(part.slice(1)));
  return ids;
}

export class SessionCache {
  private readonly sessions = new Map<string, Promise<OnnxRuntimeSession>>();
  /** Per key, the ids of the weights its session embeds. */
  private readonly weights = new Map<string, Set<number>>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.sessions.size;
  }

  async get(key: string, create: () => Promise<OnnxRuntimeSession>): Promise<OnnxRuntimeSession> {
    let s = this.sessions.get(key);
    if (s !== undefined) {
      this.sessions.delete(key);
      this.sessions.set(key, s);
      return s;
    }
    s = create();
    this.sessions.set(key, s);
    this.weights.set(key, weightIdsOf(key));
    s.catch(() => this.forget(key));
    while (this.sessions.size > this.capacity) {
      const [oldKey, old] = this.sessions.entries().next().value as [string, Promise<OnnxRuntimeSession>];
      this.forget(oldKey);
      void old.then((x) => x.release()).catch(() => undefined);
    }
    return s;
  }

  private forget(key: string): void {
    this.sessions.delete(key);
    this.weights.delete(key);
  }

  /**
   * Releases the sessions that embed any of these weights (they were disposed: no graph will
   * name them again, and each session holds its own copy of them).
   */
  async releaseUsing(weightIds: ReadonlySet<number>): Promise<void> {
    const stale: Promise<OnnxRuntimeSession>[] = [];
    for (const [key, ids] of this.weights) {
      if (![...ids].some((id) => weightIds.has(id))) continue;
      stale.push(this.sessions.get(key)!);
      this.forget(key);
    }
    await Promise.all(stale.map((s) => s.then((x) => x.release()).catch(() => undefined)));
  }

  async clear(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    this.weights.clear();
    await Promise.all(all.map((s) => s.then((x) => x.release()).catch(() => undefined)));
  }
}
