import { describe, expect, it } from 'vitest'
import { deliveryAttemptsMax, webhookLimits } from './webhook.limits.ts'
import {
  attemptsMaxOf,
  decideAfterAttempt,
  defaultRetrySchedule,
  filterFromColumn,
  filterMatches,
  filterToColumn,
  isSuccessStatus,
  retryDelayMs,
  shouldDisableEndpoint,
} from './webhook.state.ts'

const hour = 3_600_000
const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0)

describe('retry schedule', () => {
  it('is Svix-like: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (8 attempts)', () => {
    expect(defaultRetrySchedule.delaysMs).toEqual([
      5_000,
      300_000,
      1_800_000,
      2 * hour,
      5 * hour,
      10 * hour,
      10 * hour,
    ])
    expect(attemptsMaxOf(defaultRetrySchedule)).toBe(8)
    expect(deliveryAttemptsMax).toBe(8)
  })

  it('spans at least 24 h at the lowest jitter and stays bounded at the highest', () => {
    const lowest = defaultRetrySchedule.delaysMs.map(
      (_, index) => retryDelayMs(defaultRetrySchedule, index + 1, 0) ?? 0,
    )
    const highest = defaultRetrySchedule.delaysMs.map(
      (_, index) => retryDelayMs(defaultRetrySchedule, index + 1, 1) ?? 0,
    )
    expect(sum(lowest)).toBeGreaterThanOrEqual(webhookLimits.retryHorizonMsMin)
    expect(sum(lowest)).toBeGreaterThanOrEqual(24 * hour)
    expect(sum(highest)).toBeLessThanOrEqual(31 * hour)
  })

  it('jitters each wait within ±10 % of its base', () => {
    for (const [index, baseMs] of defaultRetrySchedule.delaysMs.entries()) {
      for (const randomUnit of [0, 0.25, 0.5, 0.999, 1]) {
        const delayMs = retryDelayMs(defaultRetrySchedule, index + 1, randomUnit) ?? -1
        expect(delayMs).toBeGreaterThanOrEqual(Math.floor(baseMs * 0.9))
        expect(delayMs).toBeLessThanOrEqual(Math.ceil(baseMs * 1.1))
      }
    }
    expect(retryDelayMs(defaultRetrySchedule, 1, 0.5)).toBe(5_000)
  })

  it('retries after attempts 1..7 and gives up after attempt 8', () => {
    for (let attempt = 1; attempt < deliveryAttemptsMax; attempt += 1) {
      const decision = decideAfterAttempt({
        attempt,
        succeeded: false,
        schedule: defaultRetrySchedule,
        randomUnit: 0.5,
      })
      expect(decision.kind).toBe('retry')
    }
    expect(
      decideAfterAttempt({
        attempt: deliveryAttemptsMax,
        succeeded: false,
        schedule: defaultRetrySchedule,
        randomUnit: 0.5,
      }),
    ).toEqual({ kind: 'dead' })
    expect(
      decideAfterAttempt({
        attempt: deliveryAttemptsMax,
        succeeded: true,
        schedule: defaultRetrySchedule,
        randomUnit: 0.5,
      }),
    ).toEqual({ kind: 'delivered' })
  })
})

describe('success', () => {
  it('is any 2xx, and only that (redirects are failures)', () => {
    expect([200, 201, 202, 204, 299].map(isSuccessStatus)).toEqual([true, true, true, true, true])
    expect([null, 199, 300, 301, 302, 400, 410, 429, 500, 503].map(isSuccessStatus)).toEqual(
      Array(10).fill(false),
    )
  })
})

describe('auto-disable window', () => {
  const since = new Date('2026-01-01T00:00:00Z')
  const window = webhookLimits.endpointDisableAfterMs
  it('disables at exactly the window, not a millisecond before', () => {
    expect(shouldDisableEndpoint(since, new Date(since.getTime() + window), window)).toBe(true)
    expect(shouldDisableEndpoint(since, new Date(since.getTime() + window - 1), window)).toBe(false)
    expect(shouldDisableEndpoint(null, new Date(since.getTime() + 10 * window), window)).toBe(false)
  })
  it('is five days', () => {
    expect(window).toBe(5 * 24 * hour)
  })
})

describe('event filters', () => {
  it('match every type with *, or the listed types only', () => {
    expect(filterMatches('*', 'payment.finalized')).toBe(true)
    expect(filterMatches(['payment.finalized'], 'payment.finalized')).toBe(true)
    expect(filterMatches(['payment.finalized'], 'invoice.settled')).toBe(false)
  })
  it('round-trip through the text[] column, sorted and without duplicates', () => {
    expect(filterToColumn('*')).toEqual(['*'])
    expect(filterToColumn(['invoice.settled', 'payment.finalized', 'invoice.settled'])).toEqual([
      'invoice.settled',
      'payment.finalized',
    ])
    expect(filterFromColumn(['*'])).toBe('*')
    expect(filterFromColumn(['invoice.settled'])).toEqual(['invoice.settled'])
  })
})
