import { describe, expect, it } from 'vitest'
import { chainGatedWrites, joinSqlParts } from './statement.ts'

describe('joinSqlParts', () => {
  it('renumbers each part after the parts before it, keeping values in order', () => {
    const joined = joinSqlParts(
      [
        { text: 'a as (select $1, $2, $1)', values: ['x', 'y'] },
        { text: 'b as (select $2::int + $1::int, $10)', values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
      ],
      ', ',
    )
    expect(joined.text).toBe('a as (select $1, $2, $1), b as (select $4::int + $3::int, $12)')
    expect(joined.values).toEqual(['x', 'y', 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  })

  it('refuses a part that refers to a parameter it does not carry', () => {
    expect(() => joinSqlParts([{ text: 'select $2', values: ['only one'] }], '')).toThrow(/\$2/)
    expect(() => joinSqlParts([{ text: 'select $0', values: ['one'] }], '')).toThrow(/\$0/)
  })
})

describe('chainGatedWrites', () => {
  it('gates each write on the one before it, the first on the given gate', () => {
    const write = (name: string) => (gate: string) => ({
      ctes: [
        { text: `${name} as (insert into t select 1 where exists (select 1 from ${gate}))`, values: [] },
      ],
      done: name,
    })
    const chained = chainGatedWrites('claim', [write('first'), write('second')])
    expect(chained.ctes.map((part) => part.text)).toEqual([
      'first as (insert into t select 1 where exists (select 1 from claim))',
      'second as (insert into t select 1 where exists (select 1 from first))',
    ])
    expect(chained.done).toBe('second')
  })
})
