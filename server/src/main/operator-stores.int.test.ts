import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSluiceClient, SluiceApiError } from '@sluice/sdk/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../test/setup/database.ts'
import { offlineNetwork } from '../../test/setup/offline-network.ts'
import type { Config } from '../config/config.types.ts'
import { createMerchant, resolveOperatorStores } from '../modules/merchants/merchant.service.ts'
import { StartupError, startRuntime } from './runtime.ts'

// Config `operatorStores` at start (docs/adr/0026-operator-store.md): an API process does not start with a
// store that is not in its database, serves the treasury to the listed stores only, and on a devnet
// without the setting treats the demo store as the operator's.
let database: TestDatabase
let operator = { id: '', key: '' }
let other = { id: '', key: '' }

beforeAll(async () => {
  database = await createTestDatabase()
  const created = await createMerchant(database.pool, { name: 'Operator Store' })
  operator = { id: created.merchant.id, key: created.apiKey.key }
  const seller = await createMerchant(database.pool, { name: 'Seller' })
  other = { id: seller.merchant.id, key: seller.apiKey.key }
})

afterAll(async () => {
  await database?.drop()
})

function apiConfig(operatorStores: readonly string[] | undefined): Config {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-operator-stores-'))
  return {
    databaseUrl: database.url,
    httpHost: '127.0.0.1',
    httpPort: 0,
    trustedProxies: [],
    operatorStores,
    dataDir,
    logLevel: 'silent',
    networks: [
      offlineNetwork({ name: 'testnet', tokenAddress: '0x5fbdb2315678afecb367f032d93f642f64180aa3' }),
    ],
    devnet: { blockTimeMs: {}, persistState: false },
    secrets: { masterKeyFile: undefined, keystoreDir: join(dataDir, 'keystore') },
    natsUrl: undefined,
    webhooks: { allowLocalEndpoints: undefined },
    rates: {},
  }
}

describe('operator stores at start', () => {
  it('stops the start on a store id that is not in the database, naming it', async () => {
    const missing = 'mer_01KAR000000000000000000009'
    const started = await startRuntime(apiConfig([operator.id, missing]), 'api').then(
      async (runtime) => {
        await runtime.shutdown()
        return undefined
      },
      (error: unknown) => error,
    )
    expect(started).toBeInstanceOf(StartupError)
    expect((started as StartupError).message).toBe(
      `operatorStores: no store ${missing} in this database (a typo, or the wrong database): the treasury ` +
        'would be left to no one',
    )
  })

  it('serves the treasury to the listed store and refuses the others', async () => {
    const runtime = await startRuntime(apiConfig([operator.id]), 'api')
    try {
      const client = (apiKey: string) => createSluiceClient({ baseUrl: runtime.apiUrl ?? '', apiKey })
      expect(await client(operator.key).listTreasuryBalances({})).toEqual({ data: [] })
      const refused = await client(other.key)
        .listTreasuryBalances({})
        .catch((error: unknown) => error)
      expect(refused).toBeInstanceOf(SluiceApiError)
      expect((refused as SluiceApiError).code).toBe('treasury-operator-only')
    } finally {
      await runtime.shutdown()
    }
  })

  it('resolves an unset setting to the demo store on a devnet, and to no store elsewhere', async () => {
    const resolve = async (configured: readonly string[] | undefined, devnet: boolean) => {
      const resolved = await resolveOperatorStores(database.pool, { configured, devnet })
      return { stores: [...resolved.stores], unknown: resolved.unknown }
    }
    expect(await resolve(undefined, true)).toEqual({ stores: [], unknown: [] })
    const demo = await createMerchant(database.pool, { name: 'Demo Store', isDemo: true })
    expect(await resolve(undefined, true)).toEqual({ stores: [demo.merchant.id], unknown: [] })
    expect(await resolve(undefined, false)).toEqual({ stores: [], unknown: [] })
    // Set, it is what it says, on a devnet too: the demo store is not added.
    expect(await resolve([operator.id], true)).toEqual({ stores: [operator.id], unknown: [] })
  })
})
