import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { assertNoSecretsIn, testSecrets } from '../../../test/setup/leak-guard.ts'
import { fromBase64, openSecret, rewrapEnvelope, sealSecret, toBase64 } from './key.envelope.ts'
import {
  createInProcessKmsClientForTests,
  createKmsMasterKeyProvider,
  createPassphraseMasterKeyProvider,
  createRawMasterKeyProvider,
  parseMasterKey,
} from './key.master.ts'
import type { MasterKeyProvider, SecretEnvelope } from './key.types.ts'

const rawProvider = createRawMasterKeyProvider(parseMasterKey(testSecrets.masterKeyHex, 'test'))
const secondRawProvider = createRawMasterKeyProvider(parseMasterKey(testSecrets.secondMasterKeyHex, 'test'))
// The lowest accepted scrypt cost keeps these tests fast; key.master.test.ts runs the default cost.
const passphraseProvider = createPassphraseMasterKeyProvider(testSecrets.passphrase, {
  label: 'tests',
  cost: { n: 2 ** 15, r: 8, p: 1 },
})
const kmsProvider = createKmsMasterKeyProvider(createInProcessKmsClientForTests())
const secretId = 'sec_01TESTSECRET0000000000000'
const plaintext = new Uint8Array(randomBytes(32))

async function failureOf(
  promise: Promise<unknown>,
): Promise<{ code: string | undefined; reason: string | undefined; error: unknown }> {
  try {
    await promise
  } catch (error) {
    const details = (error as { details?: { path: string; message: string }[] }).details
    return {
      code: (error as { code?: string }).code,
      reason: details?.find((d) => d.path === 'reason')?.message,
      error,
    }
  }
  throw new Error('expected a failure')
}

const flipBase64 = (text: string) => {
  const bytes = fromBase64(text)
  bytes[0] = (bytes[0] ?? 0) ^ 1
  return toBase64(bytes)
}

type Mutable = Record<string, unknown> & {
  dataKey: Record<string, unknown> & { kdf?: Record<string, unknown> }
}
const copy = (envelope: SecretEnvelope): Mutable => structuredClone(envelope) as unknown as Mutable

describe.each<[string, MasterKeyProvider]>([
  ['key file / environment key', rawProvider],
  ['passphrase (scrypt)', passphraseProvider],
  ['KMS (in-process test client)', kmsProvider],
])('envelope with %s', (_name, provider) => {
  it('round-trips and records the master key id', async () => {
    const envelope = await sealSecret(plaintext, secretId, provider)
    expect(envelope).toMatchObject({ version: 1, algorithm: 'aes-256-gcm', associatedData: secretId })
    expect(envelope.dataKey.masterKeyId).toBe(provider.id)
    expect(await openSecret(JSON.parse(JSON.stringify(envelope)), secretId, provider)).toEqual(plaintext)
  })

  it('fails with secret-decryption-failed when opened for another secret id (AAD)', async () => {
    const envelope = await sealSecret(plaintext, secretId, provider)
    const { code } = await failureOf(openSecret(envelope, 'sec_other', provider))
    expect(code).toBe('secret-decryption-failed')
    // Even with associatedData edited to match, the GCM tag still binds the original id.
    const relabelled = { ...copy(envelope), associatedData: 'sec_other' }
    expect((await failureOf(openSecret(relabelled, 'sec_other', provider))).code).toBe(
      'secret-decryption-failed',
    )
  })
})

describe('tampering with any envelope field fails decryption', () => {
  const mutations: [string, (envelope: Mutable) => void][] = [
    ['version', (e) => (e.version = 2)],
    ['algorithm', (e) => (e.algorithm = 'aes-256-cbc')],
    ['associatedData', (e) => (e.associatedData = 'sec_x')],
    ['iv', (e) => (e.iv = flipBase64(e.iv as string))],
    ['ciphertext', (e) => (e.ciphertext = flipBase64(e.ciphertext as string))],
    ['tag', (e) => (e.tag = flipBase64(e.tag as string))],
    ['ciphertext (non-canonical base64)', (e) => (e.ciphertext = `${e.ciphertext as string}A`)],
    ['missing tag', (e) => delete e.tag],
    ['extra field', (e) => (e.extra = 1)],
    ['dataKey.scheme', (e) => (e.dataKey.scheme = 'kms')],
    ['dataKey.masterKeyId', (e) => (e.dataKey.masterKeyId = 'raw:0000000000000000')],
    ['dataKey.iv', (e) => (e.dataKey.iv = flipBase64(e.dataKey.iv as string))],
    ['dataKey.ciphertext', (e) => (e.dataKey.ciphertext = flipBase64(e.dataKey.ciphertext as string))],
    ['dataKey.tag', (e) => (e.dataKey.tag = flipBase64(e.dataKey.tag as string))],
    ['dataKey missing', (e) => delete (e as Record<string, unknown>).dataKey],
  ]

  it.each(mutations)('%s', async (_field, mutate) => {
    const envelope = copy(await sealSecret(plaintext, secretId, rawProvider))
    mutate(envelope)
    const { code, error } = await failureOf(openSecret(envelope, secretId, rawProvider))
    expect(code).toBe('secret-decryption-failed')
    assertNoSecretsIn(String((error as Error).message), [{ label: 'plaintext', value: toBase64(plaintext) }])
  })

  const kdfMutations: [string, (kdf: Record<string, unknown>) => void, string][] = [
    ['kdf.n (within bounds)', (kdf) => (kdf.n = 2 ** 16), 'data-key-authentication-failed'],
    ['kdf.r', (kdf) => (kdf.r = 9), 'data-key-authentication-failed'],
    ['kdf.salt', (kdf) => (kdf.salt = flipBase64(kdf.salt as string)), 'data-key-authentication-failed'],
    [
      'kdf.n (out of bounds: would allocate gigabytes)',
      (kdf) => (kdf.n = 2 ** 30),
      'kdf-parameters-out-of-bounds',
    ],
    ['kdf.n (too cheap)', (kdf) => (kdf.n = 2 ** 4), 'kdf-parameters-out-of-bounds'],
    ['kdf.name', (kdf) => (kdf.name = 'pbkdf2'), 'envelope-malformed'],
  ]

  it.each(kdfMutations)('%s', async (_field, mutate, reason) => {
    const envelope = copy(await sealSecret(plaintext, secretId, passphraseProvider))
    mutate(envelope.dataKey.kdf as Record<string, unknown>)
    expect(await failureOf(openSecret(envelope, secretId, passphraseProvider))).toMatchObject({
      code: 'secret-decryption-failed',
      reason,
    })
  })
})

describe('wrong master key', () => {
  it('is reported as a master-key mismatch naming both ids, not the keys', async () => {
    const envelope = await sealSecret(plaintext, secretId, rawProvider)
    const { code, reason, error } = await failureOf(openSecret(envelope, secretId, secondRawProvider))
    expect({ code, reason }).toEqual({ code: 'secret-decryption-failed', reason: 'master-key-mismatch' })
    expect((error as Error).message).toContain(rawProvider.id)
    expect((error as Error).message).toContain(secondRawProvider.id)
    assertNoSecretsIn((error as Error).message)
  })

  it('fails authentication when a different key claims the same id', async () => {
    const envelope = copy(await sealSecret(plaintext, secretId, rawProvider))
    const impostor: MasterKeyProvider = { ...secondRawProvider, id: rawProvider.id }
    envelope.dataKey.masterKeyId = rawProvider.id
    expect(await failureOf(openSecret(envelope, secretId, impostor))).toMatchObject({
      code: 'secret-decryption-failed',
    })
  })

  it('fails for a passphrase provider with the right label but the wrong passphrase', async () => {
    const envelope = await sealSecret(plaintext, secretId, passphraseProvider)
    const wrong = createPassphraseMasterKeyProvider(testSecrets.secondPassphrase, {
      label: 'tests',
      cost: { n: 2 ** 15, r: 8, p: 1 },
    })
    expect(await failureOf(openSecret(envelope, secretId, wrong))).toMatchObject({
      code: 'secret-decryption-failed',
      reason: 'data-key-authentication-failed',
    })
  })
})

describe('re-wrapping', () => {
  it('keeps iv, ciphertext and tag and moves the data key to the new master key', async () => {
    const envelope = await sealSecret(plaintext, secretId, rawProvider)
    const rewrapped = await rewrapEnvelope(envelope, secretId, rawProvider, kmsProvider)
    expect({ iv: rewrapped.iv, ciphertext: rewrapped.ciphertext, tag: rewrapped.tag }).toEqual({
      iv: envelope.iv,
      ciphertext: envelope.ciphertext,
      tag: envelope.tag,
    })
    expect(rewrapped.dataKey.masterKeyId).toBe(kmsProvider.id)
    expect(await openSecret(rewrapped, secretId, kmsProvider)).toEqual(plaintext)
    expect((await failureOf(openSecret(rewrapped, secretId, rawProvider))).code).toBe(
      'secret-decryption-failed',
    )
  })

  it('refuses to carry a corrupted secret forward', async () => {
    const envelope = copy(await sealSecret(plaintext, secretId, rawProvider))
    envelope.tag = flipBase64(envelope.tag as string)
    expect((await failureOf(rewrapEnvelope(envelope, secretId, rawProvider, kmsProvider))).code).toBe(
      'secret-decryption-failed',
    )
  })
})

it('round-trips arbitrary plaintexts and never repeats a data key or iv', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 256 }), async (bytes) => {
      const first = await sealSecret(bytes, secretId, rawProvider)
      const second = await sealSecret(bytes, secretId, rawProvider)
      expect(first.iv).not.toBe(second.iv)
      expect(first.dataKey).not.toEqual(second.dataKey)
      expect(await openSecret(first, secretId, rawProvider)).toEqual(bytes)
    }),
    { numRuns: 50 },
  )
})
