import { createHash, randomBytes } from 'node:crypto'
import { open, stat } from 'node:fs/promises'
import { scryptAsync } from '@noble/hashes/scrypt.js'
import { aesGcmOpen, aesGcmSeal, fromBase64, toBase64 } from './key.envelope.ts'
import { masterKeyInvalid, secretDecryptionFailed } from './key.errors.ts'
import type { KmsClient, MasterKeyProvider, ScryptParameters, WrappedDataKey } from './key.types.ts'

/**
 * Master key (key-encryption key) sources behind one interface. Raw keys come from a file or from the
 * environment, a passphrase is stretched with scrypt, and a KMS keeps its key to itself. No provider
 * exposes its key, and no error quotes it.
 */

const masterKeyBytes = 32
// A key file is 64 hex characters or 44 base64 characters (plus a newline); anything far bigger is a wrong path.
const keyFileBytesMax = 1024

function assertNotDegenerate(key: Uint8Array, origin: string): void {
  // An all-zero (or all-0xff) key is a placeholder someone forgot to replace, not a random key.
  if (key.every((byte) => byte === key[0]))
    throw masterKeyInvalid(origin, 'every byte is the same; generate 32 random bytes')
}

/** Parses 32 bytes given as hex (optionally 0x-prefixed) or base64/base64url. Errors never quote the input. */
export function parseMasterKey(text: string, origin: string): Uint8Array {
  const trimmed = text.trim()
  let key: Uint8Array | undefined
  if (/^(0x)?[0-9a-fA-F]{64}$/.test(trimmed))
    key = new Uint8Array(Buffer.from(trimmed.replace(/^0x/, ''), 'hex'))
  else if (/^[A-Za-z0-9+/]{43}=$/.test(trimmed)) key = new Uint8Array(Buffer.from(trimmed, 'base64'))
  else if (/^[A-Za-z0-9_-]{43}$/.test(trimmed)) key = new Uint8Array(Buffer.from(trimmed, 'base64url'))
  if (key?.length !== masterKeyBytes) {
    throw masterKeyInvalid(
      origin,
      `expected 32 bytes as 64 hex or 44 base64 characters, got ${trimmed.length} characters`,
    )
  }
  assertNotDegenerate(key, origin)
  return key
}

/** A short fingerprint: with a 256-bit random key it reveals nothing, yet tells two keys apart. */
function fingerprint(key: Uint8Array): string {
  return createHash('sha256').update('sluice master key id v1\0').update(key).digest('hex').slice(0, 16)
}

const dataKeyAssociatedData = (parts: readonly (string | number)[]) =>
  new TextEncoder().encode(['sluice/data-key/v1', ...parts].join('/'))

function openWrapped(
  kek: Uint8Array,
  wrapped: { iv: string; ciphertext: string; tag: string },
  aad: Uint8Array,
) {
  try {
    const sealed = {
      iv: fromBase64(wrapped.iv),
      ciphertext: fromBase64(wrapped.ciphertext),
      tag: fromBase64(wrapped.tag),
    }
    return aesGcmOpen(kek, sealed, aad)
  } catch (error) {
    throw secretDecryptionFailed('data-key-authentication-failed', { cause: error })
  }
}

/** A 32-byte key held in memory (from a file or the environment). The id is the key's fingerprint. */
export function createRawMasterKeyProvider(key: Uint8Array): MasterKeyProvider {
  if (key.length !== masterKeyBytes) throw masterKeyInvalid('raw key', 'must be 32 bytes')
  const kek = Uint8Array.from(key)
  const id = `raw:${fingerprint(kek)}`
  const aad = dataKeyAssociatedData(['aes-256-gcm', id])
  return {
    id,
    wrap: async (dataKey) => {
      const sealed = aesGcmSeal(kek, dataKey, aad)
      const { iv, ciphertext, tag } = sealed
      return {
        scheme: 'aes-256-gcm',
        masterKeyId: id,
        iv: toBase64(iv),
        ciphertext: toBase64(ciphertext),
        tag: toBase64(tag),
      }
    },
    unwrap: async (wrapped) => {
      if (wrapped.scheme !== 'aes-256-gcm') throw secretDecryptionFailed('master-key-scheme-mismatch')
      return openWrapped(kek, wrapped, aad)
    },
  }
}

// An operator may paste the key (or a phrase) where a path belongs; such an argument is never echoed.
function looksLikeSecret(text: string): boolean {
  const trimmed = text.trim()
  if (/^(0x)?[0-9a-fA-F]{32,}$/.test(trimmed) || trimmed.split(/\s+/).length >= 6) return true
  return /^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed) && Buffer.from(trimmed, 'base64').length === masterKeyBytes
}

/**
 * Reads a key file (32 random bytes as hex or base64). A file others can write is refused: whoever can
 * replace the key can make the next rotation wrap every secret under a key they own. Read access for
 * others is allowed because container secret mounts are often 0444; keep files 0600 where you can.
 */
export async function loadKeyFileMasterKeyProvider(path: string): Promise<MasterKeyProvider> {
  const origin = 'key file'
  if (looksLikeSecret(path))
    throw masterKeyInvalid(origin, 'expected a file path, got something that looks like a key')
  const info = await stat(path).catch((error: unknown) => {
    throw masterKeyInvalid(origin, `cannot read ${path}`, error)
  })
  if (!info.isFile()) throw masterKeyInvalid(origin, `${path} is not a regular file`)
  if (process.platform !== 'win32' && (info.mode & 0o022) !== 0) {
    throw masterKeyInvalid(origin, `${path} is writable by group or others; run chmod 600 on it`)
  }
  if (info.size > keyFileBytesMax)
    throw masterKeyInvalid(origin, `${path} is larger than ${keyFileBytesMax} bytes`)
  const handle = await open(path, 'r')
  try {
    const key = parseMasterKey(await handle.readFile('utf8'), origin)
    return createRawMasterKeyProvider(key)
  } finally {
    await handle.close()
  }
}

/** The key passed by environment (config/env.ts `readMasterKeyFromEnvironment()`); this file reads no env. */
export function createEnvironmentMasterKeyProvider(value: string | undefined): MasterKeyProvider {
  if (value === undefined || value.trim() === '') throw masterKeyInvalid('SLUICE_MASTER_KEY', 'is not set')
  return createRawMasterKeyProvider(parseMasterKey(value, 'SLUICE_MASTER_KEY'))
}

/** Writes a new random key file that is never overwritten and readable by its owner only. */
export async function writeNewMasterKeyFile(path: string): Promise<void> {
  const handle = await open(path, 'wx', 0o600)
  try {
    await handle.writeFile(`${randomBytes(masterKeyBytes).toString('hex')}\n`)
  } finally {
    await handle.close()
  }
}

export type ScryptCost = Readonly<{ n: number; r: number; p: number }>

// ~1 s and 128 MiB per derivation on our 2-core machines: an attacker with a database dump pays the same
// per guess. Passphrase stretching is only as good as the passphrase, hence the length floor below.
export const scryptCostDefault: ScryptCost = { n: 2 ** 17, r: 8, p: 1 }
const passphraseLengthMin = 16
const saltBytes = 16
// Bounds apply to stored parameters too: a tampered envelope must not make us allocate gigabytes, nor
// accept a cost so low that it invites brute force.
const scryptLimits = { nMin: 2 ** 15, nMax: 2 ** 18, rMin: 8, rMax: 16, pMin: 1, pMax: 4 }
// Each distinct (salt, cost) costs a full scrypt run; a few are plenty for one process.
const derivedKeyCacheSize = 8

function scryptCostAcceptable(cost: ScryptCost): boolean {
  const { n, r, p } = cost
  const powerOfTwo = Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0
  const { nMin, nMax, rMin, rMax, pMin, pMax } = scryptLimits
  return powerOfTwo && n >= nMin && n <= nMax && r >= rMin && r <= rMax && p >= pMin && p <= pMax
}

function scryptAssociatedData(id: string, kdf: ScryptParameters): Uint8Array {
  return dataKeyAssociatedData(['scrypt-aes-256-gcm', id, kdf.n, kdf.r, kdf.p, kdf.salt])
}

function createScryptKeyDeriver(passphrase: string) {
  const cache = new Map<string, Promise<Uint8Array>>()
  return (kdf: ScryptParameters): Promise<Uint8Array> => {
    const cacheKey = `${kdf.n}/${kdf.r}/${kdf.p}/${kdf.salt}`
    const cached = cache.get(cacheKey)
    if (cached !== undefined) return cached
    if (cache.size >= derivedKeyCacheSize) cache.clear()
    const derived = scryptAsync(passphrase, fromBase64(kdf.salt), {
      N: kdf.n,
      r: kdf.r,
      p: kdf.p,
      dkLen: masterKeyBytes,
    })
    cache.set(cacheKey, derived)
    return derived
  }
}

/**
 * A key stretched from a passphrase with scrypt. The salt and cost travel with every wrapped data key.
 * A passphrase has no fingerprint we could publish without handing out a cheap guess-checker, so the
 * id is an operator-chosen label (`passphrase:<label>`): use a new label for a new passphrase.
 */
export function createPassphraseMasterKeyProvider(
  passphrase: string,
  options: { label: string; cost?: ScryptCost },
): MasterKeyProvider {
  const normalised = passphrase.normalize('NFKC')
  if ([...normalised].length < passphraseLengthMin) {
    throw masterKeyInvalid('passphrase', `must be at least ${passphraseLengthMin} characters`)
  }
  if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(options.label)) {
    throw masterKeyInvalid('passphrase', 'label must be 1-40 lower-case letters, digits or "-"')
  }
  const cost = options.cost ?? scryptCostDefault
  if (!scryptCostAcceptable(cost))
    throw masterKeyInvalid('passphrase', 'scrypt cost is outside the accepted bounds')
  const id = `passphrase:${options.label}`
  const derive = createScryptKeyDeriver(normalised)
  // One salt per provider instance: wrapping many data keys costs one scrypt run, not one per key.
  const kdf: ScryptParameters = { name: 'scrypt', ...cost, salt: toBase64(randomBytes(saltBytes)) }
  return {
    id,
    wrap: async (dataKey): Promise<WrappedDataKey> => {
      const sealed = aesGcmSeal(await derive(kdf), dataKey, scryptAssociatedData(id, kdf))
      const { iv, ciphertext, tag } = sealed
      return {
        scheme: 'scrypt-aes-256-gcm',
        masterKeyId: id,
        kdf,
        iv: toBase64(iv),
        ciphertext: toBase64(ciphertext),
        tag: toBase64(tag),
      }
    },
    unwrap: async (wrapped) => {
      if (wrapped.scheme !== 'scrypt-aes-256-gcm') throw secretDecryptionFailed('master-key-scheme-mismatch')
      if (!scryptCostAcceptable(wrapped.kdf)) throw secretDecryptionFailed('kdf-parameters-out-of-bounds')
      return openWrapped(await derive(wrapped.kdf), wrapped, scryptAssociatedData(id, wrapped.kdf))
    },
  }
}

/** A KMS-held key: Sluice sends data keys to be encrypted and decrypted and never sees the master key. */
export function createKmsMasterKeyProvider(client: KmsClient): MasterKeyProvider {
  if (!/^[A-Za-z0-9._:/-]{1,150}$/.test(client.keyId))
    throw masterKeyInvalid('kms', 'key id has unexpected characters')
  const id = `kms:${client.keyId}`
  const context = { purpose: 'sluice-data-key', masterKeyId: id }
  return {
    id,
    wrap: async (dataKey) => ({
      scheme: 'kms',
      masterKeyId: id,
      ciphertext: toBase64(await client.encrypt(dataKey, context)),
    }),
    unwrap: async (wrapped) => {
      if (wrapped.scheme !== 'kms') throw secretDecryptionFailed('master-key-scheme-mismatch')
      try {
        return await client.decrypt(fromBase64(wrapped.ciphertext), context)
      } catch (error) {
        throw secretDecryptionFailed('kms-decrypt-failed', { cause: error })
      }
    },
  }
}

const contextAssociatedData = (context: Readonly<Record<string, string>>) =>
  new TextEncoder().encode(
    JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  )

/**
 * FOR TESTS ONLY — not a KMS. The "KMS key" is random bytes in this process's memory and dies with it;
 * it exists so the KMS code path runs offline. Output is iv ‖ tag ‖ ciphertext with the context as AAD.
 */
export function createInProcessKmsClientForTests(keyId = 'in-process-test-kms-key'): KmsClient {
  const key = new Uint8Array(randomBytes(masterKeyBytes))
  return {
    keyId,
    encrypt: async (plaintext, context) => {
      const sealed = aesGcmSeal(key, plaintext, contextAssociatedData(context))
      return new Uint8Array(Buffer.concat([sealed.iv, sealed.tag, sealed.ciphertext]))
    },
    decrypt: async (blob, context) => {
      const sealed = { iv: blob.subarray(0, 12), tag: blob.subarray(12, 28), ciphertext: blob.subarray(28) }
      return aesGcmOpen(key, sealed, contextAssociatedData(context))
    },
  }
}
