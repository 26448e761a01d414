import { describe, expect, it } from 'vitest'
import { reconciliationLimits } from './reconciliation.limits.ts'
import { driftOf, incidentAction, nextStreak, persists } from './reconciliation.state.ts'
import type { DriftStreak } from './reconciliation.types.ts'

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms)
const minute = 60_000

/** Feeds drifts one check a minute apart; returns the streak and the action of each check. */
function run(drifts: readonly bigint[], open?: { latestDrift: bigint }) {
  let streak: DriftStreak | undefined
  const actions: string[] = []
  drifts.forEach((drift, index) => {
    streak = nextStreak(streak, drift, at(index * minute))
    actions.push(incidentAction(streak, at(index * minute), open))
  })
  return { streak, actions }
}

describe('drift', () => {
  it('is chain − (ledger + booked ahead), exact at any size and signed', () => {
    expect(driftOf(100n, 100n, 0n)).toBe(0n)
    expect(driftOf(100n, 90n, 10n)).toBe(0n)
    expect(driftOf(101n, 100n, 0n)).toBe(1n)
    expect(driftOf(99n, 100n, 0n)).toBe(-1n)
    const huge = 2n ** 256n - 1n
    expect(driftOf(huge, huge - 1n, 0n)).toBe(1n)
  })
})

describe('the persistence rule', () => {
  it(`opens only when the same drift is seen on ${reconciliationLimits.incidentChecksMin}+ checks spanning ${reconciliationLimits.incidentSpanMsMin} ms+`, () => {
    // One a minute: the check at minute 5 is the first whose streak spans 5 minutes.
    const { actions } = run([7n, 7n, 7n, 7n, 7n, 7n, 7n])
    expect(actions).toEqual(['none', 'none', 'none', 'none', 'none', 'open', 'open'])
  })

  it('a changing drift (bookings landing) restarts the count and never opens', () => {
    const { actions, streak } = run([7n, 3n, 7n, 3n, 7n, 3n, 7n, 3n])
    expect(actions.every((action) => action === 'none')).toBe(true)
    expect(streak).toMatchObject({ checks: 1, drift: 3n })
  })

  it('a drift back to zero in between restarts the count', () => {
    const { actions } = run([7n, 7n, 7n, 7n, 0n, 7n, 7n, 7n, 7n, 7n])
    expect(actions.slice(0, 5)).toEqual(['none', 'none', 'none', 'none', 'none'])
    expect(actions.at(-1)).toBe('none')
  })

  it('needs both the count and the span: many checks in a short time do not open, nor two far apart', () => {
    const rule = { checksMin: 3, spanMsMin: 5 * minute }
    const quick: DriftStreak = { drift: 5n, checks: 50, startedAt: at(0) }
    expect(persists(quick, at(4 * minute), rule)).toBe(false)
    expect(persists(quick, at(5 * minute), rule)).toBe(true)
    const sparse: DriftStreak = { drift: 5n, checks: 2, startedAt: at(0) }
    expect(persists(sparse, at(60 * minute), rule)).toBe(false)
    expect(persists({ drift: 0n, checks: 99, startedAt: at(0) }, at(60 * minute), rule)).toBe(false)
  })

  it('an open incident is cleared by the first zero, updated by another drift, left alone by the same', () => {
    expect(run([0n], { latestDrift: 7n }).actions).toEqual(['clear'])
    expect(run([9n], { latestDrift: 7n }).actions).toEqual(['update'])
    expect(run([7n], { latestDrift: 7n }).actions).toEqual(['none'])
    expect(run([0n]).actions).toEqual(['none'])
  })

  it('a negative drift (the ledger says more than the chain holds) persists like a positive one', () => {
    expect(run([-4n, -4n, -4n, -4n, -4n, -4n]).actions.at(-1)).toBe('open')
  })
})
