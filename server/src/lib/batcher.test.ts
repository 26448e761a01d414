import { describe, expect, it } from 'vitest'
import { type BatchOutcome, NaturalBatcher } from './batcher.ts'

type Item = { key: string; value: number; fail?: 'item' | 'batch' }

/** A batcher whose runs stay open until the test finishes them, recording every batch it was given. */
function controlledBatcher(options: { inFlightMax: number; batchMax: number }) {
  const batches: Item[][] = []
  const open: Array<() => void> = []
  let running = 0
  let runningMax = 0
  const batcher = new NaturalBatcher<Item, number>(
    async (items) => {
      batches.push([...items])
      running += 1
      runningMax = Math.max(runningMax, running)
      await new Promise<void>((resolve) => open.push(resolve))
      running -= 1
      if (items.length > 1 && items.some((item) => item.fail === 'batch')) throw new Error('batch failed')
      if (items.length === 1 && items[0]?.fail === 'batch') throw new Error('bad item')
      return items.map(
        (item): BatchOutcome<number> =>
          item.fail === 'item'
            ? { ok: false, error: new Error(`item ${item.value}`) }
            : { ok: true, value: item.value * 10 },
      )
    },
    { ...options, conflictKey: (item) => item.key },
  )
  /** Lets every run started so far finish, then lets the batcher start the next ones. */
  const finishRunning = async () => {
    for (const finish of open.splice(0)) finish()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return { batcher, batches, finishRunning, runningMax: () => runningMax }
}

const item = (value: number, extra: Partial<Item> = {}): Item => ({ key: `k${value}`, value, ...extra })

/** The outcome as a value, caught at once (a rejection awaited later would be reported unhandled). */
const settled = (result: Promise<number>) =>
  result.then(
    (value) => ({ value }),
    (error: Error) => ({ error: error.message }),
  )

describe('NaturalBatcher', () => {
  it('sends an item alone at once while fewer than inFlightMax batches run', async () => {
    const { batcher, batches, finishRunning } = controlledBatcher({ inFlightMax: 2, batchMax: 8 })
    const first = batcher.submit(item(1))
    const second = batcher.submit(item(2))
    expect(batches.map((batch) => batch.map((entry) => entry.value))).toEqual([[1], [2]])
    await finishRunning()
    await expect(Promise.all([first, second])).resolves.toEqual([10, 20])
  })

  it('holds items while inFlightMax batches run and sends them together, up to batchMax', async () => {
    const { batcher, batches, finishRunning, runningMax } = controlledBatcher({ inFlightMax: 1, batchMax: 3 })
    const results = [1, 2, 3, 4, 5, 6].map((value) => batcher.submit(item(value)))
    expect(batches).toHaveLength(1)
    await finishRunning()
    await finishRunning()
    await finishRunning()
    expect(batches.map((batch) => batch.map((entry) => entry.value))).toEqual([[1], [2, 3, 4], [5, 6]])
    expect(runningMax()).toBe(1)
    await expect(Promise.all(results)).resolves.toEqual([10, 20, 30, 40, 50, 60])
  })

  it('never runs two items with one conflict key at once, in one batch or in two', async () => {
    const { batcher, batches, finishRunning } = controlledBatcher({ inFlightMax: 2, batchMax: 8 })
    const results = [
      batcher.submit(item(1, { key: 'same' })),
      batcher.submit(item(2, { key: 'same' })),
      batcher.submit(item(3)),
      batcher.submit(item(4, { key: 'same' })),
    ]
    // 1 runs alone; 2 waits for it (same key) while 3 takes the second slot.
    expect(batches.map((batch) => batch.map((entry) => entry.value))).toEqual([[1], [3]])
    await finishRunning()
    expect(batches.slice(2).map((batch) => batch.map((entry) => entry.value))).toEqual([[2]])
    await finishRunning()
    expect(batches.slice(3).map((batch) => batch.map((entry) => entry.value))).toEqual([[4]])
    await finishRunning()
    await expect(Promise.all(results)).resolves.toEqual([10, 20, 30, 40])
  })

  it('fails only the item whose outcome is an error', async () => {
    const { batcher, finishRunning } = controlledBatcher({ inFlightMax: 1, batchMax: 8 })
    const results = [item(1), item(2, { fail: 'item' }), item(3)].map((entry) =>
      settled(batcher.submit(entry)),
    )
    await finishRunning()
    await finishRunning()
    expect(await Promise.all(results)).toEqual([{ value: 10 }, { error: 'item 2' }, { value: 30 }])
  })

  it('runs each item of a failed batch alone, so a bad item fails only itself', async () => {
    const { batcher, batches, finishRunning } = controlledBatcher({ inFlightMax: 1, batchMax: 8 })
    const results = [item(1), item(2), item(3, { fail: 'batch' }), item(4)].map((entry) =>
      settled(batcher.submit(entry)),
    )
    await finishRunning() // [1]
    await finishRunning() // [2, 3, 4] fails as a whole; each runs again alone, one at a time
    for (const _alone of [2, 3, 4]) await finishRunning()
    expect(batches.map((batch) => batch.map((entry) => entry.value))).toEqual([[1], [2, 3, 4], [2], [3], [4]])
    expect(await Promise.all(results)).toEqual([
      { value: 10 },
      { value: 20 },
      { error: 'bad item' },
      { value: 40 },
    ])
  })

  it('refuses limits that could run nothing', () => {
    const run = async () => []
    expect(() => new NaturalBatcher(run, { inFlightMax: 0, batchMax: 1, conflictKey: String })).toThrow()
    expect(() => new NaturalBatcher(run, { inFlightMax: 1, batchMax: 0, conflictKey: String })).toThrow()
  })

  it('keeps the reruns of a failed batch within inFlightMax runs at once', async () => {
    let running = 0
    let runningMax = 0
    const batcher = new NaturalBatcher<number, number>(
      async (items) => {
        running += 1
        runningMax = Math.max(runningMax, running)
        await new Promise((resolve) => setTimeout(resolve, 5))
        running -= 1
        if (items.length > 1) throw new Error('the batch fails as a whole')
        return items.map((item): BatchOutcome<number> => ({ ok: true, value: item }))
      },
      { inFlightMax: 1, batchMax: 8, conflictKey: String },
    )
    // 0 runs alone; 1-8 wait, go together, fail, and are run again alone.
    const results = await Promise.all(Array.from({ length: 9 }, (_, item) => batcher.submit(item)))
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
    expect(runningMax).toBe(1)
  })
})
