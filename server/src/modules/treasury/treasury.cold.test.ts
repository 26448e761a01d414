import { createHash } from 'node:crypto'
import { entropyToMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { describe, expect, it } from 'vitest'
import { testMnemonic } from '../../../test/setup/leak-guard.ts'
import { assertColdAddress, coldAddressOf, combineColdShares, splitColdMnemonic } from './treasury.cold.ts'

// Shamir shares of the cold phrase: every M-subset of N recovers it, M−1 never do, and wrong, mixed,
// duplicated, mistyped or forged shares are refused with their codes.
const phrase24 = entropyToMnemonic(
  new Uint8Array(32).map((_, index) => (index * 37 + 11) % 256),
  wordlist,
)

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
  } catch (error) {
    return (error as { code?: string }).code
  }
  return undefined
}

function subsets<T>(items: readonly T[], size: number): T[][] {
  if (size === 0) return [[]]
  return items.flatMap((item, index) =>
    subsets(items.slice(index + 1), size - 1).map((rest) => [item, ...rest]),
  )
}

/** Rewrites a share's header and recomputes its check: what a forger who knows the format can do. */
function forge(share: string, threshold: number): string {
  const parts = share.split('-')
  parts[4] = String(threshold)
  const body = parts.slice(0, -1).join('-')
  return `${body}-${createHash('sha256').update(body).digest().subarray(0, 4).toString('hex')}`
}

describe('cold wallet shares', () => {
  it('any 3 of 5 recover the phrase (12 and 24 words); the order does not matter', async () => {
    for (const phrase of [testMnemonic, phrase24]) {
      const shares = await splitColdMnemonic(phrase, { threshold: 3, shares: 5 })
      expect(shares).toHaveLength(5)
      for (const subset of subsets(shares, 3)) {
        expect(await combineColdShares(subset.join('\n'))).toBe(phrase)
        expect(await combineColdShares([...subset].reverse().join('\n'))).toBe(phrase)
      }
      expect(await combineColdShares(shares.join('\n'))).toBe(phrase)
    }
  })

  it('M − 1 shares do not recover it, even with a forged lower threshold', async () => {
    const shares = await splitColdMnemonic(phrase24, { threshold: 3, shares: 5 })
    for (const subset of subsets(shares, 2))
      expect(await code(combineColdShares(subset.join('\n')))).toBe('cold-shares-below-threshold')
    const forged = shares.slice(0, 2).map((share) => forge(share, 2))
    expect(await code(combineColdShares(forged.join('\n')))).toBe('cold-secret-check-failed')
  })

  it('refuses duplicated, mixed, mistyped and malformed shares', async () => {
    const shares = await splitColdMnemonic(testMnemonic, { threshold: 2, shares: 3 })
    const other = await splitColdMnemonic(testMnemonic, { threshold: 2, shares: 3 })
    const [a, b] = shares as [string, string]
    expect(await code(combineColdShares(`${a}\n${a}`))).toBe('cold-share-duplicate')
    expect(await code(combineColdShares(`${a}\n${other[1]}`))).toBe('cold-shares-mixed')
    const typo = `${b.slice(0, 30)}${b[30] === '0' ? '1' : '0'}${b.slice(31)}`
    expect(await code(combineColdShares(`${a}\n${typo}`))).toBe('cold-share-checksum-invalid')
    expect(await code(combineColdShares(`${a}\nnot a share`))).toBe('cold-share-malformed')
    expect(await code(combineColdShares(''))).toBe('cold-shares-below-threshold')
  })

  it('bounds the split: 2 ≤ M ≤ N ≤ 16, and only a valid phrase', async () => {
    expect(await code(splitColdMnemonic(testMnemonic, { threshold: 1, shares: 3 }))).toBe(
      'cold-split-invalid',
    )
    expect(await code(splitColdMnemonic(testMnemonic, { threshold: 4, shares: 3 }))).toBe(
      'cold-split-invalid',
    )
    expect(await code(splitColdMnemonic(testMnemonic, { threshold: 2, shares: 17 }))).toBe(
      'cold-split-invalid',
    )
    expect(await splitColdMnemonic(testMnemonic, { threshold: 16, shares: 16 })).toHaveLength(16)
    expect(await code(splitColdMnemonic('test test test', { threshold: 2, shares: 3 }))).toBe(
      'cold-mnemonic-invalid',
    )
  })

  it('verifies the phrase against the configured cold address', () => {
    // Anvil account 0: m/44'/60'/0'/0/0 of the test mnemonic.
    const anvil0 = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
    expect(coldAddressOf(testMnemonic)).toBe(anvil0)
    expect(assertColdAddress(testMnemonic, anvil0.toLowerCase())).toBe(anvil0)
    expect(() => assertColdAddress(phrase24, anvil0)).toThrow(
      expect.objectContaining({ code: 'cold-address-mismatch' }),
    )
  })
})
