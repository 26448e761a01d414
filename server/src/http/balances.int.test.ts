import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { StatementLine } from '@sluice/sdk/api/balances'
import { pageSizeMax } from '@sluice/sdk/api/common'
import { apiOperations } from '@sluice/sdk/api/contract'
import { operationErrors } from '@sluice/sdk/api/operation'
import { createSluiceClient, SluiceApiError, type SluiceClient } from '@sluice/sdk/client'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../test/setup/database.ts'
import type { NetworkConfig } from '../config/config.types.ts'
import type { Pool } from '../db/pool.ts'
import { createLogger } from '../lib/logger.ts'
import {
  createTransfer,
  getOrCreateAccount,
  getOrCreateSystemAccount,
} from '../modules/ledger/ledger.service.ts'
import type { TransferRequest } from '../modules/ledger/ledger.types.ts'
import { createMerchant, issueApiKey } from '../modules/merchants/merchant.service.ts'
import { buildApp } from './app.ts'
import { createMetrics } from './metrics.ts'
import type { OpenApiDocument } from './openapi.ts'

// The ledger read API end to end: transfers posted through ledger.service, read over HTTP by the SDK.

const network = (name: string, chainId: number, tokens: NetworkConfig['tokens']): NetworkConfig => ({
  name,
  kind: 'evm',
  chainId,
  rpcUrls: ['http://127.0.0.1:1'],
  blockTimeMs: 1_000,
  finality: { kind: 'tag' },
  tokens,
})
const networks = [
  network('ethereum', 1, [{ symbol: 'USDT', contractAddress: `0x${'1'.repeat(40)}`, decimals: 6 }]),
  network('bsc', 56, [{ symbol: 'BSC-USD', contractAddress: `0x${'2'.repeat(40)}`, decimals: 18 }]),
]
const usdt = 'USDT@ethereum'
const bscUsd = 'BSC-USD@bsc'

let database: TestDatabase
let pool: Pool
let app: FastifyInstance
let baseUrl: string
const stores = { a: '', b: '' }
const keys = { adminA: '', adminB: '', ledgerA: '', webhooksA: '' }
const client = (apiKey: string): SluiceClient => createSluiceClient({ baseUrl, apiKey })

beforeAll(async () => {
  database = await createTestDatabase()
  pool = database.pool
  const storeA = await createMerchant(pool, { name: 'Store A' })
  const storeB = await createMerchant(pool, { name: 'Store B' })
  stores.a = storeA.merchant.id
  stores.b = storeB.merchant.id
  keys.adminA = storeA.apiKey.key
  keys.adminB = storeB.apiKey.key
  keys.ledgerA = (await issueApiKey(pool, { merchantId: stores.a, label: 'l', scopes: ['ledger:read'] })).key
  keys.webhooksA = (
    await issueApiKey(pool, { merchantId: stores.a, label: 'w', scopes: ['webhooks:read'] })
  ).key
  const rateLimit = { requestsPerSecond: 10_000, burst: 10_000, bucketsMax: 100 }
  app = await buildApp({
    pool,
    logger: createLogger('silent'),
    metrics: createMetrics(),
    networks,
    api: { assertResponses: true, rateLimit },
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  await postFixtureTransfers()
})

afterAll(async () => {
  await app?.close()
  await database?.drop()
})

// --- ledger fixtures --------------------------------------------------------------------------------------

async function availableAccount(merchantId: string, assetId: string) {
  return await getOrCreateAccount(pool, {
    ownerType: 'merchant',
    ownerId: merchantId,
    purpose: 'available',
    assetId,
    normalSide: 'credit',
    flags: { debitsMustNotExceedCredits: true },
  })
}

const ids: Record<string, string> = {}

/** A transfer request of any kind, without its id (Omit alone would merge the kinds). */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never

async function post(name: string, request: WithoutId<TransferRequest>): Promise<void> {
  const id = `test:${name}:${randomUUID()}`
  ids[name] = id
  await createTransfer(pool, { ...request, id } as TransferRequest)
}

/** Store A: deposits, a reserved payout later posted, a reserved incoming later voided; store B: one deposit. */
async function postFixtureTransfers(): Promise<void> {
  const storeA = await availableAccount(stores.a, usdt)
  const storeB = await availableAccount(stores.b, usdt)
  const deposits = await getOrCreateSystemAccount(pool, 'deposit-clearing', usdt)
  const payouts = await getOrCreateSystemAccount(pool, 'payout-clearing', usdt)
  const single = { kind: 'single', assetId: usdt } as const
  const fromDeposits = { debitAccountId: deposits.id, creditAccountId: storeA.id }
  await post('deposit', {
    ...single,
    ...fromDeposits,
    amount: 12_500_000n,
    code: 'deposit',
    metadata: { tx: '0xab' },
  })
  await post('dust', { ...single, ...fromDeposits, amount: 1n, code: 'deposit' })
  const pending = { kind: 'pending', assetId: usdt, timeoutMs: 3_600_000 } as const
  await post('payout', {
    ...pending,
    debitAccountId: storeA.id,
    creditAccountId: payouts.id,
    amount: 2_250_000n,
    code: 'payout',
  })
  await post('incoming', { ...pending, ...fromDeposits, amount: 1_000_000n, code: 'deposit' })
  await post('payout-posted', { kind: 'post', pendingId: ids.payout ?? '' })
  await post('incoming-voided', { kind: 'void', pendingId: ids.incoming ?? '' })
  await post('store-b', {
    ...single,
    debitAccountId: deposits.id,
    creditAccountId: storeB.id,
    amount: 7n,
    code: 'deposit',
  })

  const bsc = await availableAccount(stores.a, bscUsd)
  const bscDeposits = await getOrCreateSystemAccount(pool, 'deposit-clearing', bscUsd)
  const bscSingle = {
    kind: 'single',
    assetId: bscUsd,
    debitAccountId: bscDeposits.id,
    creditAccountId: bsc.id,
  } as const
  await post('bsc-1', { ...bscSingle, amount: 10n ** 18n + 1n, code: 'deposit' })
  await post('bsc-2', { ...bscSingle, amount: 123_456_789_123_456_789_123_456_789n, code: 'deposit' })
}

async function apiError(promise: Promise<unknown>): Promise<SluiceApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!(error instanceof SluiceApiError)) throw new Error(`expected a SluiceApiError, got ${String(error)}`)
  return error
}

const paths = (error: SluiceApiError) => error.errors.map((detail) => detail.path).sort()

// --- tests ------------------------------------------------------------------------------------------------

describe('GET /v1/balances', () => {
  it("lists each configured asset with the store's balances as exact decimal strings", async () => {
    const balances = await client(keys.ledgerA).listBalances()
    expect(balances.data).toEqual([
      {
        asset: usdt,
        network: 'ethereum',
        symbol: 'USDT',
        decimals: 6,
        // 12.5 + 0.000001 deposited, 2.25 paid out; the 1 USDT reservation was voided.
        available: '10.250001',
        posted: '10.250001',
        pending_incoming: '0',
        pending_outgoing: '0',
      },
      {
        asset: bscUsd,
        network: 'bsc',
        symbol: 'BSC-USD',
        decimals: 18,
        // 1.000000000000000001 + 123456789.123456789123456789, written without trailing zeros.
        available: '123456790.12345678912345679',
        posted: '123456790.12345678912345679',
        pending_incoming: '0',
        pending_outgoing: '0',
      },
    ])
  })

  it('shows reservations as pending and takes outgoing ones off available', async () => {
    const store = await createMerchant(pool, { name: 'Reserving store' })
    const account = await availableAccount(store.merchant.id, usdt)
    const deposits = await getOrCreateSystemAccount(pool, 'deposit-clearing', usdt)
    const payouts = await getOrCreateSystemAccount(pool, 'payout-clearing', usdt)
    const base = { kind: 'single', assetId: usdt, code: 'deposit' } as const
    await post('r-deposit', {
      ...base,
      debitAccountId: deposits.id,
      creditAccountId: account.id,
      amount: 5_000_000n,
    })
    const pending = { kind: 'pending', assetId: usdt, timeoutMs: 3_600_000 } as const
    await post('r-out', {
      ...pending,
      debitAccountId: account.id,
      creditAccountId: payouts.id,
      amount: 1_500_000n,
      code: 'payout',
    })
    await post('r-in', {
      ...pending,
      debitAccountId: deposits.id,
      creditAccountId: account.id,
      amount: 250_000n,
      code: 'deposit',
    })
    const [balance] = (await client(store.apiKey.key).listBalances()).data
    expect(balance).toMatchObject({
      asset: usdt,
      posted: '5',
      available: '3.5',
      pending_incoming: '0.25',
      pending_outgoing: '1.5',
    })
    // Release both so the file's ledger ends without open reservations.
    await post('r-out-void', { kind: 'void', pendingId: ids['r-out'] ?? '' })
    await post('r-in-void', { kind: 'void', pendingId: ids['r-in'] ?? '' })
  })

  it("shows only the calling store's money: zeros where it has none", async () => {
    const balances = (await client(keys.adminB).listBalances()).data
    expect(balances.map((balance) => [balance.asset, balance.available, balance.posted])).toEqual([
      [usdt, '0.000007', '0.000007'],
      [bscUsd, '0', '0'],
    ])
  })

  it('needs ledger:read', async () => {
    for (const call of [
      () => client(keys.webhooksA).listBalances(),
      () => client(keys.webhooksA).getBalanceStatement({ params: { asset: usdt } }),
    ]) {
      const error = await apiError(call())
      expect([error.status, error.code]).toEqual([403, 'scope-missing'])
    }
  })
})

describe('GET /v1/balances/:asset/statement', () => {
  const statement = (
    query: { limit?: number; starting_after?: string } = {},
    asset = usdt,
    key = keys.ledgerA,
  ) => client(key).getBalanceStatement({ params: { asset }, query })

  it('lists the transfers oldest first with the balance after each', async () => {
    const page = await statement({ limit: pageSizeMax })
    expect(page.has_more).toBe(false)
    const rows = page.data.map((line) => [
      line.transfer_id,
      line.kind,
      line.direction,
      line.amount,
      line.code,
      line.balance_after,
      line.available_after,
    ])
    expect(rows).toEqual([
      [ids.deposit, 'single', 'in', '12.5', 'deposit', '12.5', '12.5'],
      [ids.dust, 'single', 'in', '0.000001', 'deposit', '12.500001', '12.500001'],
      [ids.payout, 'pending', 'out', '2.25', 'payout', '12.500001', '10.250001'],
      [ids.incoming, 'pending', 'in', '1', 'deposit', '12.500001', '10.250001'],
      [ids['payout-posted'], 'post', 'out', '2.25', 'payout', '10.250001', '10.250001'],
      [ids['incoming-voided'], 'void', 'in', '1', 'deposit', '10.250001', '10.250001'],
    ])
    expect(page.data[0]?.metadata).toEqual({ tx: '0xab' })
    expect(Date.parse(page.data[0]?.created_at ?? '')).toBeGreaterThan(Date.now() - 600_000)
  })

  it('pages with starting_after, carrying the running balance across pages', async () => {
    const all = (await statement({ limit: pageSizeMax })).data
    const seen: StatementLine[] = []
    let cursor: string | undefined
    for (;;) {
      const page = await statement({ limit: 4, ...(cursor === undefined ? {} : { starting_after: cursor }) })
      seen.push(...page.data)
      if (!page.has_more) break
      cursor = page.data.at(-1)?.transfer_id
    }
    expect(seen).toEqual(all)
    const single = await statement({ limit: 1, starting_after: ids.payout ?? '' })
    expect(single.data.map((line) => [line.transfer_id, line.available_after])).toEqual([
      [ids.incoming, '10.250001'],
    ])
    expect(single.has_more).toBe(true)
  })

  it('writes 18-decimal amounts exactly', async () => {
    const page = await statement({}, bscUsd)
    expect(page.data.map((line) => [line.amount, line.balance_after])).toEqual([
      ['1.000000000000000001', '1.000000000000000001'],
      ['123456789.123456789123456789', '123456790.12345678912345679'],
    ])
  })

  it('bounds limit on both sides', async () => {
    expect((await statement({ limit: pageSizeMax })).data.length).toBeGreaterThan(0)
    for (const limit of [0, pageSizeMax + 1]) {
      const error = await apiError(statement({ limit }))
      expect([error.status, error.code, paths(error)]).toEqual([422, 'validation-failed', ['query.limit']])
    }
  })

  it('refuses a cursor that is not a line of this statement, whoever owns it', async () => {
    for (const cursor of [ids['store-b'] ?? '', 'test:missing', ids['bsc-1'] ?? '']) {
      const error = await apiError(statement({ starting_after: cursor }))
      expect([error.status, paths(error)]).toEqual([422, ['query.starting_after']])
    }
    const malformed = await apiError(statement({ starting_after: 'has space' }))
    expect(paths(malformed)).toEqual(['query.starting_after'])
  })

  it('answers 422 for a malformed asset id and 404 asset-not-found for an unconfigured one', async () => {
    for (const asset of ['usdt', 'USDT@', 'USDT@Ethereum']) {
      const error = await apiError(statement({}, asset))
      expect([asset, error.status, paths(error)]).toEqual([asset, 422, ['params.asset']])
    }
    const unknown = await apiError(statement({}, 'DAI@ethereum'))
    expect([unknown.status, unknown.code]).toEqual([404, 'asset-not-found'])
  })

  it('shows another store only its own lines; an asset without an account is empty', async () => {
    const ofB = await statement({}, usdt, keys.adminB)
    expect(ofB.data.map((line) => [line.transfer_id, line.amount])).toEqual([[ids['store-b'], '0.000007']])
    expect(await statement({}, bscUsd, keys.adminB)).toEqual({ data: [], has_more: false })
  })
})

describe('OpenAPI', () => {
  it('documents both balance operations with their error codes', async () => {
    const document = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as OpenApiDocument
    const operations = apiOperations.filter((operation) => operation.tags.includes('balances'))
    expect(operations.map((operation) => operation.operationId)).toEqual([
      'listBalances',
      'getBalanceStatement',
    ])
    for (const operation of operations) {
      const path = operation.path.replace(/:([a-z_]+)/g, '{$1}')
      const documented = document.paths[path]?.[operation.method.toLowerCase()] as
        | { operationId: string; responses: Record<string, unknown> }
        | undefined
      expect(documented?.operationId).toBe(operation.operationId)
      for (const spec of operationErrors(operation))
        expect(JSON.stringify(documented?.responses[String(spec.status)])).toContain(`"${spec.code}"`)
    }
  })
})
