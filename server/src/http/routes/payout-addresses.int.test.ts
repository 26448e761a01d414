import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPayoutBatch } from '@sluice/sdk/api/payouts'
import { createSluiceClient, SluiceApiError, type SluiceClient } from '@sluice/sdk/client'
import type { FastifyInstance } from 'fastify'
import { type Address, getAddress } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { offlineNetwork } from '../../../test/setup/offline-network.ts'
import type { Pool } from '../../db/pool.ts'
import { createLogger } from '../../lib/logger.ts'
import {
  createTransfer,
  getOrCreateAccount,
  getOrCreateSystemAccount,
} from '../../modules/ledger/ledger.service.ts'
import { createMerchant, issueApiKey } from '../../modules/merchants/merchant.service.ts'
import { listPayoutAudit } from '../../modules/payouts/payout.service.ts'
import { importSanctionLists } from '../../modules/sanctions/sanction.service.ts'
import { buildApp } from '../app.ts'
import { createMetrics } from '../metrics.ts'

// The payout address book, the store's payout settings and batch requests through the SDK on a real
// Fastify server and PostgreSQL (docs/adr/0015-batch-and-canary-payouts.md). No chain: requests only.
const networkName = 'testnet'
const network = offlineNetwork({
  name: networkName,
  tokenAddress: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
  confirmations: 2,
})

let database: TestDatabase
let pool: Pool
let app: FastifyInstance
let baseUrl = ''
let merchantId = ''
let clockMs = Date.now()
const keys = { admin: '', initiator: '', otherAdmin: '' }
const client = (apiKey: string): SluiceClient => createSluiceClient({ baseUrl, apiKey })
const newDestination = (): Address => getAddress(privateKeyToAddress(`0x${randomBytes(32).toString('hex')}`))

async function apiError(promise: Promise<unknown>): Promise<SluiceApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!(error instanceof SluiceApiError)) throw new Error(`expected a SluiceApiError, got ${String(error)}`)
  return error
}

const pay = (destination: string, amount = '1') =>
  client(keys.initiator).createPayout({ body: { network: networkName, asset: 'USDT', destination, amount } })

beforeAll(async () => {
  database = await createTestDatabase()
  pool = database.pool
  const store = await createMerchant(pool, { name: 'Address Book Store' })
  merchantId = store.merchant.id
  keys.admin = store.apiKey.key
  keys.otherAdmin = (await createMerchant(pool, { name: 'Other Store' })).apiKey.key
  keys.initiator = (
    await issueApiKey(pool, { merchantId, label: 'initiator', scopes: ['payouts:write', 'payouts:read'] })
  ).key
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
  const assetId = `USDT@${networkName}`
  await createTransfer(pool, {
    kind: 'single',
    id: 'fund:address-book',
    debitAccountId: (await getOrCreateSystemAccount(pool, 'hot-wallet', assetId)).id,
    creditAccountId: (
      await getOrCreateAccount(pool, {
        ownerType: 'merchant',
        ownerId: merchantId,
        purpose: 'available',
        assetId,
        normalSide: 'credit',
        flags: { debitsMustNotExceedCredits: true },
      })
    ).id,
    assetId,
    amount: 10n ** 12n,
    code: 'test-funding',
  })
  const listDirectory = mkdtempSync(join(tmpdir(), 'sluice-sanctions-'))
  chmodSync(listDirectory, 0o755)
  const list = join(listDirectory, 'sanctioned_addresses_ETH.txt')
  writeFileSync(list, `${getAddress('0x000000000000000000000000000000000000dead')}\n`)
  await importSanctionLists(pool, [list])
})

afterAll(async () => {
  await app?.close()
  await database?.drop()
})

describe('address book', () => {
  it('validates addresses: EIP-55 only, Tron and foreign formats refused with the path', async () => {
    for (const address of ['TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t', newDestination().toLowerCase(), 'bc1qxyz']) {
      const refused = await apiError(client(keys.admin).createPayoutAddress({ body: { address } }))
      expect([refused.status, refused.code, refused.errors[0]?.path]).toEqual([
        422,
        'destination-invalid',
        'body.address',
      ])
    }
    const network = await apiError(
      client(keys.admin).createPayoutAddress({ body: { address: newDestination(), network: 'nowhere' } }),
    )
    expect([network.status, network.code]).toEqual([422, 'network-unknown'])
    const customer = await apiError(
      client(keys.admin).createPayoutAddress({
        body: { address: newDestination(), customer_id: 'cus_01JAAAAAAAAAAAAAAAAAAAAAAA' },
      }),
    )
    expect([customer.status, customer.code]).toEqual([422, 'customer-not-found'])
    const scope = await apiError(
      client(keys.initiator).createPayoutAddress({ body: { address: newDestination() } }),
    )
    expect(scope.status).toBe(403)
  })

  it('a new entry cools down 24 h: refused until then, paid after; every change is audited', async () => {
    const address = newDestination()
    // A customer row without a deposit address (the customers API needs the store's xpub).
    const customer = { id: 'cus_01JBBBBBBBBBBBBBBBBBBBBBBB' }
    await pool.query('insert into customers (id, merchant_id, external_id) values ($1, $2, $3)', [
      customer.id,
      merchantId,
      'cust-1',
    ])
    const entry = await client(keys.admin).createPayoutAddress({
      body: { address, label: 'Alice', customer_id: customer.id, network: networkName },
    })
    expect(entry).toMatchObject({ address, label: 'Alice', customer_id: customer.id, whitelisted: false })
    expect(Date.parse(entry.cooldown_until ?? '')).toBe(clockMs + 86_400_000)
    const taken = await apiError(client(keys.admin).createPayoutAddress({ body: { address } }))
    expect([taken.status, taken.code]).toEqual([409, 'address-book-entry-exists'])
    const cooling = await apiError(pay(address))
    expect([cooling.status, cooling.code, cooling.errors[0]?.path]).toEqual([
      409,
      'destination-cooling-down',
      'body.destination',
    ])
    clockMs += 86_400_000 - 1_000
    expect((await apiError(pay(address))).code).toBe('destination-cooling-down')
    clockMs += 1_000
    expect((await pay(address)).status).toBe('pending_approval')
    const updated = await client(keys.admin).updatePayoutAddress({
      params: { id: entry.id },
      body: { label: 'Alice (cold)', whitelisted: true },
    })
    expect(updated).toMatchObject({ label: 'Alice (cold)', whitelisted: true })
    const listed = await client(keys.initiator).listPayoutAddresses({ query: { customer_id: customer.id } })
    expect(listed.data.map((item) => item.id)).toEqual([entry.id])
    const foreign = await apiError(client(keys.otherAdmin).getPayoutAddress({ params: { id: entry.id } }))
    expect([foreign.status, foreign.code]).toEqual([404, 'address-book-entry-not-found'])
    expect(await client(keys.admin).deletePayoutAddress({ params: { id: entry.id } })).toEqual({
      id: entry.id,
      deleted: true,
    })
    const audit = (await listPayoutAudit(pool, entry.id)).map((item) => item.action)
    expect(audit).toEqual(['address-book.added', 'address-book.updated', 'address-book.removed'])
  })

  it('whitelist-only mode refuses addresses not in the book (or only in it for another network)', async () => {
    const settings = await client(keys.admin).updatePayoutSettings({
      body: { whitelist_only: true, cooldown_seconds: 60 },
    })
    expect(settings).toMatchObject({ whitelist_only: true, cooldown_seconds: 60 })
    const stranger = await apiError(pay(newDestination()))
    expect([stranger.status, stranger.code]).toEqual([403, 'destination-not-in-address-book'])
    const known = newDestination()
    await client(keys.admin).createPayoutAddress({ body: { address: known } })
    expect((await apiError(pay(known))).code).toBe('destination-cooling-down')
    clockMs += 60_000
    expect((await pay(known)).status).toBe('pending_approval')
    const invalid = await apiError(
      client(keys.admin).updatePayoutSettings({ body: { canary_threshold: '5', canary_amount: '5' } }),
    )
    expect([invalid.status, invalid.code, invalid.errors[0]?.path]).toEqual([
      422,
      'payout-settings-invalid',
      'body.canary_amount',
    ])
    const long = await apiError(
      client(keys.admin).updatePayoutSettings({ body: { cooldown_seconds: 2_592_001 } }),
    )
    expect(long.status).toBe(422)
    await client(keys.admin).updatePayoutSettings({ body: { whitelist_only: false } })
    expect((await client(keys.initiator).getPayoutSettings()).whitelist_only).toBe(false)
    const audit = (await listPayoutAudit(pool, `payout-settings:${merchantId}`)).map((item) => item.action)
    expect(audit).toEqual(['payout-settings.changed', 'payout-settings.changed'])
  })
})

describe('POST /v1/payouts/batch', () => {
  it('creates one payout per item under one Idempotency-Key, replays, refuses a bad item with its path', async () => {
    type Item = {
      network: string
      asset: string
      destination: string
      amount: string
      external_reference?: string
    }
    const items: Item[] = Array.from({ length: 5 }, (_, index) => ({
      network: networkName,
      asset: 'USDT',
      destination: newDestination(),
      amount: `${index + 1}`,
      external_reference: `batch-1-${index}`,
    }))
    const first = await client(keys.initiator).send(createPayoutBatch, {
      body: { items },
      idempotencyKey: 'batch-1',
    })
    expect(first.status).toBe(201)
    expect(first.data.data.map((payout) => payout.amount)).toEqual(['1', '2', '3', '4', '5'])
    const again = await client(keys.initiator).send(createPayoutBatch, {
      body: { items },
      idempotencyKey: 'batch-1',
    })
    expect([again.replayed, again.data]).toEqual([true, first.data])
    const count = await pool.query(
      "select count(*)::int as n from payouts where external_reference like 'batch-1-%'",
    )
    expect(count.rows[0].n).toBe(5)
    const bad = await apiError(
      client(keys.initiator).createPayoutBatch({
        body: {
          items: [
            { ...(items[0] as Item), external_reference: 'fresh-0' },
            {
              ...(items[1] as Item),
              external_reference: 'fresh-1',
              destination: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t',
            },
          ],
        },
      }),
    )
    expect([bad.status, bad.code, bad.errors[0]?.path]).toEqual([
      422,
      'destination-invalid',
      'body.items.1.destination',
    ])
    const repeated = await apiError(
      client(keys.initiator).createPayoutBatch({
        body: {
          items: [
            { ...(items[0] as Item), external_reference: 'dup', destination: newDestination() },
            { ...(items[0] as Item), external_reference: 'dup', destination: newDestination() },
          ],
        },
      }),
    )
    expect([repeated.status, repeated.code, repeated.errors[0]?.path]).toEqual([
      409,
      'payout-reference-taken',
      'body.items.1',
    ])
    const tooMany = await apiError(
      client(keys.initiator).createPayoutBatch({
        body: { items: Array.from({ length: 1_001 }, () => items[0] as Item) },
      }),
    )
    expect([tooMany.status, tooMany.code]).toEqual([422, 'validation-failed'])
    const none = await pool.query(
      "select count(*)::int as n from payouts where external_reference in ('dup', 'fresh-0', 'fresh-1')",
    )
    expect(none.rows[0].n).toBe(0)
  })
})
