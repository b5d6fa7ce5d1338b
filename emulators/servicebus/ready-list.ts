/** Something with a place in the queue's first-in-first-out order. */
export interface Ordered {
  readonly order: number;
}

/**
 * Messages waiting for a receiver, kept sorted by their place in the queue,
 * so an abandoned message goes back where it was rather than to the end.
 */
export class ReadyList<T extends Ordered> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  first(): T | undefined {
    return this.#items[0];
  }

  insert(item: T): void {
    const items = this.#items;
    const last = items[items.length - 1];
    if (last === undefined || last.order <= item.order) {
      items.push(item);
      return;
    }
    items.splice(this.#upperBound(item.order), 0, item);
  }

  remove(item: T): boolean {
    const items = this.#items;
    if (items[0] === item) {
      items.shift();
      return true;
    }
    // Equal orders sit together; look left of the upper bound for this exact item.
    for (let i = this.#upperBound(item.order) - 1; i >= 0 && items[i]!.order === item.order; i -= 1) {
      if (items[i] === item) {
        items.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    yield* this.#items;
  }

  /** Index of the first item whose order is greater than `order`. */
  #upperBound(order: number): number {
    let low = 0;
    let high = this.#items.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#items[mid]!.order <= order) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
