import { createHmac, randomBytes } from 'node:crypto'
import { normalizeZ } from '@noble/curves/abstract/curve.js'
import type { WeierstrassPoint } from '@noble/curves/abstract/weierstrass.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { HDKey } from '@scure/bip32'
import { entropyToMnemonic, mnemonicToEntropy, mnemonicToSeed, validateMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { type Address, bytesToHex, getAddress } from 'viem'
import { publicKeyToAddress } from 'viem/accounts'
import { assert } from '../../lib/assert.ts'
import { hdIndexInvalid, keyPathInvalid, mnemonicInvalid, xpubInvalid } from './key.errors.ts'
import { nativePublicDerivation, tweakAddPublicKey } from './key.secp256k1-native.ts'
import type { EvmKeyPath, EvmSigningKey } from './key.types.ts'

/**
 * Pure BIP39/BIP32 derivation for EVM keys: m/44'/60'/{account}'/0/{index}. One hardened account per
 * merchant: BIP32 lets anyone holding a parent xpub and one non-hardened child private key compute the
 * parent private key, so the hardened step keeps a leaked deposit key from exposing other merchants.
 */

/** Largest non-hardened BIP32 index; account numbers are hardened on top of the same range. */
export const hdIndexMax = 0x7fff_ffff
// Account-level keys sit at depth 3: m / 44' / 60' / account'.
const accountDepth = 3
const evmKeyPathPattern = /^m\/44'\/60'\/(\d{1,10})'\/0\/(\d{1,10})$/

function assertHdIndex(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > hdIndexMax) throw hdIndexInvalid(name, value)
}

export function evmAccountPath(account: number): string {
  assertHdIndex('account', account)
  return `m/44'/60'/${account}'`
}

export function formatEvmKeyPath(path: EvmKeyPath): string {
  assertHdIndex('index', path.index)
  return `${evmAccountPath(path.account)}/0/${path.index}`
}

/** Accepts only the deposit-key shape, so a signer cannot be asked for keys outside the scheme. */
export function parseEvmKeyPath(path: string): EvmKeyPath {
  const match = evmKeyPathPattern.exec(path)
  if (match === null || match[1] === undefined || match[2] === undefined) throw keyPathInvalid(path)
  const account = Number(match[1])
  const index = Number(match[2])
  if (account > hdIndexMax || index > hdIndexMax) throw keyPathInvalid(path)
  return { account, index }
}

// secp256k1 field prime. Addresses hash the uncompressed point; BIP32 hands out compressed ones, and
// decompressing here avoids importing @noble/curves, which is not a direct dependency.
const fieldPrime = 2n ** 256n - 2n ** 32n - 977n

function powMod(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n
  let factor = base % modulus
  let remaining = exponent
  while (remaining > 0n) {
    if (remaining & 1n) result = (result * factor) % modulus
    factor = (factor * factor) % modulus
    remaining >>= 1n
  }
  return result
}

/** y² = x³ + 7 over the field; p ≡ 3 (mod 4), so the square root is a single exponentiation. */
export function decompressPublicKey(compressed: Uint8Array): Uint8Array {
  const prefix = compressed[0]
  if (compressed.length !== 33 || (prefix !== 2 && prefix !== 3)) throw xpubInvalid('malformed public key')
  const x = BigInt(bytesToHex(compressed.subarray(1)))
  const ySquared = (powMod(x, 3n, fieldPrime) + 7n) % fieldPrime
  let y = powMod(ySquared, (fieldPrime + 1n) / 4n, fieldPrime)
  if ((y * y) % fieldPrime !== ySquared) throw xpubInvalid('public key is not on secp256k1')
  if ((y & 1n) !== BigInt(prefix & 1)) y = fieldPrime - y
  const uncompressed = new Uint8Array(65)
  uncompressed[0] = 4
  uncompressed.set(compressed.subarray(1), 1)
  uncompressed.set(Buffer.from(y.toString(16).padStart(64, '0'), 'hex'), 33)
  return uncompressed
}

export function publicKeyToEvmAddress(compressed: Uint8Array): Address {
  return publicKeyToAddress(bytesToHex(decompressPublicKey(compressed)))
}

function parseAccountXpub(accountXpub: string): HDKey {
  let key: HDKey
  try {
    key = HDKey.fromExtendedKey(accountXpub)
  } catch {
    // No cause: the library's message may quote the input, and an xprv pasted by mistake is a secret.
    throw xpubInvalid('not a base58check-encoded extended key')
  }
  if (key.privateKey !== null) {
    key.wipePrivateData()
    throw xpubInvalid('an extended private key was given; address derivation takes public keys only')
  }
  if (key.depth !== accountDepth)
    throw xpubInvalid(`depth ${key.depth}, expected ${accountDepth} (m/44'/60'/account')`)
  return key
}

/**
 * The EIP-55 address at m/44'/60'/{account}'/0/{index}, computed from the account xpub alone: this is
 * what the API process calls, and it never sees a private key.
 */
export function deriveEvmAddress(accountXpub: string, index: number): Address {
  return getAddress(deriveLowercaseEvmAddress(accountXpub, index))
}

/** deriveEvmAddress in lower case (see deriveLowercaseEvmAddresses). */
export function deriveLowercaseEvmAddress(accountXpub: string, index: number): Address {
  assertHdIndex('index', index)
  return externalChainOf(accountXpub).addressAt(index)
}

/**
 * The addresses of `count` consecutive indexes from `first` (cheaper per address in batches), in lower
 * case, the form deposit addresses are stored and matched in: the EIP-55 checksum is a second keccak per
 * address (~15 of ~95 µs on the invoice bench's host) that storing callers only lower-cased away again.
 */
export function deriveLowercaseEvmAddresses(accountXpub: string, first: number, count: number): Address[] {
  assertAddressRange(first, count)
  return externalChainOf(accountXpub).addressesFrom(first, count)
}

/**
 * deriveLowercaseEvmAddresses on a chosen engine, with the EIP-55 checksum, uncached: key.hd.test.ts holds
 * each engine to @scure/bip32.
 */
export function deriveEvmAddressesUsing(
  engine: PublicDerivationEngine,
  accountXpub: string,
  first: number,
  count: number,
): Address[] {
  assertAddressRange(first, count)
  return externalChainFromKey(parseAccountXpub(accountXpub).deriveChild(0), engine)
    .addressesFrom(first, count)
    .map((address) => getAddress(address))
}

function assertAddressRange(first: number, count: number): void {
  assertHdIndex('index', first)
  assert(Number.isSafeInteger(count) && count >= 0, `address count ${count} is not a whole number`)
  if (count > 0) assertHdIndex('index', first + count - 1)
}

/**
 * BIP32 public child derivation (CKDpub) for one external chain, done with the curve directly: the
 * child point is parent + IL·G, hashed from its affine coordinates. @scure/bip32's deriveChild returns a
 * compressed key that we would then decompress again (a square root). key.hd.test.ts checks both agree
 * on known vectors and random indexes, one at a time and in batches.
 */
type ExternalChain = Readonly<{
  /** The address in lower case (callers that show it add the EIP-55 checksum). */
  addressAt: (index: number) => Address
  /** Addresses `first … first + count - 1`, as addressAt gives them, with one field inversion for all. */
  addressesFrom: (first: number, count: number) => Address[]
}>

/**
 * G with a 2^10-entry wNAF window table (~170 ms and ~7 MB once per process, on first use), for the
 * variable-time multiplication IL·G. Variable time is safe here because public (xpub) derivation handles
 * no secret: IL = HMAC-SHA512(chain code, parent key ‖ index) is computable by anyone holding the xpub,
 * so timing IL·G reveals nothing the xpub does not. Never use this point with a private scalar.
 * Measured per multiplication (2 cores, ADR 0022): BASE.multiply (constant time) ~340 µs,
 * BASE.multiplyUnsafe ~200 µs, this table ~150 µs; window 12 saves ~10 µs more for ~0.5 s of start-up.
 */
const publicBaseWindowBits = 10
let publicBase: WeierstrassPoint<bigint> | undefined

function publicBasePoint(): WeierstrassPoint<bigint> {
  if (publicBase !== undefined) return publicBase
  const { BASE } = secp256k1.Point
  // A copy: precompute() keys its table by point identity, and the library's own BASE keeps its table.
  publicBase = new secp256k1.Point(BASE.X, BASE.Y, BASE.Z).precompute(publicBaseWindowBits)
  return publicBase
}

/** Which curve code computes IL·G + parent: libsecp256k1 where its addon loads, else @noble/curves. */
export type PublicDerivationEngine = 'libsecp256k1' | 'noble'
export const publicDerivationEngine: PublicDerivationEngine = nativePublicDerivation
  ? 'libsecp256k1'
  : 'noble'

function externalChainFromKey(chain: HDKey, engine: PublicDerivationEngine): ExternalChain {
  const { publicKey, chainCode } = chain
  assert(publicKey !== null && chainCode !== null, 'an external chain key has a public key and chain code')
  const data = new Uint8Array(37)
  data.set(publicKey, 0)
  const view = new DataView(data.buffer)
  // IL = HMAC-SHA512(chain code, parent key ‖ index), left half. OpenSSL's HMAC: ~3 µs against ~16 µs for
  // @noble/hashes' (public inputs, as above).
  const tweakOf = (index: number): Uint8Array => {
    view.setUint32(33, index)
    return createHmac('sha512', chainCode).update(data).digest().subarray(0, 32)
  }
  return engine === 'libsecp256k1'
    ? nativeExternalChain(chain, decompressPublicKey(publicKey), tweakOf)
    : nobleExternalChain(secp256k1.Point.fromBytes(publicKey), tweakOf)
}

/** The lower-case address of a 65-byte uncompressed public key: the last 20 bytes of its keccak. */
const addressOfUncompressed = (point: Uint8Array): Address =>
  bytesToHex(keccak_256(point.subarray(1)).subarray(12))

/**
 * libsecp256k1: ~4× less CPU per address than the table path below (docs/adr/0024). An address that
 * is wrong would send a payer's money where no key of ours can reach, so the first address this chain
 * derives and every `nativeCrossCheckEvery`-th after it is derived again by @scure/bip32 (its compressed
 * key compared with ours), and a mismatch stops derivation: ~0.5 ms per check, ~8 µs per address.
 */
function nativeExternalChain(
  chain: HDKey,
  parent: Uint8Array,
  tweakOf: (index: number) => Uint8Array,
): ExternalChain {
  let derived = 0
  const addressAt = (index: number): Address => {
    const child = tweakAddPublicKey(parent, tweakOf(index))
    // BIP32: such an index has no key (probability below 2^-127); callers never see it.
    assert(child !== undefined, `BIP32 index ${index} has no valid child key`)
    if (derived % nativeCrossCheckEvery === 0) {
      const expected = chain.deriveChild(index).publicKey
      assert(
        expected !== null && sameCompressedKey(child, expected),
        `libsecp256k1 derived a wrong address at index ${index}: derivation stopped`,
      )
    }
    derived += 1
    return addressOfUncompressed(child)
  }
  return {
    addressAt,
    addressesFrom: (first, count) => Array.from({ length: count }, (_, offset) => addressAt(first + offset)),
  }
}

/** Addresses per @scure/bip32 cross-check, per external chain (one per merchant account in use). */
const nativeCrossCheckEvery = 64

/** Whether a 65-byte uncompressed point is the 33-byte compressed key: same x, same y parity. */
function sameCompressedKey(uncompressed: Uint8Array, compressed: Uint8Array): boolean {
  const yIsOdd = ((uncompressed[64] ?? 0) & 1) === 1
  if (compressed[0] !== (yIsOdd ? 3 : 2)) return false
  for (let byte = 1; byte <= 32; byte += 1) if (uncompressed[byte] !== compressed[byte]) return false
  return true
}

function nobleExternalChain(
  parent: WeierstrassPoint<bigint>,
  tweakOf: (index: number) => Uint8Array,
): ExternalChain {
  const curveOrder = secp256k1.Point.CURVE().n
  // Projective child point; its Z is inverted later, by the caller, alone or in a batch.
  const childPoint = (index: number): WeierstrassPoint<bigint> => {
    const tweak = BigInt(bytesToHex(tweakOf(index)))
    // BIP32: such an index has no key (probability below 2^-127); callers never see it. IL = 0 is a
    // valid tweak (the child is the parent), as in @scure/bip32 and libsecp256k1.
    assert(tweak < curveOrder, `BIP32 index ${index} has no valid child key`)
    const child = tweak === 0n ? parent : publicBasePoint().multiplyUnsafe(tweak).add(parent)
    assert(!child.is0(), `BIP32 index ${index} has no valid child key`)
    return child
  }
  const addressOf = (child: WeierstrassPoint<bigint>): Address => addressOfUncompressed(child.toBytes(false))
  return {
    addressAt: (index) => addressOf(childPoint(index)),
    addressesFrom: (first, count) => {
      const points = Array.from({ length: count }, (_, offset) => childPoint(first + offset))
      return normalizeZ(secp256k1.Point, points).map(addressOf)
    },
  }
}

// Parsing the xpub and deriving its external chain (…/0) cost ~2 ms of CPU per address (bench/api): keep
// the chain of recent xpubs. Public keys only; bounded in entries (one per merchant in use).
const externalChainCacheEntriesMax = 1_024
const externalChainCache = new Map<string, ExternalChain>()

function externalChainOf(accountXpub: string): ExternalChain {
  const cached = externalChainCache.get(accountXpub)
  if (cached !== undefined) return cached
  const chain = externalChainFromKey(parseAccountXpub(accountXpub).deriveChild(0), publicDerivationEngine)
  if (externalChainCache.size >= externalChainCacheEntriesMax) {
    const oldest = externalChainCache.keys().next().value
    if (oldest !== undefined) externalChainCache.delete(oldest)
  }
  externalChainCache.set(accountXpub, chain)
  return chain
}

/** The account-level xpub; the seed stays with the caller, which should wipe it afterwards. */
export function deriveAccountXpub(seed: Uint8Array, account: number): string {
  const root = HDKey.fromMasterSeed(seed)
  const accountKey = root.derive(evmAccountPath(account))
  const xpub = accountKey.publicExtendedKey
  accountKey.wipePrivateData()
  root.wipePrivateData()
  return xpub
}

/** Signer side only: the private key of one deposit address. */
export function deriveEvmSigningKey(seed: Uint8Array, path: EvmKeyPath): EvmSigningKey {
  const formatted = formatEvmKeyPath(path)
  const root = HDKey.fromMasterSeed(seed)
  const child = root.derive(formatted)
  root.wipePrivateData()
  const { privateKey, publicKey } = child
  assert(privateKey !== null && publicKey !== null, 'a key derived from a seed has a private key')
  const signingKey = {
    path: formatted,
    address: publicKeyToEvmAddress(publicKey),
    privateKey: bytesToHex(privateKey),
  }
  child.wipePrivateData()
  return signingKey
}

/** 256 bits: a 24-word phrase. */
export function generateBip39Entropy(): Uint8Array {
  return new Uint8Array(randomBytes(32))
}

/** Validates an operator-supplied phrase; whitespace and letter case are normalised first. */
export function entropyFromMnemonic(mnemonic: string): Uint8Array {
  const normalised = mnemonic.trim().toLowerCase().split(/\s+/).join(' ')
  if (!validateMnemonic(normalised, wordlist)) throw mnemonicInvalid()
  return mnemonicToEntropy(normalised, wordlist)
}

export function mnemonicFromEntropy(entropy: Uint8Array): string {
  return entropyToMnemonic(entropy, wordlist)
}

/** BIP39 seed without a passphrase ("25th word"): recovery in any standard wallet needs only the words. */
export async function seedFromEntropy(entropy: Uint8Array): Promise<Uint8Array> {
  return await mnemonicToSeed(mnemonicFromEntropy(entropy))
}
