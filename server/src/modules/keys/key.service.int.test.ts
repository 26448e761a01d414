import { mnemonicToSeedSync } from '@scure/bip39'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { testSecrets } from '../../../test/setup/leak-guard.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import { fromBase64, sealSecret, toBase64 } from './key.envelope.ts'
import { deriveAccountXpub, deriveEvmAddress } from './key.hd.ts'
import {
  createEnvironmentMasterKeyProvider,
  createInProcessKmsClientForTests,
  createKmsMasterKeyProvider,
  createPassphraseMasterKeyProvider,
} from './key.master.ts'
import {
  deriveDepositAddress,
  deriveEvmPrivateKey,
  exportAccountXpub,
  getAccountXpub,
  initKeys,
  revealBackupMnemonicOnce,
  rotateMasterKey,
} from './key.service.ts'
import type { MasterKeyProvider } from './key.types.ts'

const firstKey = createEnvironmentMasterKeyProvider(testSecrets.masterKeyHex)
const secondKey = createEnvironmentMasterKeyProvider(testSecrets.secondMasterKeyHex)
const testSeed = mnemonicToSeedSync(testSecrets.mnemonic)

/** Counts unwraps, to prove which calls decrypt the seed. */
function counting(provider: MasterKeyProvider) {
  const counter = { unwraps: 0 }
  const wrapped: MasterKeyProvider = {
    id: provider.id,
    wrap: (dataKey) => provider.wrap(dataKey),
    unwrap: (key) => {
      counter.unwraps += 1
      return provider.unwrap(key)
    },
  }
  return { provider: wrapped, counter }
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
  } catch (error) {
    return (error as { code?: string }).code
  }
  return undefined
}

async function newMerchantId(database: TestDatabase, name = 'Shop'): Promise<string> {
  return (await createMerchant(database.pool, { name })).merchant.id
}

type StoredSecret = {
  id: string
  envelope: Record<string, unknown>
  master_key_id: string
  rotated_at: Date | null
}
async function readSecrets(database: TestDatabase): Promise<StoredSecret[]> {
  return (await database.pool.query<StoredSecret>('select * from secrets order by id')).rows
}

describe('keys service with an imported test mnemonic', () => {
  let database: TestDatabase
  beforeAll(async () => {
    database = await createTestDatabase({ poolSizeMax: 12 })
  })
  afterAll(async () => {
    await database.drop()
  })

  it('initialises once and refuses to overwrite', async () => {
    const result = await initKeys(database.pool, firstKey, { mnemonic: testSecrets.mnemonic })
    expect(result).toMatchObject({ masterKeyId: firstKey.id, backup: 'imported' })
    expect(result.secretId).toMatch(/^sec_[0-9A-Z]{26}$/)
    expect(await codeOf(initKeys(database.pool, firstKey))).toBe('keys-already-initialised')
    expect(await codeOf(initKeys(database.pool, firstKey, { mnemonic: testSecrets.mnemonic }))).toBe(
      'keys-already-initialised',
    )
    // Imported phrases are the operator's own backup: nothing to reveal.
    expect(await codeOf(revealBackupMnemonicOnce(database.pool, firstKey))).toBe('mnemonic-already-revealed')
    const [stored] = await readSecrets(database)
    expect(stored?.master_key_id).toBe(firstKey.id)
    expect(JSON.stringify(stored?.envelope)).not.toContain(Buffer.from(testSeed).toString('hex'))
  })

  it('exports the account xpub once, then serves it without decrypting anything', async () => {
    const merchantId = await newMerchantId(database)
    const { provider, counter } = counting(firstKey)
    const account = await exportAccountXpub(database.pool, provider, merchantId)
    expect(account).toMatchObject({ merchantId, accountIndex: 0, xpub: deriveAccountXpub(testSeed, 0) })
    expect(counter.unwraps).toBe(1)
    expect(await exportAccountXpub(database.pool, provider, merchantId)).toEqual(account)
    expect(counter.unwraps).toBe(1)
    expect(await getAccountXpub(database.pool, merchantId)).toEqual(account)
    expect(await deriveDepositAddress(database.pool, merchantId, 0)).toBe(
      '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    )
    expect(await deriveDepositAddress(database.pool, merchantId, 1)).toBe(
      '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    )
  })

  it('reports unknown merchants and accounts without leaving a gap in the allocation', async () => {
    expect(await codeOf(getAccountXpub(database.pool, 'mer_unknown'))).toBe('hd-account-not-found')
    expect(await codeOf(exportAccountXpub(database.pool, firstKey, 'mer_unknown'))).toBe('merchant-not-found')
    const next = await exportAccountXpub(database.pool, firstKey, await newMerchantId(database))
    expect(next.accountIndex).toBe(1)
  })

  it('allocates distinct, gap-free accounts to 20 merchants asking at once', async () => {
    const merchantIds = await Promise.all(
      Array.from({ length: 20 }, (_, n) => newMerchantId(database, `Shop ${n}`)),
    )
    // Each merchant asks twice concurrently, too: one account per merchant, whatever the interleaving.
    const accounts = await Promise.all(
      [...merchantIds, ...merchantIds].map((id) => exportAccountXpub(database.pool, firstKey, id)),
    )
    const byMerchant = new Map(accounts.map((account) => [account.merchantId, account]))
    expect(byMerchant.size).toBe(20)
    for (const account of accounts) expect(byMerchant.get(account.merchantId)).toEqual(account)
    const indexes = [...byMerchant.values()].map((account) => account.accountIndex).sort((a, b) => a - b)
    expect(indexes).toEqual(Array.from({ length: 20 }, (_, n) => n + 2))
    for (const account of byMerchant.values())
      expect(account.xpub).toBe(deriveAccountXpub(testSeed, account.accountIndex))
    const rows = await database.pool.query('select count(*)::int as count from hd_accounts')
    expect(rows.rows[0]).toEqual({ count: 22 })
  })

  it('never lets an account mapping change', async () => {
    const error = await database.pool
      .query('update hd_accounts set account_index = 999 where account_index = 0')
      .catch((e) => e)
    expect(error).toMatchObject({ code: '23001' })
  })

  it('derives signer keys by path and rejects other paths', async () => {
    const key = await deriveEvmPrivateKey(database.pool, firstKey, "m/44'/60'/0'/0/1")
    expect(key).toEqual({
      path: "m/44'/60'/0'/0/1",
      address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      privateKey: testSecrets.privateKey1,
    })
    expect(await codeOf(deriveEvmPrivateKey(database.pool, firstKey, "m/44'/60'/0'/1/0"))).toBe(
      'key-path-invalid',
    )
    expect(await codeOf(deriveEvmPrivateKey(database.pool, secondKey, "m/44'/60'/0'/0/0"))).toBe(
      'secret-decryption-failed',
    )
  })

  it('rotates the master key: same ciphertext, readable with the new key only', async () => {
    const [before] = await readSecrets(database)
    expect(await codeOf(rotateMasterKey(database.pool, firstKey, firstKey))).toBe('master-key-unchanged')
    const rotation = await rotateMasterKey(database.pool, firstKey, secondKey)
    expect(rotation).toEqual({ rotated: 1, fromMasterKeyId: firstKey.id, toMasterKeyId: secondKey.id })
    const [after] = await readSecrets(database)
    expect(after?.master_key_id).toBe(secondKey.id)
    expect(after?.rotated_at).toBeInstanceOf(Date)
    for (const field of ['iv', 'ciphertext', 'tag', 'associatedData', 'version', 'algorithm']) {
      expect(after?.envelope[field]).toEqual(before?.envelope[field])
    }
    expect(after?.envelope.dataKey).not.toEqual(before?.envelope.dataKey)
    const path = "m/44'/60'/0'/0/0"
    expect((await deriveEvmPrivateKey(database.pool, secondKey, path)).privateKey).toBe(
      testSecrets.privateKey0,
    )
    expect(await codeOf(deriveEvmPrivateKey(database.pool, firstKey, path))).toBe('secret-decryption-failed')
    expect(await codeOf(exportAccountXpub(database.pool, firstKey, await newMerchantId(database)))).toBe(
      'secret-decryption-failed',
    )
    // A stale operator repeating the old rotation changes nothing.
    expect(await codeOf(rotateMasterKey(database.pool, firstKey, secondKey))).toBe('secret-decryption-failed')
    expect((await readSecrets(database))[0]?.envelope).toEqual(after?.envelope)
  })

  it('rotates across sources (passphrase, KMS) and back', async () => {
    const passphrase = createPassphraseMasterKeyProvider(testSecrets.passphrase, {
      label: 'rotation',
      cost: { n: 2 ** 15, r: 8, p: 1 },
    })
    const kms = createKmsMasterKeyProvider(createInProcessKmsClientForTests())
    await rotateMasterKey(database.pool, secondKey, passphrase)
    await rotateMasterKey(database.pool, passphrase, kms)
    await rotateMasterKey(database.pool, kms, firstKey)
    expect((await deriveEvmPrivateKey(database.pool, firstKey, "m/44'/60'/0'/0/0")).privateKey).toBe(
      testSecrets.privateKey0,
    )
  })

  it('rotates all secrets or none', async () => {
    const broken = await sealSecret(new Uint8Array([7, 7, 7]), 'sec_zz_broken', firstKey)
    const tag = fromBase64(broken.tag)
    tag[0] = (tag[0] ?? 0) ^ 1
    await database.pool.query(
      `insert into secrets (id, kind, envelope, master_key_id) values ('sec_zz_broken', 'test-secret', $1, $2)`,
      [JSON.stringify({ ...broken, tag: toBase64(tag) }), firstKey.id],
    )
    const before = await readSecrets(database)
    expect(await codeOf(rotateMasterKey(database.pool, firstKey, secondKey))).toBe('secret-decryption-failed')
    expect(await readSecrets(database)).toEqual(before)
    await database.pool.query(`delete from secrets where id = 'sec_zz_broken'`)
  })
})

describe('keys service with a generated seed', () => {
  let database: TestDatabase
  beforeAll(async () => {
    database = await createTestDatabase()
  })
  afterAll(async () => {
    await database.drop()
  })

  it('needs initialisation before any key use', async () => {
    const merchantId = await newMerchantId(database)
    expect(await codeOf(exportAccountXpub(database.pool, firstKey, merchantId))).toBe('keys-not-initialised')
    expect(await codeOf(revealBackupMnemonicOnce(database.pool, firstKey))).toBe('keys-not-initialised')
    expect(await codeOf(deriveEvmPrivateKey(database.pool, firstKey, "m/44'/60'/0'/0/0"))).toBe(
      'keys-not-initialised',
    )
  })

  it('lets exactly one of two concurrent inits win', async () => {
    const outcomes = await Promise.allSettled([
      initKeys(database.pool, firstKey),
      initKeys(database.pool, firstKey),
    ])
    const fulfilled = outcomes.filter((outcome) => outcome.status === 'fulfilled')
    const rejected = outcomes.filter((outcome) => outcome.status === 'rejected')
    expect(fulfilled).toHaveLength(1)
    expect(fulfilled[0]?.value).toMatchObject({ backup: 'pending' })
    expect(rejected.map((outcome) => (outcome.reason as { code?: string }).code)).toEqual([
      'keys-already-initialised',
    ])
    expect(await readSecrets(database)).toHaveLength(1)
  })

  it('shows the backup phrase exactly once, and it regenerates the same accounts', async () => {
    const mnemonic = await revealBackupMnemonicOnce(database.pool, firstKey)
    expect(mnemonic.split(' ')).toHaveLength(24)
    expect(await codeOf(revealBackupMnemonicOnce(database.pool, firstKey))).toBe('mnemonic-already-revealed')
    const account = await exportAccountXpub(
      database.pool,
      firstKey,
      (await database.pool.query<{ id: string }>('select id from merchants limit 1')).rows[0]?.id ?? '',
    )
    const recovered = deriveAccountXpub(mnemonicToSeedSync(mnemonic), account.accountIndex)
    expect(account.xpub).toBe(recovered)
    expect(deriveEvmAddress(account.xpub, 5)).toBe(deriveEvmAddress(recovered, 5))
  })
})
