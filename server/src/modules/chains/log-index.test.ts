import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  indexLogsAnswer,
  indexParsedLogs,
  indexRegularAnswer,
  type LogIndex,
  LogScanError,
  scanLogsAnswer,
} from './log-index.ts'
import { transferTopic } from './transfer-logs.ts'

const hex = (bytes: number) => `0x${randomBytes(bytes).toString('hex')}`
const topicOf = (address: string) => `0x${'0'.repeat(24)}${address.slice(2)}`

function transferLog(to: string, overrides: Record<string, unknown> = {}) {
  return {
    address: hex(20),
    topics: [transferTopic, topicOf(hex(20)), topicOf(to)],
    data: `0x${'0'.repeat(58)}0f4240`,
    blockHash: hex(32),
    blockNumber: '0x10',
    blockTimestamp: '0x6560',
    transactionHash: hex(32),
    transactionIndex: '0x0',
    logIndex: '0x1',
    removed: false,
    ...overrides,
  }
}

const answer = (result: unknown, spacing?: number) =>
  Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 7, result }, null, spacing))

/** What the watcher does with an index: the recipient prefix of plain logs, full parsing of the rest. */
function entries(index: LogIndex) {
  return Array.from({ length: index.length }, (_, position) => ({
    kind: index.kind(position),
    prefix: index.recipientPrefix(position),
    log: index.parse<{ transactionHash: string }>(position),
  }))
}

const prefixOf = (address: string): [number, number] => [
  Number.parseInt(address.slice(2, 10), 16),
  Number.parseInt(address.slice(10, 18), 16),
]

describe('indexLogsAnswer', () => {
  it('indexes every log of an answer with the recipient prefix, compact or pretty-printed', () => {
    const recipients = Array.from({ length: 50 }, () => hex(20))
    const logs = recipients.map((to) => transferLog(to))
    for (const spacing of [undefined, 2]) {
      const index = indexLogsAnswer(answer(logs, spacing)) as LogIndex
      expect(index.length).toBe(50)
      entries(index).forEach((entry, position) => {
        expect(entry.kind).toBe('plain')
        expect(entry.prefix).toEqual(prefixOf(recipients[position] as string))
        expect(entry.log).toEqual(logs[position])
      })
    }
  })

  it('does not depend on key order and reads upper-case hex recipients', () => {
    const to = `0x${randomBytes(20).toString('hex').toUpperCase()}`
    const reordered = {
      nested: { topics: [1, 2] },
      ...Object.fromEntries(Object.entries(transferLog(to)).reverse()),
    }
    const index = indexLogsAnswer(answer([reordered])) as LogIndex
    expect(index.kind(0)).toBe('plain')
    expect(index.recipientPrefix(0)).toEqual(prefixOf(to))
  })

  it('tells apart logs that are not standard Transfers, and marks what it cannot read for a full parse', () => {
    const to = hex(20)
    const logs = [
      transferLog(to, { topics: [transferTopic, topicOf(hex(20)), topicOf(to), hex(32)] }), // ERC-721
      transferLog(to, { topics: [hex(32), topicOf(hex(20)), topicOf(to)] }), // another event
      transferLog(to, { topics: [] }),
      transferLog(to, { topics: [transferTopic, topicOf(hex(20)), '0x1234'] }), // short recipient topic
      transferLog(to, { topics: [transferTopic, topicOf(hex(20)), null] }),
      transferLog(to, { topics: [transferTopic, topicOf(hex(20)), `0x${'z'.repeat(64)}`] }),
    ]
    const index = indexLogsAnswer(answer(logs)) as LogIndex
    expect(entries(index).map((entry) => entry.kind)).toEqual([
      'not-transfer',
      'not-transfer',
      'not-transfer',
      'irregular',
      'irregular',
      'irregular',
    ])
  })

  it('keeps strings with escapes and brackets intact, and marks an escaped key irregular', () => {
    const to = hex(20)
    const tricky = transferLog(to, { note: 'a "quoted" ] } [ { \\ value', other: [{ a: '}' }] })
    const body = Buffer.from(
      `{"jsonrpc":"2.0","id":1,"result":[${JSON.stringify(tricky)},{"\\u0074opics":${JSON.stringify(tricky.topics)}}]}`,
    )
    const index = indexLogsAnswer(body) as LogIndex
    expect(index.length).toBe(2)
    expect(index.kind(0)).toBe('plain')
    expect(index.parse(0)).toEqual(tricky)
    expect(index.kind(1)).toBe('irregular')
  })

  it('returns undefined for an error or a null result, and an empty index for no logs', () => {
    expect(
      indexLogsAnswer(Buffer.from('{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"x"}}')),
    ).toBe(undefined)
    expect(indexLogsAnswer(Buffer.from('{"jsonrpc":"2.0","id":1,"result":null}'))).toBe(undefined)
    expect(indexLogsAnswer(Buffer.from(' { "result" : [ ] } '))?.length).toBe(0)
  })

  it('throws LogScanError on truncated or malformed bytes (the caller then parses in full)', () => {
    const whole = answer([transferLog(hex(20))]).toString()
    for (const broken of [whole.slice(0, whole.length - 10), '[1,2]', '{"result":[{"topics":[1,2}]}'])
      expect(() => indexLogsAnswer(Buffer.from(broken))).toThrow(LogScanError)
  })

  it('indexes logs that were parsed already the same way', () => {
    const to = hex(20)
    const index = indexParsedLogs([transferLog(to)])
    expect(index.kind(0)).toBe('plain')
    expect(index.recipientPrefix(0)).toEqual(prefixOf(to))
  })
})

describe('indexRegularAnswer (the fast path)', () => {
  const regular = () => Array.from({ length: 40 }, () => transferLog(hex(20)))

  it('indexes a compact answer of Transfer logs exactly as the scanner does', () => {
    const body = answer(regular())
    const fast = indexRegularAnswer(body) as LogIndex
    expect(fast).toBeDefined()
    expect(entries(fast)).toEqual(entries(scanLogsAnswer(body) as LogIndex))
    expect(indexRegularAnswer(answer([]))?.length).toBe(0)
  })

  it('declines every answer it cannot bound log by log, and the scanner then reads it', () => {
    const to = hex(20)
    const withLog = (log: unknown) => [...regular().slice(0, 3), log, ...regular().slice(0, 3)]
    const declined = [
      answer(regular(), 2), // pretty-printed
      answer(withLog(transferLog(to, { note: 'a } brace' }))), // a brace in a string
      answer(withLog(transferLog(to, { topics: [transferTopic, topicOf(hex(20)), topicOf(to), hex(32)] }))),
      answer(withLog(transferLog(to, { topics: [hex(32), topicOf(hex(20)), topicOf(to)] }))),
      answer(
        withLog(transferLog(to, { topics: [transferTopic.toUpperCase(), topicOf(hex(20)), topicOf(to)] })),
      ),
      answer(withLog({ nested: { a: 1 }, ...transferLog(to) })),
      Buffer.from(`{"result":[],"other":[${JSON.stringify(transferLog(to))}]}`),
      Buffer.from(`{"result":[${JSON.stringify(transferLog(to))},{"\\u0074opics":[]}]}`),
      Buffer.from('{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"x"}}'),
    ]
    for (const body of declined) {
      expect(indexRegularAnswer(body)).toBeUndefined()
      const scanned = scanLogsAnswer(body)
      if (scanned !== undefined) expect(indexLogsAnswer(body)?.length).toBe(scanned.length)
    }
  })
})
