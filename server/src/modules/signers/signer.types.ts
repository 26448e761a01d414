import type { Address, Hex } from 'viem'

/**
 * Who signs the hot wallet's transactions (docs/adr/0016-signers-and-cold-wallet.md). The gateway builds
 * the unsigned transaction and says which approved transfers it pays; a signer checks that the call data
 * pays exactly those and nothing else before it signs. The keystore signer does it in process, the remote
 * signer asks a separate service (docs/domain/remote-signer.md) that can also check the database.
 */

/** Per network, from the configuration (`networks[].signer`); absent = keystore. */
export type SignerChoice =
  | Readonly<{ kind: 'keystore' }>
  | Readonly<{ kind: 'remote'; url: string; secretFile: string }>

/** What a transaction is allowed to pay: one approved payout, or one approved sweep to the cold wallet. */
export type PaidItemKind = 'payout' | 'treasury-sweep'

/** One approved transfer the call data must contain. Addresses are compared case-insensitively. */
export type PaidItem = Readonly<{
  kind: PaidItemKind
  id: string
  /** The payout's store; null for treasury proposals (they belong to the gateway). */
  merchantId: string | null
  /** The revision the gateway read when it built the transaction: a changed row is refused. */
  revision: number
  tokenAddress: Address
  destination: Address
  amount: bigint
}>

/** An EIP-1559 transaction before signing. `nonce` is a counter (a JS number, as viem takes it). */
export type UnsignedTransaction = Readonly<{
  to: Address
  data: Hex
  value: bigint
  gas: bigint
  nonce: number
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
}>

export type SigningRequest = Readonly<{
  network: string
  chainId: number
  /** The hot wallet: the signer refuses when the key it holds is not this address. */
  from: Address
  transaction: UnsignedTransaction
  pays: readonly PaidItem[]
}>

export type SignedTransaction = Readonly<{ rawTransaction: Hex; hash: Hex }>

/** Signs one transaction or refuses with a typed error (signer.errors.ts); never returns a partial result. */
export interface Signer {
  readonly kind: SignerChoice['kind']
  sign(request: SigningRequest): Promise<SignedTransaction>
}

/** A transfer decoded from call data. */
export type DecodedTransfer = Readonly<{ tokenAddress: Address; destination: Address; amount: bigint }>
