import { encodeFunctionData, getAddress, parseAbi } from 'viem'
import { describe, expect, it } from 'vitest'
import { assertCallDataPays, decodePaidTransfers } from './signer.calldata.ts'
import { capFees } from './signer.fees.ts'
import type { PaidItem, UnsignedTransaction } from './signer.types.ts'
import { NonceCache, requestSignatureMatches, signRequestBody } from './signer.wire.ts'

const abi = parseAbi([
  'function transfer(address to, uint256 amount)',
  'function approve(address spender, uint256 amount)',
  'function batchTransfer(address token, address[] recipients, uint256[] amounts)',
])
const token = getAddress('0x1111111111111111111111111111111111111111')
const alice = getAddress('0x2222222222222222222222222222222222222222')
const bob = getAddress('0x3333333333333333333333333333333333333333')
const batch = getAddress('0x4444444444444444444444444444444444444444')

const base = { value: 0n, gas: 60_000n, nonce: 0, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n }
const item = (id: string, destination: string, amount: bigint): PaidItem => ({
  kind: 'payout',
  id,
  merchantId: null,
  revision: 1,
  tokenAddress: token,
  destination: destination as `0x${string}`,
  amount,
})
const transfer = (to: `0x${string}`, amount: bigint): UnsignedTransaction => ({
  ...base,
  to: token,
  data: encodeFunctionData({ abi, functionName: 'transfer', args: [to, amount] }),
})

function code(run: () => unknown): string | undefined {
  try {
    run()
  } catch (error) {
    return (error as { code?: string }).code
  }
  return undefined
}

describe('call data checks', () => {
  it('accepts a transfer that pays exactly the item', () => {
    expect(
      code(() => assertCallDataPays({ transaction: transfer(alice, 5n), pays: [item('po_1', alice, 5n)] })),
    ).toBe(undefined)
  })

  it('refuses a tampered amount, destination, token, or an extra item', () => {
    const pays = [item('po_1', alice, 5n)]
    expect(code(() => assertCallDataPays({ transaction: transfer(alice, 6n), pays }))).toBe(
      'signer-call-data-mismatch',
    )
    expect(code(() => assertCallDataPays({ transaction: transfer(bob, 5n), pays }))).toBe(
      'signer-call-data-mismatch',
    )
    expect(code(() => assertCallDataPays({ transaction: { ...transfer(alice, 5n), to: batch }, pays }))).toBe(
      'signer-call-data-mismatch',
    )
    expect(
      code(() =>
        assertCallDataPays({ transaction: transfer(alice, 5n), pays: [...pays, item('po_2', bob, 1n)] }),
      ),
    ).toBe('signer-call-data-mismatch')
  })

  it('refuses what it cannot read: approve, native value, garbage', () => {
    const pays = [item('po_1', alice, 5n)]
    const approve = {
      ...base,
      to: token,
      data: encodeFunctionData({ abi, functionName: 'approve', args: [bob, 5n] }),
    }
    expect(code(() => assertCallDataPays({ transaction: approve, pays }))).toBe('signer-call-data-mismatch')
    expect(code(() => assertCallDataPays({ transaction: { ...transfer(alice, 5n), value: 1n }, pays }))).toBe(
      'signer-call-data-mismatch',
    )
    expect(code(() => decodePaidTransfers({ ...base, to: token, data: '0xdeadbeef' }))).toBe(
      'signer-call-data-mismatch',
    )
  })

  it('checks batch items one for one, in order', () => {
    const data = encodeFunctionData({
      abi,
      functionName: 'batchTransfer',
      args: [token, [alice, bob], [5n, 7n]],
    })
    const transaction = { ...base, to: batch, data }
    const pays = [item('po_1', alice, 5n), item('po_2', bob, 7n)]
    expect(code(() => assertCallDataPays({ transaction, pays }))).toBe(undefined)
    const swapped = [item('po_1', alice, 7n), item('po_2', bob, 5n)]
    expect(code(() => assertCallDataPays({ transaction, pays: swapped }))).toBe('signer-call-data-mismatch')
  })
})

describe('fee cap', () => {
  const market = { baseFeePerGas: 100n, priorityFeePerGas: 2n }
  const fees = { maxFeePerGas: 202n, maxPriorityFeePerGas: 2n }

  it('lowers the headroom to the cap while base + tip fits, at the cap exactly', () => {
    expect(capFees(fees, market, 102n)).toEqual({
      kind: 'ok',
      fees: { maxFeePerGas: 102n, maxPriorityFeePerGas: 2n },
    })
    expect(capFees(fees, market, 500n)).toEqual({ kind: 'ok', fees })
  })

  it('waits one wei above: base + tip over the cap', () => {
    const capped = capFees(fees, market, 101n)
    expect(capped.kind).toBe('over-cap')
    if (capped.kind === 'over-cap') expect(capped.reason).toMatch(/^fee-cap-exceeded: needs 102 wei\/gas/)
  })
})

describe('request authentication', () => {
  const secret = new Uint8Array(32).fill(7)

  it('verifies the HMAC over timestamp, nonce and body, and nothing else', () => {
    const signature = signRequestBody(secret, '1000', 'ab'.repeat(16), '{"a":1}')
    const headers = { timestamp: '1000', nonce: 'ab'.repeat(16), signature }
    expect(requestSignatureMatches(secret, headers, '{"a":1}')).toBe(true)
    expect(requestSignatureMatches(secret, headers, '{"a":2}')).toBe(false)
    expect(requestSignatureMatches(secret, { ...headers, timestamp: '1001' }, '{"a":1}')).toBe(false)
    expect(requestSignatureMatches(new Uint8Array(32).fill(8), headers, '{"a":1}')).toBe(false)
    expect(requestSignatureMatches(secret, { ...headers, signature: 'zz' }, '{"a":1}')).toBe(false)
  })

  it('remembers nonces for twice the window, then forgets them', () => {
    const cache = new NonceCache()
    expect(cache.remember('n1', 0)).toBe('new')
    expect(cache.remember('n1', 59_000)).toBe('replayed')
    expect(cache.remember('n2', 60_001)).toBe('new')
    expect(cache.remember('n1', 60_001)).toBe('new')
  })
})
