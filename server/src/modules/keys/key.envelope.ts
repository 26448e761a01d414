import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { z } from 'zod'
import { assert } from '../../lib/assert.ts'
import { AppError } from '../../lib/errors.ts'
import { secretDecryptionFailed } from './key.errors.ts'
import { envelopeVersion, type MasterKeyProvider, type SecretEnvelope } from './key.types.ts'

/**
 * Envelope encryption, no I/O: each secret gets its own random 256-bit data key (AES-256-GCM), and only
 * the data key is encrypted by the master key. Rotating the master key re-wraps 32-byte data keys and
 * leaves every ciphertext as it is.
 */

const keyBytes = 32
const ivBytes = 12
const tagBytes = 16

export type AesGcmSealed = Readonly<{ iv: Uint8Array; ciphertext: Uint8Array; tag: Uint8Array }>

export function aesGcmSeal(key: Uint8Array, plaintext: Uint8Array, associatedData: Uint8Array): AesGcmSealed {
  const iv = randomBytes(ivBytes)
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: tagBytes })
  cipher.setAAD(associatedData)
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return { iv, ciphertext, tag: cipher.getAuthTag() }
}

/** Throws Node's "unable to authenticate data" on any change; callers turn it into their own error. */
export function aesGcmOpen(key: Uint8Array, sealed: AesGcmSealed, associatedData: Uint8Array): Uint8Array {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv, { authTagLength: tagBytes })
  decipher.setAAD(associatedData)
  decipher.setAuthTag(sealed.tag)
  return new Uint8Array(Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]))
}

export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')

/** Canonical base64 only: Buffer.from ignores stray characters, which would let a changed field pass. */
export function fromBase64(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64')
  if (bytes.toString('base64') !== text) throw new Error('not canonical base64')
  return new Uint8Array(bytes)
}

const base64 = (lengthBytes?: number) =>
  z.string().refine((text) => {
    try {
      const bytes = fromBase64(text)
      return lengthBytes === undefined ? bytes.length > 0 : bytes.length === lengthBytes
    } catch {
      return false
    }
  }, 'must be canonical base64 of the right length')

const masterKeyId = z.string().regex(/^[a-z]+:[A-Za-z0-9._:/-]{1,160}$/)

export const wrappedDataKeySchema = z.discriminatedUnion('scheme', [
  z.strictObject({
    scheme: z.literal('aes-256-gcm'),
    masterKeyId,
    iv: base64(ivBytes),
    ciphertext: base64(keyBytes),
    tag: base64(tagBytes),
  }),
  z.strictObject({
    scheme: z.literal('scrypt-aes-256-gcm'),
    masterKeyId,
    kdf: z.strictObject({
      name: z.literal('scrypt'),
      n: z.number().int(),
      r: z.number().int(),
      p: z.number().int(),
      salt: base64(),
    }),
    iv: base64(ivBytes),
    ciphertext: base64(keyBytes),
    tag: base64(tagBytes),
  }),
  z.strictObject({ scheme: z.literal('kms'), masterKeyId, ciphertext: base64() }),
])

const envelopeSchema = z.strictObject({
  version: z.literal(envelopeVersion),
  algorithm: z.literal('aes-256-gcm'),
  associatedData: z.string().min(1).max(200),
  dataKey: wrappedDataKeySchema,
  iv: base64(ivBytes),
  ciphertext: base64(),
  tag: base64(tagBytes),
})

/** Reads a stored envelope. Any shape problem is a decryption failure: a changed field is tampering. */
export function parseEnvelope(stored: unknown, secretId: string): SecretEnvelope {
  const parsed = envelopeSchema.safeParse(stored)
  // The zod error lists the offending values; the envelope holds no plaintext, but keep it out anyway.
  if (!parsed.success) throw secretDecryptionFailed('envelope-malformed', { secretId })
  if (parsed.data.associatedData !== secretId)
    throw secretDecryptionFailed('associated-data-mismatch', { secretId })
  return parsed.data
}

// Version and algorithm are bound too, so a future reader cannot be talked into another mode.
const secretAssociatedData = (secretId: string) =>
  new TextEncoder().encode(`sluice/secret/v${envelopeVersion}/aes-256-gcm/${secretId}`)

/** Encrypts `plaintext` under a fresh data key wrapped by `provider`; `secretId` becomes the AAD. */
export async function sealSecret(
  plaintext: Uint8Array,
  secretId: string,
  provider: MasterKeyProvider,
): Promise<SecretEnvelope> {
  assert(plaintext.length > 0, 'a secret is never empty (the envelope parser rejects empty ciphertexts)')
  const dataKey = new Uint8Array(randomBytes(keyBytes))
  try {
    const sealed = aesGcmSeal(dataKey, plaintext, secretAssociatedData(secretId))
    const wrapped = await provider.wrap(dataKey)
    return {
      version: envelopeVersion,
      algorithm: 'aes-256-gcm',
      associatedData: secretId,
      dataKey: wrapped,
      iv: toBase64(sealed.iv),
      ciphertext: toBase64(sealed.ciphertext),
      tag: toBase64(sealed.tag),
    }
  } finally {
    dataKey.fill(0)
  }
}

async function unwrapDataKey(envelope: SecretEnvelope, secretId: string, provider: MasterKeyProvider) {
  if (envelope.dataKey.masterKeyId !== provider.id) {
    // Master key ids are fingerprints or names, not key material: showing both tells the operator which key to load.
    const note = `it needs master key ${envelope.dataKey.masterKeyId}, this process has ${provider.id}`
    throw secretDecryptionFailed('master-key-mismatch', { secretId, note })
  }
  let dataKey: Uint8Array
  try {
    dataKey = await provider.unwrap(envelope.dataKey)
  } catch (error) {
    if (error instanceof AppError && error.code === 'secret-decryption-failed') throw error
    throw secretDecryptionFailed('data-key-unwrap-failed', { secretId, cause: error })
  }
  if (dataKey.length !== keyBytes) throw secretDecryptionFailed('data-key-length', { secretId })
  return dataKey
}

function openWithDataKey(envelope: SecretEnvelope, secretId: string, dataKey: Uint8Array): Uint8Array {
  try {
    const sealed = {
      iv: fromBase64(envelope.iv),
      ciphertext: fromBase64(envelope.ciphertext),
      tag: fromBase64(envelope.tag),
    }
    return aesGcmOpen(dataKey, sealed, secretAssociatedData(secretId))
  } catch (error) {
    throw secretDecryptionFailed('ciphertext-authentication-failed', { secretId, cause: error })
  }
}

/** Decrypts a stored envelope; every failure is `secret-decryption-failed`. The caller wipes the result. */
export async function openSecret(
  stored: unknown,
  secretId: string,
  provider: MasterKeyProvider,
): Promise<Uint8Array> {
  const envelope = parseEnvelope(stored, secretId)
  const dataKey = await unwrapDataKey(envelope, secretId, provider)
  try {
    return openWithDataKey(envelope, secretId, dataKey)
  } finally {
    dataKey.fill(0)
  }
}

/**
 * Moves a secret to a new master key: unwraps the data key with the old one, proves it still opens the
 * ciphertext (a rotation must not carry a broken secret forward), and wraps it with the new one.
 */
export async function rewrapEnvelope(
  stored: unknown,
  secretId: string,
  oldProvider: MasterKeyProvider,
  newProvider: MasterKeyProvider,
): Promise<SecretEnvelope> {
  const envelope = parseEnvelope(stored, secretId)
  const dataKey = await unwrapDataKey(envelope, secretId, oldProvider)
  try {
    openWithDataKey(envelope, secretId, dataKey).fill(0)
    return { ...envelope, dataKey: await newProvider.wrap(dataKey) }
  } finally {
    dataKey.fill(0)
  }
}
