import pg from 'pg'

/**
 * Spies on the batched one-statement writes (docs/adr/0028) of every pg.Pool (the batches run on a pool
 * of their own): records each statement's Idempotency-Keys, holds the first `holdFirst` until `release`
 * (`held` resolves once they all wait), and lets `afterRun` turn a statement's result into an error (a
 * reply lost after the commit). `restore` before the test ends.
 */
export function spyOnBatches(
  options: { holdFirst?: number; afterRun?: (keys: string[], index: number) => Error | undefined } = {},
) {
  const prototype = pg.Pool.prototype as { query: (...args: unknown[]) => Promise<unknown> }
  const original = prototype.query
  const batches: string[][] = []
  let releaseHeld: () => void = () => {}
  const released = new Promise<void>((resolve) => {
    releaseHeld = resolve
  })
  let allHeld: () => void = () => {}
  const held = new Promise<void>((resolve) => {
    allHeld = resolve
  })
  prototype.query = async function spied(this: unknown, ...args: unknown[]) {
    const config = args[0] as { name?: string; values?: unknown[] } | string
    if (typeof config !== 'object' || !config.name?.startsWith('idempotency-claim-with-writes:'))
      return await original.apply(this, args)
    const keys = [...((config.values?.[1] as string[] | undefined) ?? [])]
    const index = batches.push(keys) - 1
    if (index < (options.holdFirst ?? 0)) {
      if (index + 1 === options.holdFirst) allHeld()
      await released
    }
    const result = await original.apply(this, args)
    const error = options.afterRun?.(keys, index)
    if (error !== undefined) throw error
    return result
  }
  return {
    batches,
    held,
    release: () => releaseHeld(),
    restore: () => {
      releaseHeld()
      prototype.query = original
    },
  }
}

export type BatchSpy = ReturnType<typeof spyOnBatches>
