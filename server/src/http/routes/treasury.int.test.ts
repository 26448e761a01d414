import { createSluiceClient, SluiceApiError, type SluiceClient } from '@sluice/sdk/client'
import type { FastifyInstance } from 'fastify'
import type { Address } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { offlineNetwork } from '../../../test/setup/offline-network.ts'
import { createLogger } from '../../lib/logger.ts'
import { createMerchant, issueApiKey } from '../../modules/merchants/merchant.service.ts'
import { enrolApprover } from '../../modules/payouts/payout.service.ts'
import { totpAt } from '../../modules/payouts/payout.totp.ts'
import { watchTreasury } from '../../modules/treasury/treasury.service.ts'
import { buildApp } from '../app.ts'
import { createMetrics } from '../metrics.ts'

// The treasury API through the SDK on a real Fastify and PostgreSQL; balances come from a fake reader (the
// chain side is treasury.int.test.ts on anvil).
const usdtAddress = '0x5fbdb2315678afecb367f032d93f642f64180aa3'
const hot = '0x00000000000000000000000000000000000000aa' as Address
const cold = '0x00000000000000000000000000000000000000cc' as Address
const network = offlineNetwork({
  name: 'testnet',
  tokenAddress: usdtAddress,
  confirmations: 2,
  treasury: { coldAddress: cold, hotWallet: { USDT: { floorMinor: 100n, ceilingMinor: 1_000n } } },
})

let database: TestDatabase
let app: FastifyInstance
let baseUrl = ''
let clockMs = Date.now()
const keys = { reader: '', approver: '', none: '' }
let treasurer = { id: '', secret: '' }
let checker = { id: '', secret: '' }
const client = (apiKey: string): SluiceClient => createSluiceClient({ baseUrl, apiKey })
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

async function watchWith(hotBalance: bigint): Promise<void> {
  await watchTreasury({
    pool: database.pool,
    logger: createLogger('silent'),
    chain: { network, tokenBalance: async (_token, holder) => (holder === hot ? hotBalance : 5_000n) },
    hotWalletAddress: hot,
    now: () => new Date(clockMs),
  })
}

beforeAll(async () => {
  database = await createTestDatabase()
  const store = await createMerchant(database.pool, { name: 'Treasury API Store' })
  const merchantId = store.merchant.id
  keys.none = (await issueApiKey(database.pool, { merchantId, label: 'none', scopes: ['invoices:read'] })).key
  keys.reader = (await issueApiKey(database.pool, { merchantId, label: 'r', scopes: ['payouts:read'] })).key
  keys.approver = (
    await issueApiKey(database.pool, { merchantId, label: 'a', scopes: ['payouts:approve', 'payouts:read'] })
  ).key
  const enrolledTreasurer = await enrolApprover(database.pool, {
    merchantId,
    name: 'T',
    roles: ['treasurer'],
  })
  treasurer = { id: enrolledTreasurer.approver.id, secret: enrolledTreasurer.totpSecret }
  const enrolledChecker = await enrolApprover(database.pool, { merchantId, name: 'C', roles: ['approver'] })
  checker = { id: enrolledChecker.approver.id, secret: enrolledChecker.totpSecret }
  app = await buildApp({
    pool: database.pool,
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
})

afterAll(async () => {
  await app?.close()
  await database?.drop()
})

describe('treasury API', () => {
  it('lists balances with the band and proposals (payouts:read); other scopes are refused', async () => {
    await watchWith(1_500n)
    const balances = await client(keys.reader).listTreasuryBalances({})
    expect(balances.data).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          wallet: 'hot',
          balance_minor: '1500',
          floor_minor: '100',
          ceiling_minor: '1000',
        }),
        expect.objectContaining({ wallet: 'cold', address: cold, balance_minor: '5000', floor_minor: null }),
      ]),
    )
    const page = await client(keys.reader).listTreasuryProposals({ query: { status: 'open' } })
    expect(page.data).toHaveLength(1)
    expect(page.data[0]).toMatchObject({ kind: 'sweep_to_cold', amount_minor: '500', cold_address: cold })
    expect((await apiError(client(keys.none).listTreasuryProposals({}))).status).toBe(403)
  })

  it('a treasurer approves quoting the revision; stale, wrong role and reused codes are refused', async () => {
    const [proposal] = (await client(keys.reader).listTreasuryProposals({ query: { status: 'open' } })).data
    if (proposal === undefined) throw new Error('no proposal')
    const decide = (body: { revision: number; approver_id: string; totp_code: string }) =>
      client(keys.approver).approveTreasuryProposal({ params: { id: proposal.id }, body })
    expect(
      (
        await apiError(
          decide({
            revision: proposal.revision + 1,
            approver_id: treasurer.id,
            totp_code: code(treasurer.secret),
          }),
        )
      ).code,
    ).toBe('treasury-proposal-old-revision')
    expect(
      (
        await apiError(
          decide({ revision: proposal.revision, approver_id: checker.id, totp_code: code(checker.secret) }),
        )
      ).code,
    ).toBe('approver-not-eligible')
    const approved = await decide({
      revision: proposal.revision,
      approver_id: treasurer.id,
      totp_code: code(treasurer.secret),
    })
    expect(approved).toMatchObject({ status: 'approved', decided_by: treasurer.id })
    expect(
      (
        await apiError(
          decide({
            revision: approved.revision,
            approver_id: treasurer.id,
            totp_code: code(treasurer.secret),
          }),
        )
      ).code,
    ).toBe('treasury-proposal-not-approvable')
    expect(
      (
        await apiError(
          client(keys.reader).approveTreasuryProposal({
            params: { id: proposal.id },
            body: { revision: approved.revision, approver_id: treasurer.id, totp_code: '123456' },
          }),
        )
      ).status,
    ).toBe(403)
  })
})
