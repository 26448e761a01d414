import type { Address } from 'viem'
import type { Pool, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { assert } from '../../lib/assert.ts'
import { newId } from '../../lib/ids.ts'
import { openSecret, rewrapEnvelope, sealSecret } from './key.envelope.ts'
import {
  hdAccountNotFound,
  keysAlreadyInitialised,
  keysNotInitialised,
  masterKeyUnchanged,
  merchantNotFound,
  mnemonicAlreadyRevealed,
} from './key.errors.ts'
import {
  deriveAccountXpub,
  deriveEvmAddress,
  deriveEvmSigningKey,
  deriveLowercaseEvmAddress,
  deriveLowercaseEvmAddresses,
  entropyFromMnemonic,
  generateBip39Entropy,
  mnemonicFromEntropy,
  type PublicDerivationEngine,
  parseEvmKeyPath,
  publicDerivationEngine,
  seedFromEntropy,
} from './key.hd.ts'
import {
  findHdAccount,
  findSecretByKind,
  insertHdAccount,
  insertSecret,
  lockAccountAllocation,
  lockAllSecrets,
  markBackupRevealed,
  nextAccountIndex,
  updateSecretEnvelope,
} from './key.repo.ts'
import { nativeLoadError } from './key.secp256k1-native.ts'
import type { EvmSigningKey, HdAccount, KeysInitialised, MasterKeyProvider, SecretKind } from './key.types.ts'

/**
 * Key custody use cases. Who may call what:
 * - the API process: `getAccountXpub`, `deriveDepositAddress` (public keys only, no master key needed);
 * - the operator CLI (`sluice keys …`): `initKeys`, `revealBackupMnemonicOnce`, `exportAccountXpub`,
 *   `rotateMasterKey`;
 * - signers (sweeping, payouts), later: `deriveEvmPrivateKey`. The API process never calls it.
 * Secrets are decrypted inside one call and wiped (best effort) before it returns.
 */

const rootKind: SecretKind = 'bip39-entropy'
// There is one secret today; the bound exists so rotation never loads an unbounded table in one go.
const secretsPerRotationMax = 1_000

const uniqueViolation = '23505'
const foreignKeyViolation = '23503'
const hasPostgresCode = (error: unknown, code: string) =>
  typeof error === 'object' && error !== null && 'code' in error && error.code === code

// ids.ts has no `sec` prefix yet (another owner); the ULID body is reused so ids still sort by time.
const newSecretId = () => newId('sec')

/**
 * Creates the HD root (or imports `mnemonic`) and stores it encrypted under `provider`. Refuses with
 * `keys-already-initialised` when one exists: overwriting would orphan every derived address. The
 * provider must also unwrap what it wrapped before anything is stored (catches a KMS key that may
 * encrypt but not decrypt).
 */
export async function initKeys(
  pool: Pool,
  provider: MasterKeyProvider,
  options: { mnemonic?: string } = {},
): Promise<KeysInitialised> {
  const existing = await findSecretByKind(pool, rootKind)
  if (existing !== undefined) throw keysAlreadyInitialised(existing.id)
  const imported = options.mnemonic !== undefined
  const entropy =
    options.mnemonic === undefined ? generateBip39Entropy() : entropyFromMnemonic(options.mnemonic)
  try {
    const secretId = newSecretId()
    const envelope = await sealSecret(entropy, secretId, provider)
    ;(await openSecret(envelope, secretId, provider)).fill(0)
    try {
      await insertSecret(pool, { id: secretId, kind: rootKind, envelope, revealed: imported })
    } catch (error) {
      if (!hasPostgresCode(error, uniqueViolation)) throw error
      const winner = await findSecretByKind(pool, rootKind)
      throw keysAlreadyInitialised(winner?.id ?? 'unknown')
    }
    return { secretId, masterKeyId: provider.id, backup: imported ? 'imported' : 'pending' }
  } finally {
    entropy.fill(0)
  }
}

/**
 * Returns the backup phrase once, for `sluice keys init --show-mnemonic`; afterwards (or when the phrase
 * was imported) `mnemonic-already-revealed`. The caller prints it to the operator's terminal only.
 */
export async function revealBackupMnemonicOnce(pool: Pool, provider: MasterKeyProvider): Promise<string> {
  return await withTransaction(pool, async (client) => {
    const row = await findSecretByKind(client, rootKind, { forUpdate: true })
    if (row === undefined) throw keysNotInitialised()
    if (row.backup_revealed_at !== null) throw mnemonicAlreadyRevealed()
    const entropy = await openSecret(row.envelope, row.id, provider)
    try {
      const mnemonic = mnemonicFromEntropy(entropy)
      await markBackupRevealed(client, row.id)
      return mnemonic
    } finally {
      entropy.fill(0)
    }
  })
}

async function loadSeed(db: Queryable, provider: MasterKeyProvider): Promise<Uint8Array> {
  const row = await findSecretByKind(db, rootKind)
  if (row === undefined) throw keysNotInitialised()
  const entropy = await openSecret(row.envelope, row.id, provider)
  try {
    return await seedFromEntropy(entropy)
  } finally {
    entropy.fill(0)
  }
}

/**
 * The merchant's account xpub, allocating the next hardened account on first use. Allocation runs
 * under a transaction-scoped advisory lock, so concurrent calls get distinct, gap-free accounts. The
 * seed is decrypted only when an account must be created, and only inside this call.
 */
export async function exportAccountXpub(
  pool: Pool,
  provider: MasterKeyProvider,
  merchantId: string,
): Promise<HdAccount> {
  const existing = await findHdAccount(pool, merchantId)
  if (existing !== undefined) return existing
  // Decrypted before taking the lock: scrypt or a KMS round trip would otherwise serialise every caller.
  const seed = await loadSeed(pool, provider)
  try {
    return await withTransaction(pool, async (client) => {
      await lockAccountAllocation(client)
      const allocated = await findHdAccount(client, merchantId)
      if (allocated !== undefined) return allocated
      const accountIndex = await nextAccountIndex(client)
      const xpub = deriveAccountXpub(seed, accountIndex)
      try {
        return await insertHdAccount(client, { merchantId, accountIndex, xpub })
      } catch (error) {
        if (hasPostgresCode(error, foreignKeyViolation)) throw merchantNotFound(merchantId, error)
        throw error
      }
    })
  } finally {
    seed.fill(0)
  }
}

/** The stored account xpub; `hd-account-not-found` until the operator has run `keys export-xpub`. */
export async function getAccountXpub(db: Queryable, merchantId: string): Promise<HdAccount> {
  const account = await findHdAccount(db, merchantId)
  if (account === undefined) throw hdAccountNotFound(merchantId)
  return account
}

/** Deposit address `index` of a merchant, from the stored xpub: what the API process uses. */
export async function deriveDepositAddress(
  db: Queryable,
  merchantId: string,
  index: number,
): Promise<Address> {
  return deriveEvmAddress((await getAccountXpub(db, merchantId)).xpub, index)
}

/**
 * Deposit address `index` under an account xpub already read, in lower case (the stored form, without the
 * EIP-55 checksum's cost): pure.
 */
export function deriveAccountAddress(accountXpub: string, index: number): Address {
  return deriveLowercaseEvmAddress(accountXpub, index)
}

/** Deposit addresses `first … first + count - 1`: as deriveAccountAddress, batched. */
export function deriveAccountAddresses(accountXpub: string, first: number, count: number): Address[] {
  return deriveLowercaseEvmAddresses(accountXpub, first, count)
}

/** The curve code deriving deposit addresses in this process (docs/adr/0024), and why, if not native. */
export function addressDerivationEngine(): { engine: PublicDerivationEngine; fallbackReason?: string } {
  return nativeLoadError === undefined
    ? { engine: publicDerivationEngine }
    : { engine: publicDerivationEngine, fallbackReason: nativeLoadError }
}

export type MasterKeyRotation = Readonly<{ rotated: number; fromMasterKeyId: string; toMasterKeyId: string }>

/**
 * Re-wraps every data key from `oldProvider` to `newProvider` in one transaction: all secrets move or
 * none does. Ciphertexts stay byte-for-byte the same. Each new wrap is unwrapped again before commit,
 * so a new key that cannot decrypt never replaces one that can.
 */
export async function rotateMasterKey(
  pool: Pool,
  oldProvider: MasterKeyProvider,
  newProvider: MasterKeyProvider,
): Promise<MasterKeyRotation> {
  if (oldProvider.id === newProvider.id) throw masterKeyUnchanged(newProvider.id)
  return await withTransaction(pool, async (client) => {
    const rows = await lockAllSecrets(client, secretsPerRotationMax + 1)
    assert(
      rows.length <= secretsPerRotationMax,
      `more than ${secretsPerRotationMax} secrets: rotate in batches`,
    )
    for (const row of rows) {
      const envelope = await rewrapEnvelope(row.envelope, row.id, oldProvider, newProvider)
      ;(await openSecret(envelope, row.id, newProvider)).fill(0)
      await updateSecretEnvelope(client, row.id, envelope)
    }
    return { rotated: rows.length, fromMasterKeyId: oldProvider.id, toMasterKeyId: newProvider.id }
  })
}

/**
 * SIGNER SIDE ONLY (sweeping and payout signers): the private key for `path` (m/44'/60'/a'/0/i). The API
 * process never calls this; it holds no master key and could not decrypt the seed anyway. Keep the
 * result in memory for one signature and never log it.
 */
export async function deriveEvmPrivateKey(
  db: Queryable,
  provider: MasterKeyProvider,
  path: string,
): Promise<EvmSigningKey> {
  const parsed = parseEvmKeyPath(path)
  const seed = await loadSeed(db, provider)
  try {
    return deriveEvmSigningKey(seed, parsed)
  } finally {
    seed.fill(0)
  }
}
