import { mnemonicToSeedSync } from '@scure/bip39'
import { describe, expect, it, vi } from 'vitest'
import { testSecrets } from '../../../test/setup/leak-guard.ts'

// The run-time cross-check of libsecp256k1 against @scure/bip32 (key.hd.ts, docs/adr/0024): an engine
// that returns a valid point other than the child must stop derivation, never hand out its address.
let wrongFromCall = Number.POSITIVE_INFINITY
let calls = 0

vi.mock('./key.secp256k1-native.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('./key.secp256k1-native.ts')>()
  return {
    ...original,
    nativePublicDerivation: true,
    tweakAddPublicKey: (parent: Uint8Array, tweak: Uint8Array) => {
      calls += 1
      // From the chosen call on: the parent itself, a valid point but not the child.
      return calls >= wrongFromCall ? parent : original.tweakAddPublicKey(parent, tweak)
    },
  }
})

const { deriveAccountXpub, deriveEvmAddressesUsing } = await import('./key.hd.ts')
const { nativePublicDerivation: addonLoads } =
  await vi.importActual<typeof import('./key.secp256k1-native.ts')>('./key.secp256k1-native.ts')
const xpub = deriveAccountXpub(mnemonicToSeedSync(testSecrets.mnemonic), 0)

describe.skipIf(!addonLoads)('libsecp256k1 cross-check', () => {
  it('derives normally while the engine agrees with @scure/bip32', () => {
    wrongFromCall = Number.POSITIVE_INFINITY
    expect(deriveEvmAddressesUsing('libsecp256k1', xpub, 0, 3)[0]).toBe(
      '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    )
  })

  it('stops on a wrong first address', () => {
    calls = 0
    wrongFromCall = 1
    expect(() => deriveEvmAddressesUsing('libsecp256k1', xpub, 10, 5)).toThrow(/wrong address at index 10/)
  })

  it('stops on a wrong address later on, at the next periodic check (every 64th)', () => {
    calls = 0
    wrongFromCall = 2 // the first is right; every later one is wrong
    expect(() => deriveEvmAddressesUsing('libsecp256k1', xpub, 0, 200)).toThrow(/wrong address at index 64/)
  })
})
