import { depositAddressLimits } from './deposit-address.limits.ts'

/**
 * How fast a merchant's pooled addresses are used, measured from two looks at the pool's size, and the
 * pool size that covers it (docs/adr/0018). Pure: the worker keeps one observation per merchant.
 * Counts and milliseconds are whole numbers, kept exact (this folder is money code: no Math, no floats).
 */
export type PoolObservation = Readonly<{
  atMs: number
  /** Pool size at `atMs`, plus what was added since (so the next look sees only what was taken). */
  pooled: number
  /** Addresses taken over the last interval of at least demandSampleMinMs, and that interval (ms). */
  taken: number
  takenOverMs: number
}>

/** A new look at the pool: the rate since the previous look, or the previous rate if it was too recent. */
export function observePool(
  previous: PoolObservation | undefined,
  pooled: number,
  nowMs: number,
): PoolObservation {
  if (previous === undefined) return { atMs: nowMs, pooled, taken: 0, takenOverMs: 1 }
  const elapsedMs = nowMs - previous.atMs
  if (elapsedMs < depositAddressLimits.demandSampleMinMs) return previous
  // Another worker's refill makes the pool grow: that interval counts as no demand (an underestimate).
  const taken = previous.pooled > pooled ? previous.pooled - pooled : 0
  return { atMs: nowMs, pooled, taken, takenOverMs: elapsedMs }
}

/** The observation after `added` addresses went into the pool. */
export function afterRefill(observation: PoolObservation, added: number): PoolObservation {
  return { ...observation, pooled: observation.pooled + added }
}

/** Pool size covering poolDemandCoverMs of the observed demand, within [poolTargetMin, poolTargetMax]. */
export function poolTargetFor(observation: Pick<PoolObservation, 'taken' | 'takenOverMs'>): number {
  const { poolTargetMin, poolTargetMax, poolDemandCoverMs } = depositAddressLimits
  // Compared before dividing, so the ceiling needs no rounding.
  if (observation.taken * poolDemandCoverMs >= poolTargetMax * observation.takenOverMs) return poolTargetMax
  const covering = ceilDivide(observation.taken * poolDemandCoverMs, observation.takenOverMs)
  if (covering <= poolTargetMin) return poolTargetMin
  return covering
}

/** ⌈dividend / divisor⌉ of whole numbers, exactly. */
function ceilDivide(dividend: number, divisor: number): number {
  const remainder = dividend % divisor
  return (dividend - remainder) / divisor + (remainder > 0 ? 1 : 0)
}

/** A process's take rate of one merchant's held addresses, counted since `sinceMs`, and the size it sets. */
export type ReserveDemand = Readonly<{ sinceMs: number; taken: number; size: number }>

/**
 * The reserve size after a take at `nowMs`: reserveDemandCoverMs of the rate counted over at least
 * reserveDemandSampleMinMs, within [minimum, maximum] (the limits, or a test's). A shorter interval
 * keeps counting under the size it had.
 */
export function reserveAfterTake(
  previous: ReserveDemand | undefined,
  nowMs: number,
  bounds: Readonly<{ minimum: number; maximum: number }>,
): ReserveDemand {
  if (previous === undefined) return { sinceMs: nowMs, taken: 1, size: bounds.minimum }
  const taken = previous.taken + 1
  const overMs = nowMs - previous.sinceMs
  if (overMs < depositAddressLimits.reserveDemandSampleMinMs) return { ...previous, taken }
  const cover = depositAddressLimits.reserveDemandCoverMs
  let size = bounds.maximum
  if (taken * cover < bounds.maximum * overMs) size = ceilDivide(taken * cover, overMs)
  if (size < bounds.minimum) size = bounds.minimum
  return { sinceMs: nowMs, taken: 0, size }
}

/** One observation per merchant, bounded: the merchant looked at longest ago is forgotten first. */
export class PoolDemand {
  readonly #observations = new Map<string, PoolObservation>()
  readonly #nowMs: () => number

  constructor(nowMs: () => number = Date.now) {
    this.#nowMs = nowMs
  }

  /** Records a look at the merchant's pool and returns the size its pool should have. */
  observe(merchantId: string, pooled: number): number {
    const previous = this.#observations.get(merchantId)
    const observation = observePool(previous, pooled, this.#nowMs())
    this.#remember(merchantId, observation)
    return poolTargetFor(observation)
  }

  /** Records addresses the caller added to the merchant's pool after its last look. */
  added(merchantId: string, count: number): void {
    const observation = this.#observations.get(merchantId)
    if (observation !== undefined) this.#remember(merchantId, afterRefill(observation, count))
  }

  #remember(merchantId: string, observation: PoolObservation): void {
    this.#observations.delete(merchantId)
    if (this.#observations.size >= depositAddressLimits.demandMerchantsMax) {
      const oldest = this.#observations.keys().next().value
      if (oldest !== undefined) this.#observations.delete(oldest)
    }
    this.#observations.set(merchantId, observation)
  }
}
