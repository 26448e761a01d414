import { parseUnits } from '@sluice/sdk/money'

/** Rates are fixed-point with 18 decimals: tokens per unit of currency × 10^18. */
export const rateDecimals = 18

export type RateQuote = Readonly<{ rateScaled: bigint; text: string; source: string; at: Date }>

/**
 * Where fiat-priced invoices get their rate. The quote is locked into the invoice at creation. A source
 * that has no rate answers undefined and the invoice is refused: never a silent default.
 */
export interface RateSource {
  quote(currency: string, symbol: string): Promise<RateQuote | undefined>
}

/** The configured static table (config `rates`), e.g. { USD: { USDT: "1" }, EUR: { USDT: "1.0834" } }. */
export function staticRateSource(
  table: Readonly<Record<string, Readonly<Record<string, string>>>>,
  now: () => Date = () => new Date(),
): RateSource {
  return {
    async quote(currency, symbol) {
      const text = table[currency]?.[symbol]
      if (text === undefined) return undefined
      return { rateScaled: parseUnits(text, rateDecimals), text, source: 'static-config', at: now() }
    },
  }
}

/** Fiat currencies the source is configured for. */
export function pricedCurrencies(
  table: Readonly<Record<string, Readonly<Record<string, string>>>>,
): string[] {
  return Object.keys(table)
}
