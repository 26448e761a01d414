/**
 * Natural batching, as group commit does it (docs/adr/0028-batched-one-statement-writes.md): an item
 * submitted while fewer than `inFlightMax` batches run goes at once, alone at low load; items submitted
 * while all are running wait and go together in the next batch, up to `batchMax`. No timer: nothing
 * waits longer than the batch ahead of it.
 *
 * Items with the same `conflictKey` never run at the same time, in one batch or in two, so a batch
 * never waits on another of this process's batches. When a batch of several fails as a whole, each of
 * its items runs again alone, so one bad item fails only itself.
 */

export type BatchOutcome<Result> = { ok: true; value: Result } | { ok: false; error: Error }

export type BatcherOptions<Item> = Readonly<{
  inFlightMax: number
  batchMax: number
  conflictKey: (item: Item) => string
}>

type Pending<Item, Result> = {
  item: Item
  key: string
  resolve: (value: Result) => void
  reject: (error: unknown) => void
}

export class NaturalBatcher<Item, Result> {
  readonly #run: (items: readonly Item[]) => Promise<readonly BatchOutcome<Result>[]>
  readonly #options: BatcherOptions<Item>
  readonly #queue: Pending<Item, Result>[] = []
  /** Conflict keys of the items in running batches. */
  readonly #running = new Set<string>()
  #inFlight = 0

  /** `run` answers one outcome per item, in order; a rejection fails the batch as a whole. */
  constructor(
    run: (items: readonly Item[]) => Promise<readonly BatchOutcome<Result>[]>,
    options: BatcherOptions<Item>,
  ) {
    if (options.inFlightMax < 1 || options.batchMax < 1)
      throw new Error('a batcher must run at least one item')
    this.#run = run
    this.#options = options
  }

  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.#queue.push({ item, key: this.#options.conflictKey(item), resolve, reject })
      this.#pump()
    })
  }

  #pump(): void {
    while (this.#inFlight < this.#options.inFlightMax) {
      const batch = this.#takeBatch()
      if (batch.length === 0) return
      this.#inFlight += 1
      for (const pending of batch) this.#running.add(pending.key)
      void this.#runBatch(batch).finally(() => {
        this.#inFlight -= 1
        for (const pending of batch) this.#running.delete(pending.key)
        this.#pump()
      })
    }
  }

  /** The oldest waiting items whose keys are neither running nor already taken, up to batchMax. */
  #takeBatch(): Pending<Item, Result>[] {
    const batch: Pending<Item, Result>[] = []
    const keys = new Set<string>()
    for (let index = 0; index < this.#queue.length && batch.length < this.#options.batchMax; ) {
      const pending = this.#queue[index] as Pending<Item, Result>
      if (this.#running.has(pending.key) || keys.has(pending.key)) {
        index += 1
        continue
      }
      keys.add(pending.key)
      batch.push(pending)
      this.#queue.splice(index, 1)
    }
    return batch
  }

  async #runBatch(batch: readonly Pending<Item, Result>[]): Promise<void> {
    let outcomes: readonly BatchOutcome<Result>[]
    try {
      outcomes = await this.#run(batch.map((pending) => pending.item))
    } catch (error) {
      if (batch.length === 1) (batch[0] as Pending<Item, Result>).reject(error)
      // One at a time, in the failed batch's slot: reruns never exceed inFlightMax statements.
      else for (const pending of batch) await this.#runAlone(pending)
      return
    }
    for (const [index, pending] of batch.entries()) settle(pending, outcomes[index])
  }

  async #runAlone(pending: Pending<Item, Result>): Promise<void> {
    try {
      settle(pending, (await this.#run([pending.item]))[0])
    } catch (error) {
      pending.reject(error)
    }
  }
}

function settle<Item, Result>(
  pending: Pending<Item, Result>,
  outcome: BatchOutcome<Result> | undefined,
): void {
  if (outcome === undefined) pending.reject(new Error('a batch answered fewer outcomes than items'))
  else if (outcome.ok) pending.resolve(outcome.value)
  else pending.reject(outcome.error)
}
