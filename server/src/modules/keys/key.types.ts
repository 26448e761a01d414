import type { Address, Hex } from 'viem'

/**
 * The only kind stored today: the BIP39 entropy of the one HD root. Entropy (not the 64-byte seed) is
 * kept so the backup phrase can be shown once after `keys init`; the seed is recomputed when needed.
 */
export type SecretKind = 'bip39-entropy'

/** Recorded in every passphrase-wrapped data key, so a later change of defaults can still unwrap it. */
export type ScryptParameters = Readonly<{ name: 'scrypt'; n: number; r: number; p: number; salt: string }>

/** A data key encrypted by a master key. Binary fields are base64. The shape depends on the source. */
export type WrappedDataKey =
  | Readonly<{ scheme: 'aes-256-gcm'; masterKeyId: string; iv: string; ciphertext: string; tag: string }>
  | Readonly<{
      scheme: 'scrypt-aes-256-gcm'
      masterKeyId: string
      kdf: ScryptParameters
      iv: string
      ciphertext: string
      tag: string
    }>
  | Readonly<{ scheme: 'kms'; masterKeyId: string; ciphertext: string }>

export const envelopeVersion = 1

/**
 * One secret at rest (stored as JSON). `associatedData` is the secret id: it is authenticated with the
 * ciphertext, and the reader supplies the id it expects, so an envelope copied onto another row fails.
 */
export type SecretEnvelope = Readonly<{
  version: typeof envelopeVersion
  algorithm: 'aes-256-gcm'
  associatedData: string
  dataKey: WrappedDataKey
  iv: string
  ciphertext: string
  tag: string
}>

/** Where the key-encryption key lives. Each source wraps and unwraps data keys; none reveals its key. */
export interface MasterKeyProvider {
  /** Stable and non-secret: stored beside each secret so the operator sees which key a secret needs. */
  readonly id: string
  wrap(dataKey: Uint8Array): Promise<WrappedDataKey>
  unwrap(wrapped: WrappedDataKey): Promise<Uint8Array>
}

/**
 * The subset of a KMS (AWS KMS Encrypt/Decrypt, Vault Transit, GCP KMS) that envelope encryption needs.
 * `context` is authenticated, like AWS's EncryptionContext.
 */
export interface KmsClient {
  readonly keyId: string
  encrypt(plaintext: Uint8Array, context: Readonly<Record<string, string>>): Promise<Uint8Array>
  decrypt(ciphertext: Uint8Array, context: Readonly<Record<string, string>>): Promise<Uint8Array>
}

/** A merchant's hardened account m/44'/60'/{accountIndex}' and its extended public key. */
export type HdAccount = Readonly<{ merchantId: string; accountIndex: number; xpub: string; createdAt: Date }>

export type EvmKeyPath = Readonly<{ account: number; index: number }>

export type EvmSigningKey = Readonly<{ path: string; address: Address; privateKey: Hex }>

export type KeysInitialised = Readonly<{
  secretId: string
  masterKeyId: string
  /** `imported`: the operator supplied the phrase, so holds the backup already. */
  backup: 'pending' | 'imported'
}>
