/**
 * A Map that remembers its last lookup. Consecutive packets mostly belong to one connection (a
 * command and its response, the segments of one PDU), and each stage looking its connection up
 * again showed in the CPU profile of a day-long keep-alive capture.
 */
export class LastHitMap<K, V> {
  private readonly map = new Map<K, V>();
  private lastKey: K | undefined = undefined;
  private lastValue: V | undefined = undefined;

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    if (key === this.lastKey) return this.lastValue;
    const value = this.map.get(key);
    this.lastKey = key;
    this.lastValue = value;
    return value;
  }

  set(key: K, value: V): void {
    this.map.set(key, value);
    if (key === this.lastKey) this.lastValue = value;
  }

  delete(key: K): void {
    this.map.delete(key);
    if (key === this.lastKey) this.lastValue = undefined;
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }
}
