import { describe, expect, it } from 'vitest'
import { RpcResponseError } from './evm-rpc.ts'
import {
  decodeTransferLog,
  isTooManyResultsError,
  MalformedLogError,
  type RawLog,
  transferTopic,
} from './transfer-logs.ts'

describe('isTooManyResultsError', () => {
  it.each([
    [-32005, 'query returned more than 10000 results'],
    [-32602, 'Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range'],
    [-32000, 'block range is too wide'],
    [-32005, 'limit exceeded'],
    [-32000, 'query timeout exceeded'],
  ])('takes %i "%s" for an answer a shorter range avoids', (code, message) => {
    expect(isTooManyResultsError(new RpcResponseError(code, message))).toBe(true)
  })

  // Rate limits share -32005 at several providers; halving would not help, and the watcher would keep
  // planning its ranges at the halved length (chain-watcher.ts, noteRangeAnswered).
  it.each([
    [-32005, 'project ID request rate exceeded'],
    [-32005, 'daily request count exceeded, request rate limited'],
    [429, 'Your app has exceeded its compute units per second capacity'],
    [-32005, 'Too many requests per second'],
  ])('does not take %i "%s" (a rate limit) for one', (code, message) => {
    expect(isTooManyResultsError(new RpcResponseError(code, message))).toBe(false)
  })

  it('takes no other kind of error for one', () => {
    expect(isTooManyResultsError(new Error('query returned more than 10000 results'))).toBe(false)
  })
})

describe('decodeTransferLog', () => {
  const hex = (bytes: number, digit = 'a') => `0x${digit.repeat(bytes * 2)}`
  const topicOf = (address: string) => `0x${'0'.repeat(24)}${address.slice(2)}`
  const log = (overrides: Partial<RawLog> = {}): RawLog => ({
    address: hex(20, 'c'),
    topics: [transferTopic, topicOf(hex(20, 'd')), topicOf(hex(20, 'e'))],
    data: '0x0f4240',
    blockNumber: '0x10',
    blockHash: hex(32, 'b'),
    transactionHash: hex(32, 'f'),
    logIndex: '0x1',
    ...overrides,
  })

  it('decodes a well-formed Transfer log, and passes over logs that are not 3-topic Transfers', () => {
    expect(decodeTransferLog(log())).toEqual({
      blockNumber: 16n,
      blockHash: hex(32, 'b'),
      txHash: hex(32, 'f'),
      logIndex: 1,
      tokenAddress: hex(20, 'c'),
      from: hex(20, 'd'),
      to: hex(20, 'e'),
      amount: 1_000_000n,
    })
    const erc721 = log()
    erc721.topics = [...erc721.topics, topicOf(hex(20, '1'))]
    expect(decodeTransferLog(erc721)).toBeUndefined()
  })

  // Stored hashes travel comma-delimited (payment.repo.ts): a malformed one must stop the range, and
  // skipping the log instead would miss a deposit.
  it.each([
    ['a comma in the transaction hash', { transactionHash: `0x${'f'.repeat(62)},1` }],
    ['a short block hash', { blockHash: hex(31, 'b') }],
    ['a non-hex block number', { blockNumber: '16' }],
    ['an oversized log index', { logIndex: `0x${'1'.repeat(17)}` }],
    ['a malformed token address', { address: 'USDT,0x1' }],
    ['a short recipient topic', { topics: [transferTopic, topicOf(hex(20, 'd')), hex(20, 'e')] }],
  ])('refuses a log with %s, never skips it', (_case, overrides) => {
    expect(() => decodeTransferLog(log(overrides))).toThrow(MalformedLogError)
  })
})
