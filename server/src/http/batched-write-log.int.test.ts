import { randomBytes, randomUUID } from 'node:crypto'
import { createSluiceClient } from '@sluice/sdk/client'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../test/setup/database.ts'
import { offlineNetwork } from '../../test/setup/offline-network.ts'
import { createLogger } from '../lib/logger.ts'
import { createRawMasterKeyProvider } from '../modules/keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../modules/keys/key.service.ts'
import { createMerchant } from '../modules/merchants/merchant.service.ts'
import { refillDepositAddressPool } from '../modules/payments/deposit-address.service.ts'
import { buildApp } from './app.ts'
import { createMetrics } from './metrics.ts'

// The warning written when a batched write fails logs the pg error, and pino's err serializer copies
// every enumerable field of it: `detail` ("Failing row contains (…)") must be redacted.
const network = offlineNetwork({
  name: 'testnet',
  tokenAddress: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
  confirmations: 2,
})
const provider = createRawMasterKeyProvider(randomBytes(32))
const lines: Record<string, unknown>[] = []
let database: TestDatabase
let app: FastifyInstance
let baseUrl = ''
let apiKey = ''

beforeAll(async () => {
  database = await createTestDatabase()
  await initKeys(database.pool, provider)
  const store = await createMerchant(database.pool, { name: 'Batched Log Store' })
  apiKey = store.apiKey.key
  await exportAccountXpub(database.pool, provider, store.merchant.id)
  await refillDepositAddressPool(database.pool, store.merchant.id)
  app = await buildApp({
    pool: database.pool,
    logger: createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) }),
    metrics: createMetrics(),
    networks: [network],
    api: { rateLimit: { requestsPerSecond: 10_000, burst: 10_000, bucketsMax: 100 } },
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

describe('batched write failure warning', () => {
  it("does not copy the failing row's values (the buyer's data in metadata, the redirect URL) into the log", async () => {
    // Any constraint the row breaks makes PostgreSQL describe the whole row in `detail`.
    await database.pool.query('alter table invoices drop constraint if exists test_refuse_logged')
    await database.pool.query(
      "alter table invoices add constraint test_refuse_logged check (description is distinct from 'refuse me')",
    )
    const client = createSluiceClient({ baseUrl, apiKey })
    await client
      .createInvoice({
        body: {
          amount: '1',
          currency: 'USDT',
          description: 'refuse me',
          redirect_url: 'https://shop.example/return?session=shop-session-s3cr3t',
          metadata: { buyer_email: 'buyer@example.com' },
        },
        idempotencyKey: randomUUID(),
      })
      .catch(() => undefined)
    const warning = lines.find(
      (line) => line.operation === 'createInvoice' && line.msg === 'a one-statement write failed',
    )
    expect(warning).toBeDefined()
    // Nothing the suite logged for it (the warning, the request's own error line) quotes the row.
    const text = JSON.stringify(lines)
    expect(text).not.toContain('buyer@example.com')
    expect(text).not.toContain('shop-session-s3cr3t')
  })
})
