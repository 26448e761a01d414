import { describe, expect, it } from 'vitest'
import { RpcResponseError } from './evm-rpc.ts'
import { isTooManyResultsError } from './transfer-logs.ts'

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
