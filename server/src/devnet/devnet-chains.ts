import type { FinalityRule } from '../config/config.types.ts'

export type DevnetTokenKind = 'tether-usd-clone' | 'usd-coin-clone' | 'bsc-usd-clone'

export type DevnetChainSpec = Readonly<{
  name: string
  /** Not a mainnet chain id: a devnet payment URI must never be payable on a real network. */
  chainId: number
  blockTimeMsDefault: number
  /** anvil's `finalized` tag = head − 2 × slots; used where the finality rule is the tag. */
  slotsInAnEpoch: number
  finality: FinalityRule
  /** Tried first so the devnet keeps its URLs across restarts; a free port is used if it is taken. */
  portPreferred: number
  tokens: ReadonlyArray<{ symbol: string; kind: DevnetTokenKind; decimals: number }>
}>

/** The three chains `npm start` runs when no networks are configured (docs/adr/0005-devnet.md). */
export const devnetChains: readonly DevnetChainSpec[] = [
  {
    name: 'ethereum',
    chainId: 1_337_001,
    blockTimeMsDefault: 2_000,
    slotsInAnEpoch: 2,
    finality: { kind: 'tag' },
    portPreferred: 18_545,
    tokens: [
      { symbol: 'USDT', kind: 'tether-usd-clone', decimals: 6 },
      { symbol: 'USDC', kind: 'usd-coin-clone', decimals: 6 },
    ],
  },
  {
    name: 'bsc',
    chainId: 1_337_056,
    blockTimeMsDefault: 1_000,
    slotsInAnEpoch: 4,
    finality: { kind: 'confirmations', confirmations: 5 },
    portPreferred: 18_546,
    // Listed as USDT (it is Tether's USD on BSC); its contract's own symbol is BSC-USD, with 18 decimals.
    tokens: [{ symbol: 'USDT', kind: 'bsc-usd-clone', decimals: 18 }],
  },
  {
    name: 'arbitrum',
    chainId: 1_342_161,
    blockTimeMsDefault: 500,
    slotsInAnEpoch: 4,
    finality: { kind: 'tag' },
    portPreferred: 18_547,
    tokens: [{ symbol: 'USDC', kind: 'usd-coin-clone', decimals: 6 }],
  },
]

/**
 * Blocks from a devnet chain's head back to its newest final block: its confirmations, or anvil's
 * `finalized` lag (2 × slots) where the rule is the tag. 0 for a chain that is not a devnet chain.
 */
export function devnetFinalityLagBlocks(name: string): number {
  const spec = devnetChains.find((chain) => chain.name === name)
  if (spec === undefined) return 0
  return spec.finality.kind === 'confirmations' ? spec.finality.confirmations : 2 * spec.slotsInAnEpoch
}

/** anvil's default mnemonic: account 0 deploys and owns the tokens, account 1 plays the paying customer. */
export const devnetMnemonic = 'test test test test test test test test test test test junk'
export const devnetDeployerIndex = 0
export const devnetCustomerIndex = 1
/** Listed in the devnet's own sanctions list: a deposit from it is held, never credited. */
export const devnetSanctionedIndex = 9
