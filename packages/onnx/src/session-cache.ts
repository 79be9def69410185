/**
 * Compiled runtime sessions by graph key, least recently used first out. Each session holds
 * its own copy of the weights its graph embeds, so the number kept is bounded.
 */
import type { OnnxRuntimeSession } from './runtime.js';

export class SessionCache {
  private readonly sessions = new Map<string, Promise<OnnxRuntimeSession>>();

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
    s.catch(() => this.sessions.delete(key));
    while (this.sessions.size > this.capacity) {
      const [oldKey, old] = this.sessions.entries().next().value as [string, Promise<OnnxRuntimeSession>];
      this.sessions.delete(oldKey);
      void old.then((x) => x.release()).catch(() => undefined);
    }
    return s;
  }

  async clear(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.then((x) => x.release()).catch(() => undefined)));
  }
}
