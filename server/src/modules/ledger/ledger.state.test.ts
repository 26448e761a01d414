import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { uint256Max } from '../../../../sdk/src/money.ts'
import { AppError } from '../../lib/errors.ts'
import { ledgerLimits } from './ledger.limits.ts'
import {
  addBalances,
  availableBalance,
  exceedsBalanceLimits,
  legDeltas,
  metadataBytes,
  pendingResolutionError,
  pendingStatus,
  postedBalance,
  replayTransfers,
  requestHash,
  systemAccountSpec,
  validateAccountInput,
  validateTransferBatch,
  validateTransferRequest,
  zeroBalances,
} from './ledger.state.ts'
import {
  type AccountInput,
  type Balances,
  type SingleTransferRequest,
  systemAccountKinds,
  type Transfer,
  type TransferRequest,
} from './ledger.types.ts'

const single: SingleTransferRequest = {
  kind: 'single',
  id: 'trf_1',
  debitAccountId: 'acc_A',
  creditAccountId: 'acc_B',
  assetId: 'USDT@ethereum',
  amount: 10n,
  code: 'deposit',
}

/** The error code a call throws, or 'ok'. */
function codeOf(call: () => void): string {
  try {
    call()
    return 'ok'
  } catch (error) {
    if (error instanceof AppError) return error.code
    throw error
  }
}

const check = (request: TransferRequest) => codeOf(() => validateTransferRequest(request))

describe('transfer validation', () => {
  it('takes ids up to transferIdLengthMax characters, not one more, and never expire:…', () => {
    expect(check({ ...single, id: 'a'.repeat(ledgerLimits.transferIdLengthMax) })).toBe('ok')
    expect(check({ ...single, id: 'a'.repeat(ledgerLimits.transferIdLengthMax + 1) })).toBe(
      'transfer-invalid',
    )
    expect(check({ ...single, id: 'deposit:dep_1:credit' })).toBe('ok')
    expect(check({ ...single, id: '' })).toBe('transfer-invalid')
    expect(check({ ...single, id: '-leading-dash' })).toBe('transfer-invalid')
    expect(check({ ...single, id: 'has space' })).toBe('transfer-invalid')
    expect(check({ ...single, id: 'expire:trf_1' })).toBe('transfer-invalid')
  })

  it('takes amounts in 1..2^256-1 as bigint only', () => {
    expect(check({ ...single, amount: 1n })).toBe('ok')
    expect(check({ ...single, amount: uint256Max })).toBe('ok')
    expect(check({ ...single, amount: 0n })).toBe('transfer-amount-invalid')
    expect(check({ ...single, amount: -1n })).toBe('transfer-amount-invalid')
    expect(check({ ...single, amount: uint256Max + 1n })).toBe('transfer-amount-invalid')
    expect(check({ ...single, amount: 10 as unknown as bigint })).toBe('transfer-amount-invalid')
  })

  it('refuses a transfer from an account to itself', () => {
    expect(check({ ...single, creditAccountId: single.debitAccountId })).toBe('same-account')
    expect(check({ ...single, creditAccountId: '' })).toBe('transfer-invalid')
  })

  it('takes kebab-case codes up to codeLengthMax characters', () => {
    expect(check({ ...single, code: 'a'.repeat(ledgerLimits.codeLengthMax) })).toBe('ok')
    expect(check({ ...single, code: 'a'.repeat(ledgerLimits.codeLengthMax + 1) })).toBe('transfer-invalid')
    expect(check({ ...single, code: 'Deposit' })).toBe('transfer-invalid')
  })

  it('takes network-specific asset ids only', () => {
    expect(check({ ...single, assetId: 'USDT@tron' })).toBe('ok')
    expect(check({ ...single, assetId: 'USDT' })).toBe('transfer-invalid')
    expect(check({ ...single, assetId: `${'U'.repeat(17)}@ethereum` })).toBe('transfer-invalid')
  })

  it('takes metadata up to metadataKeysMax keys and metadataBytesMax bytes, string values only', () => {
    const keys = (count: number) =>
      Object.fromEntries(Array.from({ length: count }, (_, index) => [`k${index}`, 'v']))
    expect(check({ ...single, metadata: keys(ledgerLimits.metadataKeysMax) })).toBe('ok')
    expect(check({ ...single, metadata: keys(ledgerLimits.metadataKeysMax + 1) })).toBe('metadata-too-large')
    const atMax = { k: 'v'.repeat(ledgerLimits.metadataBytesMax - 1) }
    expect(metadataBytes(atMax)).toBe(ledgerLimits.metadataBytesMax)
    expect(check({ ...single, metadata: atMax })).toBe('ok')
    expect(check({ ...single, metadata: { k: 'v'.repeat(ledgerLimits.metadataBytesMax) } })).toBe(
      'metadata-too-large',
    )
    // Bytes, not characters: "é" is two bytes in UTF-8, as octet_length counts it in PostgreSQL.
    const accented = { k: 'é'.repeat((ledgerLimits.metadataBytesMax - 1) / 2 + 1) }
    expect(metadataBytes(accented)).toBe(ledgerLimits.metadataBytesMax + 1)
    expect(check({ ...single, metadata: accented })).toBe('metadata-too-large')
    expect(check({ ...single, metadata: { k: 1 } as unknown as Record<string, string> })).toBe(
      'transfer-invalid',
    )
    expect(check({ ...single, metadata: ['a'] as unknown as Record<string, string> })).toBe(
      'transfer-invalid',
    )
  })

  it('takes pending timeouts in pendingTimeoutMsMin..pendingTimeoutMsMax whole milliseconds', () => {
    const pending = (timeoutMs: number): TransferRequest => ({ ...single, kind: 'pending', timeoutMs })
    expect(check(pending(ledgerLimits.pendingTimeoutMsMin))).toBe('ok')
    expect(check(pending(ledgerLimits.pendingTimeoutMsMax))).toBe('ok')
    expect(check(pending(ledgerLimits.pendingTimeoutMsMin - 1))).toBe('pending-timeout-invalid')
    expect(check(pending(ledgerLimits.pendingTimeoutMsMax + 1))).toBe('pending-timeout-invalid')
    expect(check(pending(1.5))).toBe('pending-timeout-invalid')
  })

  it('validates posts and voids', () => {
    expect(check({ kind: 'post', id: 'p', pendingId: 'trf_1' })).toBe('ok')
    expect(check({ kind: 'post', id: 'p', pendingId: 'trf_1', amount: 1n })).toBe('ok')
    expect(check({ kind: 'post', id: 'p', pendingId: 'trf_1', amount: 0n })).toBe('transfer-amount-invalid')
    expect(check({ kind: 'void', id: 'v', pendingId: 'trf_1' })).toBe('ok')
    expect(check({ kind: 'void', id: 'v', pendingId: '' })).toBe('transfer-invalid')
    expect(check({ kind: 'bogus' } as unknown as TransferRequest)).toBe('transfer-invalid')
  })

  it('takes batches of 1..linkedTransfersMax transfers with distinct ids', () => {
    const batch = (count: number) =>
      Array.from({ length: count }, (_, index) => ({ ...single, id: `t${index}` }))
    expect(codeOf(() => validateTransferBatch(batch(1)))).toBe('ok')
    expect(codeOf(() => validateTransferBatch(batch(ledgerLimits.linkedTransfersMax)))).toBe('ok')
    expect(codeOf(() => validateTransferBatch(batch(ledgerLimits.linkedTransfersMax + 1)))).toBe(
      'linked-batch-too-large',
    )
    expect(codeOf(() => validateTransferBatch([]))).toBe('transfer-invalid')
    expect(codeOf(() => validateTransferBatch([single, single]))).toBe('transfer-invalid')
  })
})

describe('account validation', () => {
  const merchant: AccountInput = {
    ownerType: 'merchant',
    ownerId: 'mer_1',
    purpose: 'available',
    assetId: 'USDT@tron',
    normalSide: 'credit',
  }
  const accountCode = (input: AccountInput) => codeOf(() => validateAccountInput(input))

  it('accepts a limited account and a hot unlimited one', () => {
    expect(accountCode({ ...merchant, flags: { debitsMustNotExceedCredits: true } })).toBe('ok')
    expect(accountCode({ ...merchant, hot: true })).toBe('ok')
  })

  it('refuses both limits at once, and a hot account with a limit', () => {
    const both = { debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: true }
    expect(accountCode({ ...merchant, flags: both })).toBe('account-invalid')
    expect(accountCode({ ...merchant, hot: true, flags: { creditsMustNotExceedDebits: true } })).toBe(
      'account-invalid',
    )
  })

  it('refuses malformed owner ids, purposes and assets', () => {
    expect(accountCode({ ...merchant, ownerId: 'x'.repeat(64) })).toBe('ok')
    expect(accountCode({ ...merchant, ownerId: 'x'.repeat(65) })).toBe('account-invalid')
    expect(accountCode({ ...merchant, purpose: 'Available' })).toBe('account-invalid')
    expect(accountCode({ ...merchant, assetId: 'USDT' })).toBe('account-invalid')
  })

  it('keeps every hot system account free of balance limits', () => {
    for (const kind of systemAccountKinds) {
      const spec = systemAccountSpec(kind)
      const limited = spec.flags.debitsMustNotExceedCredits || spec.flags.creditsMustNotExceedDebits
      expect(spec.hot && limited, kind).toBe(false)
    }
  })
})

describe('request hash', () => {
  it('ignores metadata key order and sees every field', () => {
    const a = requestHash({ ...single, metadata: { x: '1', y: '2' } })
    expect(requestHash({ ...single, metadata: { y: '2', x: '1' } })).toBe(a)
    expect(requestHash({ ...single, metadata: { x: '1', y: '3' } })).not.toBe(a)
    expect(requestHash({ ...single, amount: 11n })).not.toBe(requestHash(single))
    expect(requestHash({ ...single, metadata: {} })).toBe(requestHash(single))
    expect(requestHash({ kind: 'post', id: 'p', pendingId: 'q' })).not.toBe(
      requestHash({ kind: 'post', id: 'p', pendingId: 'q', amount: 1n }),
    )
  })
})

const balances = (
  debitsPending: bigint,
  debitsPosted: bigint,
  creditsPending: bigint,
  creditsPosted: bigint,
) => ({ debitsPending, debitsPosted, creditsPending, creditsPosted }) satisfies Balances

describe('balance rules', () => {
  const noOverdraft = { debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: false }
  const noNegative = { debitsMustNotExceedCredits: false, creditsMustNotExceedDebits: true }

  it('allows debits (pending + posted) up to posted credits, not one more', () => {
    expect(exceedsBalanceLimits(noOverdraft, balances(4n, 6n, 0n, 10n))).toBe(false)
    expect(exceedsBalanceLimits(noOverdraft, balances(5n, 6n, 0n, 10n))).toBe(true)
    // Incoming pending credits are not spendable yet.
    expect(exceedsBalanceLimits(noOverdraft, balances(0n, 11n, 5n, 10n))).toBe(true)
  })

  it('allows credits (pending + posted) up to posted debits, not one more', () => {
    expect(exceedsBalanceLimits(noNegative, balances(0n, 10n, 3n, 7n))).toBe(false)
    expect(exceedsBalanceLimits(noNegative, balances(0n, 10n, 4n, 7n))).toBe(true)
  })

  it('flags negative counters on any account', () => {
    const unlimited = { debitsMustNotExceedCredits: false, creditsMustNotExceedDebits: false }
    expect(exceedsBalanceLimits(unlimited, balances(0n, 0n, 0n, 0n))).toBe(false)
    expect(exceedsBalanceLimits(unlimited, balances(-1n, 0n, 0n, 0n))).toBe(true)
  })

  it('computes posted and available on the normal side', () => {
    const counters = balances(3n, 5n, 2n, 20n)
    expect(postedBalance('credit', counters)).toBe(15n)
    expect(availableBalance('credit', counters)).toBe(12n)
    expect(postedBalance('debit', counters)).toBe(-15n)
    expect(availableBalance('debit', counters)).toBe(-17n)
  })
})

describe('two-phase transitions', () => {
  const timeoutAt = new Date('2026-01-01T00:00:10Z')
  const pending = { kind: 'pending', amount: 100n, timeoutAt } as const
  const before = new Date(timeoutAt.getTime() - 1)

  it('times out exactly at timeoutAt', () => {
    expect(pendingStatus(pending, undefined, before)).toBe('pending')
    expect(pendingStatus(pending, undefined, timeoutAt)).toBe('expired')
    expect(pendingStatus(pending, 'post', timeoutAt)).toBe('posted')
  })

  it('allows one post or void, of at most the pending amount, before the timeout', () => {
    expect(pendingResolutionError({ kind: 'post', amount: 100n }, pending, undefined, before)).toBeUndefined()
    expect(pendingResolutionError({ kind: 'post', amount: 101n }, pending, undefined, before)).toBe(
      'post-amount-exceeds-pending',
    )
    expect(pendingResolutionError({ kind: 'post' }, pending, undefined, timeoutAt)).toBe(
      'pending-transfer-expired',
    )
    expect(pendingResolutionError({ kind: 'void' }, pending, 'post', before)).toBe(
      'pending-transfer-already-posted',
    )
    expect(pendingResolutionError({ kind: 'post' }, pending, 'void', before)).toBe(
      'pending-transfer-already-voided',
    )
    expect(pendingResolutionError({ kind: 'post' }, pending, 'expire', before)).toBe(
      'pending-transfer-expired',
    )
    expect(pendingResolutionError({ kind: 'post' }, undefined, undefined, before)).toBe(
      'pending-transfer-not-found',
    )
    expect(pendingResolutionError({ kind: 'void' }, { ...pending, kind: 'single' }, undefined, before)).toBe(
      'pending-transfer-not-found',
    )
  })

  it('moves a partial post to posted and releases the whole reservation', () => {
    const { debit, credit } = legDeltas('post', 60n, 100n)
    expect(debit).toEqual(balances(-100n, 60n, 0n, 0n))
    expect(credit).toEqual(balances(0n, 0n, -100n, 60n))
    expect(legDeltas('void', 100n, 100n).debit).toEqual(balances(-100n, 0n, 0n, 0n))
    expect(legDeltas('expire', 100n, 100n).credit).toEqual(balances(0n, 0n, -100n, 0n))
  })
})

const accountIds = ['acc_0', 'acc_1', 'acc_2', 'acc_3']

type Step = {
  kind: 'single' | 'pending'
  from: number
  to: number
  amount: bigint
  resolve: 'post' | 'void' | 'none'
}

/** Transfers as the ledger would number them: each pending optionally followed by its post or void. */
function transfersOf(steps: readonly Step[]): Transfer[] {
  const transfers: Transfer[] = []
  const base = {
    assetId: 'USDT@ethereum',
    code: 'test',
    metadata: {},
    createdAt: new Date(0),
    timeoutAt: null,
  }
  steps.forEach((step, index) => {
    const debitAccountId = accountIds[step.from] ?? 'acc_0'
    const creditAccountId = accountIds[(step.from + step.to + 1) % accountIds.length] ?? 'acc_1'
    const id = `t${index}`
    const seq = BigInt(transfers.length + 1)
    transfers.push({
      ...base,
      seq,
      id,
      kind: step.kind,
      debitAccountId,
      creditAccountId,
      amount: step.amount,
      pendingId: null,
    })
    if (step.kind === 'pending' && step.resolve !== 'none') {
      const amount = step.resolve === 'post' ? step.amount / 2n + 1n : step.amount
      const next = { ...base, seq: seq + 1n, id: `${id}-${step.resolve}`, debitAccountId, creditAccountId }
      transfers.push({ ...next, kind: step.resolve, amount, pendingId: id })
    }
  })
  return transfers
}

describe('replay', () => {
  const step = fc.record({
    kind: fc.constantFrom('single' as const, 'pending' as const),
    from: fc.nat({ max: 3 }),
    to: fc.nat({ max: 2 }),
    amount: fc.bigInt({ min: 1n, max: uint256Max >> 8n }),
    resolve: fc.constantFrom('post' as const, 'void' as const, 'none' as const),
  })

  it('keeps every asset zero-sum and every counter non-negative', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const replayed = replayTransfers(transfersOf(steps))
        const total = [...replayed.values()].reduce(addBalances, zeroBalances)
        expect(total.debitsPosted).toBe(total.creditsPosted)
        expect(total.debitsPending).toBe(total.creditsPending)
        const unlimited = { debitsMustNotExceedCredits: false, creditsMustNotExceedDebits: false }
        for (const counters of replayed.values())
          expect(exceedsBalanceLimits(unlimited, counters)).toBe(false)
      }),
    )
  })

  it('leaves no pending amount once every reservation is resolved', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const resolved = steps.map((item) => ({
          ...item,
          resolve: item.resolve === 'none' ? ('void' as const) : item.resolve,
        }))
        for (const counters of replayTransfers(transfersOf(resolved)).values()) {
          expect(counters.debitsPending).toBe(0n)
          expect(counters.creditsPending).toBe(0n)
        }
      }),
    )
  })
})
