/**
 * A payment is a token transfer to one of our deposit addresses, as seen on chain (docs/GLOSSARY.md).
 * detected → confirmed → finalized is the happy path (shown as initiated → confirmed → finalized);
 * orphaned, held, unsupported and dust are recorded and shown but never credited to their owner.
 */
export type PaymentStatus =
  | 'detected'
  | 'confirmed'
  | 'finalized'
  | 'orphaned'
  | 'held'
  | 'unsupported'
  | 'dust'

export type DepositOwnerKind = 'customer' | 'invoice'

export type DepositAddress = Readonly<{
  address: string
  merchantId: string
  ownerKind: DepositOwnerKind
  ownerId: string
  hdAccount: number
  hdIndex: number
  createdAt: Date
}>

export type Payment = Readonly<{
  id: string
  network: string
  txHash: string
  logIndex: number
  blockNumber: bigint
  blockHash: string
  tokenAddress: string
  assetId: string | null
  fromAddress: string
  toAddress: string
  amount: bigint
  status: PaymentStatus
  final: boolean
  merchantId: string
  ownerKind: DepositOwnerKind
  ownerId: string
  ledgerTransferId: string | null
  detectedAt: Date
  confirmedAt: Date | null
  finalizedAt: Date | null
}>

/** What the chain says about a payment's block at one moment. */
export type ChainObservation = Readonly<{
  headNumber: bigint
  /** Highest block number that satisfies the network's finality rule. */
  finalizedNumber: bigint
}>

export type PaymentEventType =
  | 'payment.initiated'
  | 'payment.confirmed'
  | 'payment.finalized'
  | 'payment.orphaned'
  | 'payment.held'
