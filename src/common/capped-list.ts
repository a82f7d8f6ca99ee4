/** A listing kept up to `cap` items (every one with `all`); past it, items are only counted. */
export class CappedList<T> {
  readonly items: T[] = [];
  notListed = 0;

  constructor(
    private readonly cap: number,
    private readonly all = false,
  ) {}

  /** Lists the item `make` builds, or counts it when the list is full (`make` is then not called). */
  add(make: () => T): void {
    if (this.all || this.items.length < this.cap) this.items.push(make());
    else this.notListed++;
  }
}
