import type { ChainObservation, PaymentEventType, PaymentStatus } from './payment.types.ts'

/** Blocks (the payment's own included) before a detected payment shows as confirmed. */
export const confirmationsForConfirmedStatus = 2n

export type Classification = Readonly<{
  assetConfigured: boolean
  amount: bigint
  /** Amounts below this (in minor units) are dust: possible address poisoning, never credited. */
  dustThresholdMinor: bigint
  senderSanctioned: boolean
}>

/** The status a newly seen transfer starts in, and the event it emits (if any). */
export function classifyNewPayment(input: Classification): {
  status: PaymentStatus
  event: PaymentEventType | null
} {
  if (!input.assetConfigured) return { status: 'unsupported', event: null }
  if (input.amount === 0n || input.amount < input.dustThresholdMinor) return { status: 'dust', event: null }
  if (input.senderSanctioned) return { status: 'held', event: 'payment.held' }
  return { status: 'detected', event: 'payment.initiated' }
}

export function confirmationsOf(blockNumber: bigint, observation: ChainObservation): bigint {
  return observation.headNumber >= blockNumber ? observation.headNumber - blockNumber + 1n : 0n
}

export type Progress =
  | { kind: 'none' }
  | { kind: 'confirm'; event: 'payment.confirmed' }
  | { kind: 'finalize'; event: 'payment.finalized' }
  /** A held payment became final on chain: park it in suspense, still not credited. */
  | { kind: 'finalize-held' }

/**
 * How an open payment moves forward given the chain's head and finality (its block hash having been
 * checked this tick). Never backwards: orphaning is decided by reorg detection, not here.
 */
export function progressOf(
  status: PaymentStatus,
  final: boolean,
  blockNumber: bigint,
  observation: ChainObservation,
): Progress {
  const isFinal = blockNumber <= observation.finalizedNumber
  if (status === 'held') return isFinal && !final ? { kind: 'finalize-held' } : { kind: 'none' }
  if (status !== 'detected' && status !== 'confirmed') return { kind: 'none' }
  if (isFinal) return { kind: 'finalize', event: 'payment.finalized' }
  if (status === 'detected' && confirmationsOf(blockNumber, observation) >= confirmationsForConfirmedStatus) {
    return { kind: 'confirm', event: 'payment.confirmed' }
  }
  return { kind: 'none' }
}

/** Statuses a reorg can take back (nothing final is ever reverted). */
export function canBeOrphaned(status: PaymentStatus, final: boolean): boolean {
  return (
    !final &&
    (status === 'detected' ||
      status === 'confirmed' ||
      status === 'held' ||
      status === 'dust' ||
      status === 'unsupported')
  )
}
