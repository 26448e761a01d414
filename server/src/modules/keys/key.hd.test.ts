import { HDKey } from '@scure/bip32'
import { mnemonicToSeedSync } from '@scure/bip39'
import fc from 'fast-check'
import { getAddress } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { testSecrets } from '../../../test/setup/leak-guard.ts'
import {
  decompressPublicKey,
  deriveAccountXpub,
  deriveEvmAddress,
  deriveEvmAddressesUsing,
  deriveEvmSigningKey,
  deriveLowercaseEvmAddresses,
  entropyFromMnemonic,
  evmAccountPath,
  generateBip39Entropy,
  mnemonicFromEntropy,
  parseEvmKeyPath,
  publicDerivationEngine,
  publicKeyToEvmAddress,
  seedFromEntropy,
} from './key.hd.ts'
import { nativePublicDerivation, tweakAddPublicKey } from './key.secp256k1-native.ts'

const testSeed = mnemonicToSeedSync(testSecrets.mnemonic)
const account0Xpub = deriveAccountXpub(testSeed, 0)

function codeOf(run: () => unknown): string | undefined {
  try {
    run()
  } catch (error) {
    return (error as { code?: string }).code
  }
  return undefined
}

describe('EVM derivation vectors (Hardhat/Anvil test mnemonic)', () => {
  it('derives the well-known addresses from the account xpub alone', () => {
    expect(deriveEvmAddress(account0Xpub, 0)).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266')
    expect(deriveEvmAddress(account0Xpub, 1)).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8')
    expect(deriveEvmAddress(account0Xpub, 2)).toBe('0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC')
  })

  it('derives the matching private keys on the signer side', () => {
    const key0 = deriveEvmSigningKey(testSeed, { account: 0, index: 0 })
    const key1 = deriveEvmSigningKey(testSeed, { account: 0, index: 1 })
    expect(key0).toEqual({
      path: "m/44'/60'/0'/0/0",
      address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
      privateKey: testSecrets.privateKey0,
    })
    expect(key1.privateKey).toBe(testSecrets.privateKey1)
    expect(key1.address).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8')
  })

  it('gives each hardened account a different address space', () => {
    const account1Xpub = deriveAccountXpub(testSeed, 1)
    expect(account1Xpub).not.toBe(account0Xpub)
    expect(deriveEvmAddress(account1Xpub, 0)).not.toBe(deriveEvmAddress(account0Xpub, 0))
    expect(deriveEvmAddress(account1Xpub, 0)).toBe(
      deriveEvmSigningKey(testSeed, { account: 1, index: 0 }).address,
    )
  })

  it('agrees with viem for random seeds, accounts and indexes (xpub path = private key path)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 64 }),
        fc.integer({ min: 0, max: 0x7fff_ffff }),
        fc.integer({ min: 0, max: 0x7fff_ffff }),
        (seed, account, index) => {
          const signingKey = deriveEvmSigningKey(seed, { account, index })
          const fromXpub = deriveEvmAddress(deriveAccountXpub(seed, account), index)
          return fromXpub === signingKey.address && privateKeyToAddress(signingKey.privateKey) === fromXpub
        },
      ),
      { numRuns: 40 },
    )
  })
})

/** m/44'/60'/0'/0/0-2 of the test mnemonic (anvil's first accounts). */
const account0FirstAddresses = [
  '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
]

/** `derive` gives, for random seeds, indexes and counts up to `countMax`, exactly @scure/bip32's addresses. */
function assertAgreesWithScure(
  countMax: number,
  derive: (xpub: string, first: number, count: number) => readonly string[],
): void {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 64 }),
      fc.integer({ min: 0, max: 0x7fff_ffff - countMax }),
      fc.integer({ min: 1, max: countMax }),
      (seed, first, count) => {
        const xpub = deriveAccountXpub(seed, 0)
        const external = HDKey.fromExtendedKey(xpub).deriveChild(0)
        const addresses = derive(xpub, first, count)
        return (
          addresses.length === count &&
          addresses.every(
            (address, offset) =>
              address === publicKeyToEvmAddress(publicKeyOf(external.deriveChild(first + offset))),
          )
        )
      },
    ),
    { numRuns: 15 },
  )
}

describe('batched derivation (one field inversion per batch)', () => {
  it('gives the known vectors in lower case and agrees with @scure/bip32 on random batches', () => {
    expect(deriveLowercaseEvmAddresses(account0Xpub, 0, 3)).toEqual(
      account0FirstAddresses.map((address) => address.toLowerCase()),
    )
    assertAgreesWithScure(40, (xpub, first, count) => {
      const batch = deriveLowercaseEvmAddresses(xpub, first, count)
      // Lower case, the stored form; batched and one-at-a-time (EIP-55) derivation must agree too.
      const agrees = batch.every(
        (address, offset) =>
          /^0x[0-9a-f]{40}$/.test(address) &&
          address === deriveEvmAddress(xpub, first + offset).toLowerCase(),
      )
      return agrees ? batch.map((address) => getAddress(address)) : []
    })
  })

  it('accepts a batch ending at 2^31-1 and refuses one past it, or a negative count', () => {
    expect(deriveLowercaseEvmAddresses(account0Xpub, 0x7fff_fffe, 2)[1]).toBe(
      deriveEvmAddress(account0Xpub, 0x7fff_ffff).toLowerCase(),
    )
    expect(deriveLowercaseEvmAddresses(account0Xpub, 5, 0)).toEqual([])
    expect(codeOf(() => deriveLowercaseEvmAddresses(account0Xpub, 0x7fff_fffe, 3))).toBe('hd-index-invalid')
    expect(() => deriveLowercaseEvmAddresses(account0Xpub, 0, -1)).toThrow()
  })
})

describe('derivation engines (docs/adr/0024)', () => {
  const engines = ['libsecp256k1', 'noble'] as const

  it('uses libsecp256k1 on linux-x64, where the package ships its addon', () => {
    if (process.platform === 'linux' && process.arch === 'x64')
      expect(publicDerivationEngine).toBe('libsecp256k1')
    expect(nativePublicDerivation).toBe(publicDerivationEngine === 'libsecp256k1')
  })

  // Without the addon (a platform with no prebuilt binary) only noble runs; the test above requires the
  // addon where it ships.
  it.each(nativePublicDerivation ? engines : (['noble'] as const))(
    '%s gives the known vectors and agrees with @scure/bip32',
    (engine) => {
      expect(deriveEvmAddressesUsing(engine, account0Xpub, 0, 3)).toEqual(account0FirstAddresses)
      assertAgreesWithScure(8, (xpub, first, count) => deriveEvmAddressesUsing(engine, xpub, first, count))
    },
  )

  it.skipIf(!nativePublicDerivation)(
    'checks input lengths before calling the addon (a wrong size would abort the process)',
    () => {
      const parent = decompressPublicKey(publicKeyOf(HDKey.fromExtendedKey(account0Xpub)))
      expect(() => tweakAddPublicKey(parent, new Uint8Array(31))).toThrow(/wrong input length/)
      expect(() => tweakAddPublicKey(parent.subarray(0, 33), new Uint8Array(32))).toThrow(
        /wrong input length/,
      )
    },
  )

  it.skipIf(!nativePublicDerivation)(
    'gives no key for a tweak at or above the curve order (BIP32: that index has no key)',
    () => {
      const parent = decompressPublicKey(publicKeyOf(HDKey.fromExtendedKey(account0Xpub)))
      const order = Buffer.from('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141', 'hex')
      expect(tweakAddPublicKey(parent, order)).toBeUndefined()
      const belowOrder = Buffer.from(order)
      belowOrder[31] = 0x40
      expect(tweakAddPublicKey(parent, belowOrder)).toHaveLength(65)
    },
  )
})

function publicKeyOf(key: HDKey): Uint8Array {
  if (key.publicKey === null) throw new Error('no public key')
  return key.publicKey
}

describe('xpub and index validation', () => {
  it('refuses an extended private key: the API holds public keys only', () => {
    const accountXprv = HDKey.fromMasterSeed(testSeed).derive("m/44'/60'/0'").privateExtendedKey
    expect(codeOf(() => deriveEvmAddress(accountXprv, 0))).toBe('xpub-invalid')
  })

  it('refuses a key that is not at account depth', () => {
    const rootXpub = HDKey.fromMasterSeed(testSeed).publicExtendedKey
    expect(codeOf(() => deriveEvmAddress(rootXpub, 0))).toBe('xpub-invalid')
    expect(codeOf(() => deriveEvmAddress('xpub-not-base58', 0))).toBe('xpub-invalid')
  })

  it('accepts indexes 0 and 2^31-1 and rejects -1, 2^31 and fractions', () => {
    expect(deriveEvmAddress(account0Xpub, 0x7fff_ffff)).toMatch(/^0x[0-9a-fA-F]{40}$/)
    for (const index of [-1, 0x8000_0000, 1.5, Number.NaN]) {
      expect(codeOf(() => deriveEvmAddress(account0Xpub, index))).toBe('hd-index-invalid')
    }
    expect(codeOf(() => evmAccountPath(0x8000_0000))).toBe('hd-index-invalid')
  })

  it("parses only m/44'/60'/a'/0/i paths", () => {
    expect(parseEvmKeyPath("m/44'/60'/3'/0/7")).toEqual({ account: 3, index: 7 })
    expect(parseEvmKeyPath("m/44'/60'/2147483647'/0/2147483647")).toEqual({
      account: 0x7fff_ffff,
      index: 0x7fff_ffff,
    })
    for (const path of [
      "m/44'/60'/0/0/0",
      "m/44'/60'/0'/1/0",
      "m/44'/195'/0'/0/0",
      "m/44'/60'/2147483648'/0/0",
      "m/44'/60'/0'/0/0'",
    ]) {
      expect(codeOf(() => parseEvmKeyPath(path))).toBe('key-path-invalid')
    }
  })

  it('rejects public keys off the curve', () => {
    const bad = new Uint8Array(33)
    bad[0] = 2
    bad[32] = 5 // x = 5: 5³ + 7 = 132 is not a square mod p
    expect(codeOf(() => decompressPublicKey(bad))).toBe('xpub-invalid')
  })
})

describe('BIP39', () => {
  it('round-trips entropy through the phrase and reproduces the standard seed', async () => {
    const entropy = entropyFromMnemonic(`  ${testSecrets.mnemonic.toUpperCase().replaceAll(' ', '\n ')} `)
    expect(mnemonicFromEntropy(entropy)).toBe(testSecrets.mnemonic)
    expect(Buffer.from(await seedFromEntropy(entropy))).toEqual(Buffer.from(testSeed))
  })

  it('generates 24-word phrases', () => {
    expect(mnemonicFromEntropy(generateBip39Entropy()).split(' ')).toHaveLength(24)
  })

  it('rejects a bad checksum or unknown word without quoting it', () => {
    for (const phrase of ['test '.repeat(12).trim(), `${'test '.repeat(11)}notaword`]) {
      let caught: unknown
      try {
        entropyFromMnemonic(phrase)
      } catch (error) {
        caught = error
      }
      expect(caught).toMatchObject({ code: 'mnemonic-invalid' })
      expect((caught as Error).cause).toBeUndefined()
      expect((caught as Error).message).not.toContain('test')
      expect((caught as Error).message).not.toContain('notaword')
    }
  })
})
