/** Gives the slot back; call exactly once. */
export type Release = () => void

/**
 * Bounds concurrent work per key (here: first attempts per endpoint in one worker). Waiters are served in
 * arrival order; one that waits longer than its limit gets nothing and the caller does the work another
 * way (the delivery's fallback job), so a slow key never holds its callers for long.
 */
export type KeyedGate = Readonly<{
  acquire: (key: string, waitMs: number) => Promise<Release | undefined>
  /** Work holding or waiting for a slot, over all keys (tests, metrics). */
  size: () => number
}>

type Waiter = { grant: (release: Release) => void; timer: NodeJS.Timeout }
type KeyState = { active: number; waiters: Waiter[] }

export function createKeyedGate(perKeyMax: number): KeyedGate {
  const keys = new Map<string, KeyState>()
  const releaseOf = (key: string, state: KeyState): Release => {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = state.waiters.shift()
      if (next !== undefined) {
        // The slot passes straight to the next waiter: `active` is unchanged.
        clearTimeout(next.timer)
        next.grant(releaseOf(key, state))
        return
      }
      state.active -= 1
      if (state.active === 0) keys.delete(key)
    }
  }
  const acquire = (key: string, waitMs: number): Promise<Release | undefined> => {
    const state = keys.get(key) ?? { active: 0, waiters: [] }
    keys.set(key, state)
    if (state.active < perKeyMax) {
      state.active += 1
      return Promise.resolve(releaseOf(key, state))
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        grant: resolve,
        timer: setTimeout(() => {
          state.waiters.splice(state.waiters.indexOf(waiter), 1)
          resolve(undefined)
        }, waitMs),
      }
      state.waiters.push(waiter)
    })
  }
  const size = () => [...keys.values()].reduce((sum, state) => sum + state.active + state.waiters.length, 0)
  return { acquire, size }
}
