import { describe, expect, it } from 'vitest'
import { createKeyedGate } from './webhook.gate.ts'

describe('createKeyedGate', () => {
  it('lets perKeyMax through per key, queues the next in order and hands a released slot on', async () => {
    const gate = createKeyedGate(2)
    const first = await gate.acquire('a', 1_000)
    const second = await gate.acquire('a', 1_000)
    const other = await gate.acquire('b', 1_000)
    expect([first, second, other].every((release) => release !== undefined)).toBe(true)
    const order: string[] = []
    const third = gate.acquire('a', 1_000).then((release) => {
      order.push('third')
      return release
    })
    const fourth = gate.acquire('a', 1_000).then((release) => {
      order.push('fourth')
      return release
    })
    expect(gate.size()).toBe(5)
    first?.()
    first?.() // a second release of the same slot is ignored
    const thirdRelease = await third
    expect(order).toEqual(['third'])
    second?.()
    expect(await fourth).toBeDefined()
    expect(order).toEqual(['third', 'fourth'])
    thirdRelease?.()
    ;(await fourth)?.()
    other?.()
    expect(gate.size()).toBe(0)
  })

  it('gives up after waitMs, so the caller can do the work another way', async () => {
    const gate = createKeyedGate(1)
    const held = await gate.acquire('slow', 1_000)
    const started = Date.now()
    expect(await gate.acquire('slow', 30)).toBeUndefined()
    expect(Date.now() - started).toBeGreaterThanOrEqual(25)
    // The one that gave up left no waiter behind: the next release frees the key.
    held?.()
    expect(gate.size()).toBe(0)
  })
})
