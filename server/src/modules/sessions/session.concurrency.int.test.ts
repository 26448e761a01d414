import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { isAppError } from '../../lib/errors.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import { enrolApprover } from '../payouts/payout.service.ts'
import { sessionLimits } from './session.limits.ts'
import { setDashboardCredential, signIn } from './session.service.ts'

// The per-login sign-in limit (5 failures / 15 min) under guesses sent at the same moment, from as many
// addresses as the per-address limiter needs: counted before the slow password check, with no attempt
// recorded yet, they would all be judged.
const password = 'a long dashboard passphrase for tests'
let database: TestDatabase
let merchantId = ''

beforeAll(async () => {
  database = await createTestDatabase()
  merchantId = (await createMerchant(database.pool, { name: 'Race Store' })).merchant.id
})

afterAll(async () => {
  await database?.drop()
})

describe('sign-in failure limit under concurrency', () => {
  it('evaluates at most signInFailuresMax guesses per window, even when they arrive together', async () => {
    // A fresh login per run (vitest retries a failed test once).
    const login = `victim-${Date.now()}`
    const enrolled = await enrolApprover(database.pool, { merchantId, name: login, roles: ['admin'] })
    await setDashboardCredential(database.pool, {
      merchantId,
      approverId: enrolled.approver.id,
      login,
      password,
    })
    const now = new Date()
    const guesses = 20
    const outcomes = await Promise.all(
      Array.from({ length: guesses }, async (_, index) => {
        try {
          await signIn(
            database.pool,
            { login, password: `wrong guess number ${index} xx`, totpCode: '000000' },
            now,
          )
          return 'ok'
        } catch (error) {
          if (isAppError(error)) return error.code
          throw error
        }
      }),
    )
    const evaluated = outcomes.filter((code) => code === 'sign-in-failed').length
    const limited = outcomes.filter((code) => code === 'sign-in-rate-limited').length
    const recorded = await database.pool.query(
      'select count(*)::int as n from dashboard_sign_in_failures where login = $1',
      [login],
    )
    // Every evaluated guess is one password tried: at most 5 per window. Each attempt is recorded before
    // it is judged, so the refused ones count too (hammering keeps the login locked).
    // How many are judged depends on how the attempts interleave (all may count each other first).
    expect(evaluated).toBeLessThanOrEqual(sessionLimits.signInFailuresMax)
    expect({ answered: evaluated + limited, recorded: recorded.rows[0].n }).toEqual({
      answered: guesses,
      recorded: guesses,
    })
  })
})
