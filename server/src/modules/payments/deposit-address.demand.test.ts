import { describe, expect, it } from 'vitest'
import {
  afterRefill,
  observePool,
  PoolDemand,
  poolTargetFor,
  reserveAfterTake,
} from './deposit-address.demand.ts'
import { depositAddressLimits } from './deposit-address.limits.ts'

const {
  poolTargetMin,
  poolTargetMax,
  poolDemandCoverMs,
  demandSampleMinMs,
  demandMerchantsMax,
  reserveDemandCoverMs,
  reserveDemandSampleMinMs,
} = depositAddressLimits

/** The demand, in addresses per poolDemandCoverMs, that asks for exactly `size` addresses. */
const coveringOver = (size: number) => ({ taken: size, takenOverMs: poolDemandCoverMs })

describe('pool target from demand', () => {
  it('stays at the floor until the demand covers more (both sides of poolTargetMin)', () => {
    expect(poolTargetFor({ taken: 0, takenOverMs: 1 })).toBe(poolTargetMin)
    expect(poolTargetFor(coveringOver(poolTargetMin - 1))).toBe(poolTargetMin)
    expect(poolTargetFor(coveringOver(poolTargetMin))).toBe(poolTargetMin)
    expect(poolTargetFor(coveringOver(poolTargetMin + 1))).toBe(poolTargetMin + 1)
  })

  it('stops at the ceiling (both sides of poolTargetMax)', () => {
    expect(poolTargetFor(coveringOver(poolTargetMax - 1))).toBe(poolTargetMax - 1)
    expect(poolTargetFor(coveringOver(poolTargetMax))).toBe(poolTargetMax)
    expect(poolTargetFor(coveringOver(poolTargetMax + 1))).toBe(poolTargetMax)
    expect(poolTargetFor({ taken: Number.MAX_SAFE_INTEGER / poolDemandCoverMs, takenOverMs: 1 })).toBe(
      poolTargetMax,
    )
  })

  it('scales the demand to poolDemandCoverMs and rounds up', () => {
    // 3,500 addresses in 1.4 s: 5,000 in 2 s exactly; 3,501 in 1.4 s: 5,001.43, so 5,002.
    expect(poolDemandCoverMs).toBe(2_000)
    expect(poolTargetFor({ taken: 3_500, takenOverMs: 1_400 })).toBe(5_000)
    expect(poolTargetFor({ taken: 3_501, takenOverMs: 1_400 })).toBe(5_002)
  })
})

describe('observing a pool', () => {
  it('measures only over at least demandSampleMinMs (both sides)', () => {
    const first = observePool(undefined, 1_000, 0)
    expect(first.taken).toBe(0)
    expect(observePool(first, 400, demandSampleMinMs - 1)).toBe(first)
    expect(observePool(first, 400, demandSampleMinMs)).toEqual({
      atMs: demandSampleMinMs,
      pooled: 400,
      taken: 600,
      takenOverMs: demandSampleMinMs,
    })
  })

  it('counts what a refill added, and a pool that grew as no demand', () => {
    const refilled = afterRefill(observePool(undefined, 100, 0), 900)
    expect(observePool(refilled, 700, 2_000)).toMatchObject({ taken: 300, takenOverMs: 2_000 })
    expect(observePool(refilled, 1_500, 2_000)).toMatchObject({ taken: 0 })
  })
})

describe('PoolDemand', () => {
  it('targets the floor on a first look, then what the demand covers', () => {
    let nowMs = 0
    const demand = new PoolDemand(() => nowMs)
    expect(demand.observe('mer_a', 1_000)).toBe(poolTargetMin)
    nowMs = 1_000
    expect(demand.observe('mer_a', 0)).toBe((1_000 * poolDemandCoverMs) / 1_000)
  })

  it('remembers demandMerchantsMax merchants and forgets the one looked at longest ago (both sides)', () => {
    const run = (others: number) => {
      let nowMs = 0
      const demand = new PoolDemand(() => nowMs)
      demand.observe('mer_first', 4 * poolTargetMin)
      for (let index = 0; index < others; index += 1) demand.observe(`mer_${index}`, 0)
      nowMs = 2_000
      return demand.observe('mer_first', 0)
    }
    // Remembered: 4 floors' worth taken in 2 s covers more than the floor. Forgotten: the floor.
    const remembered = (4 * poolTargetMin * poolDemandCoverMs) / 2_000
    expect(remembered).toBeGreaterThan(poolTargetMin)
    expect(run(demandMerchantsMax - 1)).toBe(remembered)
    expect(run(demandMerchantsMax)).toBe(poolTargetMin)
  })

  it('adds a refill to the merchant it observed only', () => {
    let nowMs = 0
    const demand = new PoolDemand(() => nowMs)
    demand.added('mer_unseen', 500)
    demand.observe('mer_a', 0)
    demand.added('mer_a', 2_000)
    nowMs = 1_000
    expect(demand.observe('mer_a', 0)).toBe((2_000 * poolDemandCoverMs) / 1_000)
    nowMs = 2_000
    expect(demand.observe('mer_unseen', 0)).toBe(poolTargetMin)
  })
})

describe("reserve size from a process's take rate", () => {
  const bounds = { minimum: 8, maximum: 32 }
  /** The size after `taken` takes in exactly reserveDemandSampleMinMs (the last take included). */
  const sizeAfter = (taken: number) =>
    reserveAfterTake({ sinceMs: 0, taken: taken - 1, size: 8 }, reserveDemandSampleMinMs, bounds).size
  const perSample = reserveDemandCoverMs / reserveDemandSampleMinMs

  it('starts at the least and counts without measuring below reserveDemandSampleMinMs (both sides)', () => {
    const first = reserveAfterTake(undefined, 100, bounds)
    expect(first).toEqual({ sinceMs: 100, taken: 1, size: 8 })
    expect(reserveAfterTake(first, 100 + reserveDemandSampleMinMs - 1, bounds)).toEqual({
      ...first,
      taken: 2,
    })
    expect(reserveAfterTake(first, 100 + reserveDemandSampleMinMs, bounds)).toEqual({
      sinceMs: 100 + reserveDemandSampleMinMs,
      taken: 0,
      size: 8,
    })
  })

  it('sizes to reserveDemandCoverMs of the rate, between the least and the most (both sides of each)', () => {
    expect(perSample).toBe(1)
    expect(sizeAfter(7)).toBe(8)
    expect(sizeAfter(8)).toBe(8)
    expect(sizeAfter(9)).toBe(9)
    expect(sizeAfter(31)).toBe(31)
    expect(sizeAfter(32)).toBe(32)
    expect(sizeAfter(33)).toBe(32)
  })
})
