import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPayout, enrolPayoutApprover, type PayoutWire } from '@sluice/sdk/api/payouts'
import { createSluiceClient, SluiceApiError, type SluiceClient } from '@sluice/sdk/client'
import type { FastifyInstance } from 'fastify'
import { type Address, getAddress } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { offlineNetwork } from '../../../test/setup/offline-network.ts'
import { creditStoreBalance } from '../../../test/setup/store-funding.ts'
import type { Pool } from '../../db/pool.ts'
import { createLogger } from '../../lib/logger.ts'
import { createMerchant, issueApiKey } from '../../modules/merchants/merchant.service.ts'
import { isPanicEngaged, listPayoutAudit } from '../../modules/payouts/payout.service.ts'
import { totpAt } from '../../modules/payouts/payout.totp.ts'
import { importSanctionLists } from '../../modules/sanctions/sanction.service.ts'
import { buildApp } from '../app.ts'
import { createMetrics } from '../metrics.ts'

// The payouts API through the SDK on a real Fastify server and PostgreSQL. No chain: signing is the
// worker's (payout.service.int.test.ts, payouts.e2e.test.ts); here the requests, decisions and policies.
const networkName = 'testnet'
const usdtAddress = '0x5fbdb2315678afecb367f032d93f642f64180aa3'
const network = offlineNetwork({ name: networkName, tokenAddress: usdtAddress, confirmations: 2 })

let database: TestDatabase
let pool: Pool
let app: FastifyInstance
let baseUrl = ''
let merchantId = ''
let clockMs = Date.now()
const keys = { admin: '', initiator: '', initiatorId: '', approver: '', approverId: '', otherAdmin: '' }
const people = {
  checker: { id: '', secret: '' },
  admin: { id: '', secret: '' },
  initiator: { id: '', secret: '' },
}

const sanctioned = getAddress('0x000000000000000000000000000000000000dead')
const client = (apiKey: string): SluiceClient => createSluiceClient({ baseUrl, apiKey })
const newDestination = (): Address => getAddress(privateKeyToAddress(`0x${randomBytes(32).toString('hex')}`))
/** A fresh TOTP step each call: a code is good once per approver. */
const code = (secret: string) => {
  clockMs += 30_000
  return totpAt(secret, BigInt(clockMs) / 1000n)
}

async function apiError(promise: Promise<unknown>): Promise<SluiceApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!(error instanceof SluiceApiError)) throw new Error(`expected a SluiceApiError, got ${String(error)}`)
  return error
}

async function fund(amount: bigint): Promise<void> {
  await creditStoreBalance(pool, merchantId, `USDT@${networkName}`, amount)
}

const request = (amount: string, extra: { external_reference?: string } = {}) =>
  client(keys.initiator).createPayout({
    body: { network: networkName, asset: 'USDT', destination: newDestination(), amount, ...extra },
  })

async function enrol(name: string, roles: ('approver' | 'admin')[], apiKeyId?: string) {
  const enrolled = await client(keys.admin).enrolPayoutApprover({
    body: { name, roles, ...(apiKeyId === undefined ? {} : { api_key_id: apiKeyId }) },
  })
  if (enrolled.totp_secret === null) throw new Error('the secret is shown at enrolment')
  return { id: enrolled.approver.id, secret: enrolled.totp_secret }
}

beforeAll(async () => {
  database = await createTestDatabase()
  pool = database.pool
  const store = await createMerchant(pool, { name: 'Payout API Store' })
  merchantId = store.merchant.id
  keys.admin = store.apiKey.key
  keys.otherAdmin = (await createMerchant(pool, { name: 'Other Store' })).apiKey.key
  const initiator = await issueApiKey(pool, {
    merchantId,
    label: 'initiator',
    scopes: ['payouts:write', 'payouts:read'],
  })
  const approver = await issueApiKey(pool, {
    merchantId,
    label: 'approver',
    scopes: ['payouts:approve', 'payouts:read'],
  })
  Object.assign(keys, {
    initiator: initiator.key,
    initiatorId: initiator.apiKeyId,
    approver: approver.key,
    approverId: approver.apiKeyId,
  })
  app = await buildApp({
    pool,
    logger: createLogger('silent'),
    metrics: createMetrics(),
    networks: [network],
    api: {
      now: () => new Date(clockMs),
      assertResponses: true,
      rateLimit: { requestsPerSecond: 10_000, burst: 10_000, bucketsMax: 100 },
    },
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  baseUrl = `http://127.0.0.1:${address.port}`
  await fund(1_000_000_000n)
  const listDirectory = mkdtempSync(join(tmpdir(), 'sluice-sanctions-'))
  chmodSync(listDirectory, 0o755)
  const list = join(listDirectory, 'sanctioned_addresses_ETH.txt')
  writeFileSync(list, `${sanctioned}\n`)
  await importSanctionLists(pool, [list])
  people.checker = await enrol('Checker', ['approver'], keys.approverId)
  people.admin = await enrol('Admin', ['admin'])
  people.initiator = await enrol('Initiator', ['approver'], keys.initiatorId)
})

afterAll(async () => {
  await app?.close()
  await database?.drop()
})

describe('POST /v1/payouts', () => {
  it('requires an Idempotency-Key: it moves money', async () => {
    const response = await fetch(`${baseUrl}/v1/payouts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.initiator}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        network: networkName,
        asset: 'USDT',
        destination: newDestination(),
        amount: '1',
      }),
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { code: string }).code).toBe('idempotency-key-required')
  })

  it('creates under the built-in policy (one approval) and replays the same payout for the same key', async () => {
    const body = { network: networkName, asset: 'USDT', destination: newDestination(), amount: '12.5' }
    const first = await client(keys.initiator).send(createPayout, { body, idempotencyKey: 'po-create-1' })
    expect(first.status).toBe(201)
    expect(first.data).toMatchObject({
      status: 'pending_approval',
      revision: 2,
      asset: `USDT@${networkName}`,
      amount: '12.5',
      amount_minor: '12500000',
      approvals_required: 1,
      approval_role: 'approver',
      decision: { policy_version: null, rule_id: null, action: 'require_approval' },
    })
    const again = await client(keys.initiator).send(createPayout, { body, idempotencyKey: 'po-create-1' })
    expect([again.replayed, again.data]).toEqual([true, first.data])
    const reused = await apiError(
      client(keys.initiator).createPayout({ body: { ...body, amount: '13' }, idempotencyKey: 'po-create-1' }),
    )
    expect([reused.status, reused.code]).toEqual([422, 'idempotency-key-reused'])
    const count = await pool.query('select count(*)::int as n from payouts where amount = 12500000')
    expect(count.rows[0].n).toBe(1)
  })

  it('refuses what the balance cannot cover, bad input, a taken reference; other stores see nothing', async () => {
    const short = await apiError(request('1000000'))
    expect([short.status, short.code]).toEqual([409, 'payout-exceeds-balance'])
    const precise = await apiError(request('1.0000001'))
    expect([precise.status, precise.code]).toEqual([422, 'amount-invalid'])
    const lower = await apiError(
      client(keys.initiator).createPayout({
        body: {
          network: networkName,
          asset: 'USDT',
          destination: newDestination().toLowerCase(),
          amount: '1',
        },
      }),
    )
    expect([lower.status, lower.code]).toEqual([422, 'destination-invalid'])
    const unknown = await apiError(
      client(keys.initiator).createPayout({
        body: { network: 'nowhere', asset: 'USDT', destination: newDestination(), amount: '1' },
      }),
    )
    expect(unknown.code).toBe('network-unknown')
    await request('1', { external_reference: 'order-7' })
    const taken = await apiError(request('1', { external_reference: 'order-7' }))
    expect([taken.status, taken.code]).toEqual([409, 'payout-reference-taken'])
    const scope = await apiError(
      client(keys.approver).createPayout({
        body: { network: networkName, asset: 'USDT', destination: newDestination(), amount: '1' },
      }),
    )
    expect([scope.status, scope.code]).toEqual([403, 'scope-missing'])
    const screened = await client(keys.initiator).createPayout({
      body: { network: networkName, asset: 'USDT', destination: sanctioned, amount: '3' },
    })
    expect(screened).toMatchObject({
      status: 'blocked',
      error: 'destination-sanctioned',
      decision: { action: 'screening' },
    })
    const mine = await request('2')
    const foreign = await apiError(client(keys.otherAdmin).getPayout({ params: { id: mine.id } }))
    expect([foreign.status, foreign.code]).toEqual([404, 'payout-not-found'])
  })

  it('lists newest first, by status, in pages', async () => {
    const page = await client(keys.initiator).listPayouts({ query: { limit: 2, status: 'pending_approval' } })
    expect(page.data.length).toBe(2)
    expect(page.has_more).toBe(true)
    expect(page.data.every((payout) => payout.status === 'pending_approval')).toBe(true)
    const next = await client(keys.initiator).listPayouts({
      query: { limit: 100, status: 'pending_approval', starting_after: page.data[1]?.id ?? '' },
    })
    expect(next.data.map((payout) => payout.id)).not.toContain(page.data[0]?.id)
    expect((await client(keys.initiator).getPayout({ params: { id: page.data[0]?.id ?? '' } })).id).toBe(
      page.data[0]?.id,
    )
  })
})

describe('approve, reject, cancel', () => {
  const decide = (
    payout: PayoutWire,
    who: { id: string; secret: string },
    options: { key?: string; revision?: number; totp?: string; reject?: boolean } = {},
  ) => {
    const input = {
      params: { id: payout.id },
      body: {
        approver_id: who.id,
        revision: options.revision ?? payout.revision,
        totp_code: options.totp ?? code(who.secret),
      },
    }
    const caller = client(options.key ?? keys.approver)
    return options.reject === true ? caller.rejectPayout(input) : caller.approvePayout(input)
  }

  it('refuses the initiator, a stale revision, a bad code; an eligible approval queues the payout', async () => {
    const payout = await request('20')
    const initiatorPerson = await apiError(decide(payout, people.initiator))
    expect([initiatorPerson.status, initiatorPerson.code]).toEqual([403, 'approver-not-eligible'])
    const scope = await apiError(decide(payout, people.checker, { key: keys.initiator }))
    expect([scope.status, scope.code]).toEqual([403, 'scope-missing'])
    const stale = await apiError(decide(payout, people.checker, { revision: payout.revision - 1 }))
    expect([stale.status, stale.code]).toEqual([409, 'payout-old-revision'])
    const wrong = await apiError(decide(payout, people.checker, { totp: '000000' }))
    expect([wrong.status, wrong.code]).toEqual([403, 'approval-totp-invalid'])
    const approved = await decide(payout, people.checker)
    expect(approved).toMatchObject({ status: 'queued', revision: payout.revision + 1 })
    const late = await apiError(decide(approved, people.checker))
    expect([late.status, late.code]).toEqual([409, 'payout-status-conflict'])
    const audit = (await listPayoutAudit(pool, payout.id)).map((entry) => [entry.action, entry.actor])
    expect(audit).toContainEqual(['payout.approve', people.checker.id])
  })

  it('a rejection cancels; cancel works before signing and quotes the revision', async () => {
    const rejected = await decide(await request('21'), people.checker, { reject: true })
    expect(rejected).toMatchObject({ status: 'cancelled', error: 'rejected' })
    const payout = await request('22')
    const stale = await apiError(
      client(keys.initiator).cancelPayout({ params: { id: payout.id }, body: { revision: 1 } }),
    )
    expect(stale.code).toBe('payout-old-revision')
    const cancelled = await client(keys.initiator).cancelPayout({
      params: { id: payout.id },
      body: { revision: payout.revision },
    })
    expect(cancelled.status).toBe('cancelled')
    const again = await apiError(client(keys.initiator).cancelPayout({ params: { id: payout.id }, body: {} }))
    expect([again.status, again.code]).toEqual([409, 'payout-status-conflict'])
  })
})

describe('policy versions', () => {
  it('proposes, refuses the proposer, activates with another approver; new payouts record the rule', async () => {
    expect(await client(keys.approver).getPayoutPolicy()).toMatchObject({ version: null, status: 'built_in' })
    const proposed = await client(keys.approver).proposePayoutPolicy({
      body: {
        policy: {
          rules: [
            {
              id: 'small-allowed',
              match: { amount: { max: '100' } },
              action: { kind: 'allow' },
            },
            {
              id: 'huge-blocked',
              match: { amount: { min: '700' } },
              action: { kind: 'block', reason: 'too big' },
            },
          ],
          default_action: { kind: 'require_approval', approvals: 1, role: 'approver' },
        },
      },
    })
    expect(proposed).toMatchObject({ version: 1, status: 'proposed', proposed_by: keys.approverId })
    const own = await apiError(
      client(keys.approver).approvePayoutPolicy({
        params: { version: '1' },
        body: { approver_id: people.checker.id, totp_code: code(people.checker.secret) },
      }),
    )
    expect([own.status, own.code]).toEqual([403, 'approver-not-eligible'])
    const missing = await apiError(
      client(keys.approver).approvePayoutPolicy({
        params: { version: '9' },
        body: { approver_id: people.admin.id, totp_code: code(people.admin.secret) },
      }),
    )
    expect([missing.status, missing.code]).toEqual([404, 'policy-version-not-found'])
    const active = await client(keys.approver).approvePayoutPolicy({
      params: { version: '1' },
      body: { approver_id: people.admin.id, totp_code: code(people.admin.secret) },
    })
    expect(active).toMatchObject({ version: 1, status: 'active', approved_by: people.admin.id })
    expect((await client(keys.initiator).getPayoutPolicy()).version).toBe(1)
    expect(await request('5')).toMatchObject({
      status: 'queued',
      decision: { policy_version: 1, rule_id: 'small-allowed', action: 'allow' },
    })
    expect(await request('800')).toMatchObject({
      status: 'blocked',
      decision: { policy_version: 1, rule_id: 'huge-blocked', action: 'block', reason: 'too big' },
    })
  })
})

describe('panic switch and approvers', () => {
  it('needs an admin key, engages and releases per network or for all', async () => {
    const scope = await apiError(client(keys.approver).engagePanic({ body: {} }))
    expect([scope.status, scope.code]).toEqual([403, 'scope-missing'])
    const unknown = await apiError(client(keys.admin).engagePanic({ body: { network: 'nowhere' } }))
    expect([unknown.status, unknown.code]).toEqual([422, 'network-unknown'])
    expect(await client(keys.admin).engagePanic({ body: { network: networkName, reason: 'drill' } })).toEqual(
      {
        network: networkName,
        engaged: true,
      },
    )
    expect(await isPanicEngaged(pool, merchantId, networkName)).toBe(true)
    expect(await client(keys.admin).releasePanic({ body: { network: networkName } })).toEqual({
      network: networkName,
      engaged: false,
    })
    expect(await isPanicEngaged(pool, merchantId, networkName)).toBe(false)
    await client(keys.admin).engagePanic({ body: {} })
    expect(await isPanicEngaged(pool, merchantId, networkName)).toBe(true)
    await client(keys.admin).releasePanic()
    expect(await isPanicEngaged(pool, merchantId, networkName)).toBe(false)
  })

  it('shows the TOTP secret once: a replay names the approver without it, and it is not stored', async () => {
    const input = { body: { name: 'Late', roles: ['approver' as const] }, idempotencyKey: 'enrol-late' }
    const first = await client(keys.admin).send(enrolPayoutApprover, input)
    expect(first.data.totp_secret).toMatch(/^[A-Z2-7]+$/)
    const replay = await client(keys.admin).send(enrolPayoutApprover, input)
    expect(replay.replayed).toBe(true)
    expect(replay.data).toEqual({ ...first.data, totp_secret: null })
    const stored = await pool.query(
      'select response_body::text as body from idempotency_keys where key = $1',
      ['enrol-late'],
    )
    expect(String(stored.rows[0]?.body)).not.toContain(first.data.totp_secret ?? 'x')
  })
})
