import { AppError } from '../../lib/errors.ts'

const invalid = (code: string, path: string, message: string) =>
  new AppError(code, 422, message, { details: [{ path, message }] })

export const invoiceNotFound = () => new AppError('invoice-not-found', 404, 'no such invoice in this store')
export const currencyUnsupported = (currency: string) =>
  invalid(
    'currency-unsupported',
    'body.currency',
    `${currency} is neither a configured stablecoin nor a priced fiat currency`,
  )
export const networkUnknown = (network: string) =>
  invalid('network-unknown', 'body.networks', `no network named ${network}`)
export const assetUnsupported = (currency: string, network: string) =>
  invalid('asset-unsupported', 'body.networks', `${network} has no token for ${currency}`)
export const amountInvalid = (code: string, message: string) => invalid(code, 'body.amount', message)
export const rateUnavailable = (currency: string, symbol: string) =>
  new AppError(
    'rate-unavailable',
    503,
    `no ${currency}→${symbol} rate is available; the invoice was not created`,
  )
export const invoiceStatusConflict = (status: string, mark: string) =>
  new AppError('invoice-status-conflict', 409, `a ${status} invoice cannot be marked ${mark}`)
export const invoiceOldRevision = () =>
  new AppError('invoice-old-revision', 409, 'the invoice changed since the revision you quoted')
