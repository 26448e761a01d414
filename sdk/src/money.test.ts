import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decimalsMax,
  formatMinorUnits,
  formatUnits,
  MoneyError,
  type MoneyErrorCode,
  parseMinorUnits,
  parseUnits,
  uint256Max,
} from './money.ts'

// Assert on `code`, never on the message: codes are the contract, messages are for people.
function codeOf(run: () => unknown): MoneyErrorCode | 'no-error' {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(MoneyError)
    return (error as MoneyError).code
  }
  return 'no-error'
}

const digit = fc.constantFrom(...'0123456789')
const nonZeroDigit = fc.constantFrom(...'123456789')
const digits = (minLength: 0 | 1, maxLength: 36 | 40) => fc.string({ unit: digit, minLength, maxLength })
/** Integer part in the accepted grammar: "0" or no leading zero, at most 41 digits. */
const wholePart = fc.oneof(
  fc.constant('0'),
  fc.tuple(nonZeroDigit, digits(0, 40)).map(([head, tail]) => head + tail),
)
const anyDecimals = fc.integer({ min: 0, max: decimalsMax })
const anyMinor = fc.bigInt({ min: 0n, max: uint256Max })

/** Independent oracle for canonical form: drop trailing fraction zeros, then a bare '.'. */
function normalise(text: string): string {
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text
}

/** Decimal text of any non-negative bigint, built without formatUnits (which refuses > uint256Max). */
function decimalText(minor: bigint, decimals: 0 | 6 | 18 | 36): string {
  if (decimals === 0) return minor.toString()
  const scale = 10n ** BigInt(decimals)
  return `${minor / scale}.${(minor % scale).toString().padStart(decimals, '0')}`
}

describe('formatUnits / parseUnits round trip', () => {
  for (const decimals of [0, 6, 18] as const) {
    it(`parseUnits(formatUnits(x)) === x for every uint256 at ${decimals} decimals`, () => {
      fc.assert(fc.property(anyMinor, (x) => parseUnits(formatUnits(x, decimals), decimals) === x))
    })
  }

  it('round-trips for every decimals 0..36', () => {
    fc.assert(fc.property(anyMinor, anyDecimals, (x, d) => parseUnits(formatUnits(x, d), d) === x))
  })

  it('valid decimal text round-trips modulo trailing-zero normalisation', () => {
    const text = anyDecimals.chain((d) =>
      fc
        .tuple(
          wholePart,
          digits(0, 36).map((f) => f.slice(0, d)),
        )
        .map(([whole, fraction]) => ({ d, text: fraction === '' ? whole : `${whole}.${fraction}` })),
    )
    fc.assert(fc.property(text, ({ d, text }) => formatUnits(parseUnits(text, d), d) === normalise(text)))
  })

  it('formats canonically', () => {
    expect(formatUnits(100_000_000n, 6)).toBe('100')
    expect(formatUnits(1_500_000n, 6)).toBe('1.5')
    expect(formatUnits(1n, 6)).toBe('0.000001')
    expect(formatUnits(0n, 6)).toBe('0')
    expect(formatUnits(0n, 0)).toBe('0')
    expect(formatUnits(120n, 0)).toBe('120')
    expect(parseUnits('0.50', 6)).toBe(500_000n)
    expect(parseUnits('0', 0)).toBe(0n)
    expect(parseUnits('12.345678', 6)).toBe(12_345_678n)
  })

  it('parsing never rounds: any string is rejected with a MoneyError or parsed exactly', () => {
    const textish = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'0123456789.'), maxLength: 50 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
    )
    fc.assert(
      fc.property(textish, anyDecimals, (text, d) => {
        let parsed: bigint
        try {
          parsed = parseUnits(text, d)
        } catch (error) {
          return error instanceof MoneyError
        }
        return formatUnits(parsed, d) === normalise(text)
      }),
    )
  })
})

describe('parseUnits rejections: amount-invalid-format', () => {
  const examples = [
    '',
    '.5',
    '5.',
    '+5',
    '-5',
    '1e6',
    '1E6',
    ' 5',
    '5 ',
    '1,5',
    '1_000',
    '0x10',
    'Infinity',
    'NaN',
    '007',
    '00',
    '01.5',
    '1..5',
    '1.2.3',
    '\u0661\u0662\u0663', // Arabic-Indic digits
    '\uff15', // fullwidth 5
    '5\n',
  ]
  for (const text of examples) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      expect(codeOf(() => parseUnits(text, 6))).toBe('amount-invalid-format')
    })
  }

  it('rejects non-string input from untyped callers', () => {
    expect(codeOf(() => parseUnits(5 as never, 6))).toBe('amount-invalid-format')
  })

  it('rejects any string containing an exponent marker', () => {
    const withE = fc
      .tuple(fc.string(), fc.constantFrom('e', 'E'), fc.string())
      .map(([before, e, after]) => before + e + after)
    fc.assert(
      fc.property(
        withE,
        anyDecimals,
        (text, d) => codeOf(() => parseUnits(text, d)) === 'amount-invalid-format',
      ),
    )
  })

  it('rejects any string containing a character other than ASCII digits and "."', () => {
    const foreign = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 3 })
      .filter((s) => /[^0-9.]/.test(s))
    const text = fc
      .tuple(digits(0, 36), foreign, digits(0, 36))
      .map(([before, bad, after]) => before + bad + after)
    fc.assert(
      fc.property(text, anyDecimals, (t, d) => codeOf(() => parseUnits(t, d)) === 'amount-invalid-format'),
    )
  })

  it('rejects any leading zero before another digit', () => {
    const text = fc.tuple(wholePart, digits(0, 36)).map(([whole, f]) => `0${whole}${f === '' ? '' : `.${f}`}`)
    fc.assert(fc.property(text, (t) => codeOf(() => parseUnits(t, decimalsMax)) === 'amount-invalid-format'))
  })
})

describe('parseUnits rejections: amount-precision-exceeded', () => {
  it('rejects more fraction digits than decimals, even zeros', () => {
    expect(codeOf(() => parseUnits('1.0000001', 6))).toBe('amount-precision-exceeded')
    expect(codeOf(() => parseUnits('1.0000000', 6))).toBe('amount-precision-exceeded')
    expect(parseUnits('1.000000', 6)).toBe(1_000_000n)
  })

  it('rejects any "." at 0 decimals', () => {
    expect(codeOf(() => parseUnits('1.0', 0))).toBe('amount-precision-exceeded')
    expect(codeOf(() => parseUnits('0.5', 0))).toBe('amount-precision-exceeded')
  })

  it('rejects one extra fraction digit for every decimals 0..36', () => {
    const text = anyDecimals.chain((d) =>
      fc
        .tuple(wholePart, fc.string({ unit: digit, minLength: d, maxLength: d }), digit)
        .map(([whole, fraction, extra]) => ({ d, text: `${whole}.${fraction}${extra}` })),
    )
    fc.assert(
      fc.property(text, ({ d, text }) => codeOf(() => parseUnits(text, d)) === 'amount-precision-exceeded'),
    )
  })
})

describe('parseUnits rejections: amount-out-of-range (both sides of uint256Max)', () => {
  it('accepts uint256Max at 0 decimals and rejects uint256Max + 1', () => {
    expect(parseUnits(uint256Max.toString(), 0)).toBe(uint256Max)
    expect(codeOf(() => parseUnits((uint256Max + 1n).toString(), 0))).toBe('amount-out-of-range')
  })

  it('accepts formatUnits(uint256Max, 6) and rejects one minor unit more', () => {
    expect(parseUnits(formatUnits(uint256Max, 6), 6)).toBe(uint256Max)
    expect(codeOf(() => parseUnits(decimalText(uint256Max + 1n, 6), 6))).toBe('amount-out-of-range')
  })

  it('accepts uint256Max at 36 decimals (the longest valid text, 79 characters)', () => {
    const text = formatUnits(uint256Max, 36)
    expect(text).toHaveLength(79)
    expect(parseUnits(text, 36)).toBe(uint256Max)
  })

  for (const decimals of [0, 6, 18, 36] as const) {
    it(`rejects every value above uint256Max at ${decimals} decimals`, () => {
      const above = fc.bigInt({ min: uint256Max + 1n, max: uint256Max * 1000n })
      fc.assert(
        fc.property(
          above,
          (x) => codeOf(() => parseUnits(decimalText(x, decimals), decimals)) === 'amount-out-of-range',
        ),
      )
    })
  }
})

describe('input length limit (100 characters)', () => {
  it('lets a 100-character string through the length gate and rejects 101', () => {
    // No 100-character string is valid and in range (the longest valid is 79), so "through the
    // gate" shows as a different code: the range check, not the length check, rejected it.
    const atLimit = `1${'0'.repeat(99)}`
    expect(atLimit).toHaveLength(100)
    expect(codeOf(() => parseUnits(atLimit, 0))).toBe('amount-out-of-range')
    expect(codeOf(() => parseUnits(`0.${'1'.repeat(98)}`, 36))).toBe('amount-precision-exceeded')
    expect(codeOf(() => parseUnits(`${atLimit}0`, 0))).toBe('amount-invalid-format')
    expect(codeOf(() => parseMinorUnits(atLimit))).toBe('amount-out-of-range')
    expect(codeOf(() => parseMinorUnits(`${atLimit}0`))).toBe('amount-invalid-format')
  })

  it('keeps error messages and input short for huge strings', () => {
    const huge = '9'.repeat(1_000_000)
    try {
      parseUnits(huge, 6)
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(MoneyError)
      expect((error as MoneyError).input.length).toBeLessThanOrEqual(101)
      expect((error as MoneyError).message.length).toBeLessThan(200)
    }
  })
})

describe('decimals-invalid', () => {
  const bad: unknown[] = [-1, 37, 1.5, NaN, Infinity, '6', 6n, undefined]
  for (const decimals of bad) {
    it(`rejects decimals ${String(decimals)}`, () => {
      expect(codeOf(() => parseUnits('1', decimals as never))).toBe('decimals-invalid')
      expect(codeOf(() => formatUnits(1n, decimals as never))).toBe('decimals-invalid')
    })
  }

  it('accepts both ends of 0..36', () => {
    expect(parseUnits('1', 0)).toBe(1n)
    expect(parseUnits('1', decimalsMax)).toBe(10n ** 36n)
  })

  it('rejects every integer outside 0..36 and every non-integer', () => {
    const outside = fc.oneof(
      fc.integer({ max: -1 }),
      fc.integer({ min: decimalsMax + 1 }),
      fc.double({ min: 0, max: decimalsMax }).filter((d) => d % 1 !== 0),
    )
    fc.assert(fc.property(outside, (d) => codeOf(() => parseUnits('1', d)) === 'decimals-invalid'))
  })
})

describe('formatUnits rejections', () => {
  it('rejects negative and above uint256Max', () => {
    expect(codeOf(() => formatUnits(-1n, 6))).toBe('amount-out-of-range')
    expect(codeOf(() => formatUnits(uint256Max + 1n, 6))).toBe('amount-out-of-range')
    expect(formatUnits(uint256Max, 0)).toBe(uint256Max.toString())
  })

  it('rejects every negative bigint', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ max: -1n }),
        anyDecimals,
        (x, d) => codeOf(() => formatUnits(x, d)) === 'amount-out-of-range',
      ),
    )
  })
})

describe('parseMinorUnits / formatMinorUnits', () => {
  it('round-trips every uint256', () => {
    fc.assert(fc.property(anyMinor, (x) => parseMinorUnits(formatMinorUnits(x)) === x))
  })

  it('accepts the limit and rejects one above', () => {
    expect(parseMinorUnits(uint256Max.toString())).toBe(uint256Max)
    expect(codeOf(() => parseMinorUnits((uint256Max + 1n).toString()))).toBe('amount-out-of-range')
    expect(codeOf(() => formatMinorUnits(uint256Max + 1n))).toBe('amount-out-of-range')
    expect(codeOf(() => formatMinorUnits(-1n))).toBe('amount-out-of-range')
  })

  for (const text of ['', '1.5', '1.0', '-1', '+1', '01', '1e3', ' 1', '0x1', '1_0']) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      expect(codeOf(() => parseMinorUnits(text))).toBe('amount-invalid-format')
    })
  }

  it('rejects any string with a non-digit', () => {
    const text = fc.string({ minLength: 1 }).filter((s) => /[^0-9]/.test(s))
    fc.assert(fc.property(text, (t) => codeOf(() => parseMinorUnits(t)) === 'amount-invalid-format'))
  })
})
