import { HDKey } from '@scure/bip32'
import { mnemonicToEntropy, mnemonicToSeedSync } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'

/**
 * Secret material the test suite uses, and a check that text (logs, CLI output, error messages, stacks,
 * `cause` chains) contains none of it. Matching looks for fragments, not just whole values: six
 * consecutive words of a phrase, or any 16 characters of a key, count as a leak.
 */

export type KnownSecret = Readonly<{ label: string; value: string }>

/** The well-known Hardhat/Anvil mnemonic: public, hence fine in tests, and never acceptable in output. */
export const testMnemonic = 'test test test test test test test test test test test junk'

export const testSecrets = {
  mnemonic: testMnemonic,
  // Anvil accounts 0 and 1: m/44'/60'/0'/0/0 and /0/1 of the test mnemonic.
  privateKey0: '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  privateKey1: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  masterKeyHex: 'dcd8c4fa9233f618bbd09e755169ba4fa97fc73e323b8b0f97a22e9d20603d9b',
  masterKeyBase64: '3NjE+pIz9hi70J51UWm6T6l/xz4yO4sPl6IunSBgPZs=',
  secondMasterKeyHex: 'a0cbf618bee44d7db19cf1e5f50ab6d0404c7889ca7435f75f294df52bf88c8b',
  secondMasterKeyBase64: 'oMv2GL7kTX2xnPHl9Qq20EBMeInKdDX3XylN9Sv4jIs=',
  passphrase: 'correct horse battery staple for sluice tests',
  secondPassphrase: 'a different passphrase, also only for tests',
} as const

/** hex, base64 and base64url spellings of one binary secret. */
export function binarySecretVariants(label: string, bytes: Uint8Array): KnownSecret[] {
  const buffer = Buffer.from(bytes)
  return [
    { label: `${label} (hex)`, value: buffer.toString('hex') },
    { label: `${label} (base64)`, value: buffer.toString('base64') },
    { label: `${label} (base64url)`, value: buffer.toString('base64url') },
  ]
}

function mnemonicSecrets(label: string, mnemonic: string): KnownSecret[] {
  const seed = mnemonicToSeedSync(mnemonic)
  const root = HDKey.fromMasterSeed(seed)
  return [
    { label, value: mnemonic },
    ...binarySecretVariants(`${label} entropy`, mnemonicToEntropy(mnemonic, wordlist)),
    ...binarySecretVariants(`${label} seed`, seed),
    { label: `${label} root xprv`, value: root.privateExtendedKey },
    { label: `${label} account 0 xprv`, value: root.derive("m/44'/60'/0'").privateExtendedKey },
  ]
}

const fromHex = (hex: string) => new Uint8Array(Buffer.from(hex.replace(/^0x/, ''), 'hex'))

export const knownTestSecrets: readonly KnownSecret[] = [
  ...mnemonicSecrets('test mnemonic', testSecrets.mnemonic),
  ...binarySecretVariants('test private key 0', fromHex(testSecrets.privateKey0)),
  ...binarySecretVariants('test private key 1', fromHex(testSecrets.privateKey1)),
  ...binarySecretVariants('test master key', fromHex(testSecrets.masterKeyHex)),
  ...binarySecretVariants('second test master key', fromHex(testSecrets.secondMasterKeyHex)),
  { label: 'test passphrase', value: testSecrets.passphrase },
  { label: 'second test passphrase', value: testSecrets.secondPassphrase },
]

/** Secrets made during a test (a generated phrase, …) get the same treatment as the fixed ones. */
export function secretsOfMnemonic(label: string, mnemonic: string): KnownSecret[] {
  return mnemonicSecrets(label, mnemonic)
}

const phraseWindowWords = 6
const fragmentLength = 16

function windows<T>(items: readonly T[], size: number): T[][] {
  if (items.length <= size) return [[...items]]
  return Array.from({ length: items.length - size + 1 }, (_, start) => items.slice(start, start + size))
}

function leaks(text: string, lowerText: string, wordsText: string, secret: string): boolean {
  if (/\s/.test(secret.trim()) && /^[a-z\s]+$/i.test(secret)) {
    // A phrase: compare words only, so numbering, commas, quotes or line breaks cannot hide it.
    const words = secret.toLowerCase().trim().split(/\s+/)
    return windows(words, phraseWindowWords).some((window) => wordsText.includes(` ${window.join(' ')} `))
  }
  const bare = secret.replace(/^0x/i, '')
  if (/^[0-9a-f]+$/i.test(bare)) {
    const hex = bare.toLowerCase()
    return windows([...hex], fragmentLength).some((window) => lowerText.includes(window.join('')))
  }
  return windows([...secret], fragmentLength).some((window) => text.includes(window.join('')))
}

/** Labels (never values) of the secrets found in `text`. */
export function findSecretsIn(text: string, extraSecrets: readonly KnownSecret[] = []): string[] {
  const lowerText = text.toLowerCase()
  const wordsText = ` ${lowerText.replace(/[^a-z]+/g, ' ').trim()} `
  return [...knownTestSecrets, ...extraSecrets]
    .filter((secret) => leaks(text, lowerText, wordsText, secret.value))
    .map((secret) => secret.label)
}

/** Throws naming which secrets appeared; the message never repeats them. */
export function assertNoSecretsIn(text: string, extraSecrets: readonly KnownSecret[] = []): void {
  const found = findSecretsIn(text, extraSecrets)
  if (found.length > 0) throw new Error(`secret material found in output: ${[...new Set(found)].join(', ')}`)
}
