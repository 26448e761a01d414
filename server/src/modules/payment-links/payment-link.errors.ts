import { AppError } from '../../lib/errors.ts'

const invalid = (code: string, path: string, message: string) =>
  new AppError(code, 422, message, { details: [{ path, message }] })

export const paymentLinkNotFound = () => new AppError('payment-link-not-found', 404, 'no such payment link')
export const paymentLinkInactive = () =>
  new AppError('payment-link-inactive', 410, 'this payment link was deactivated or has expired')
export const paymentLinkUsed = () =>
  new AppError('payment-link-used', 410, 'this one-time payment link was already used')
export const amountBoundsInvalid = (path: string, message: string) =>
  invalid('amount-bounds-invalid', path, message)
export const linkAmountInvalid = (code: string, path: string, message: string) => invalid(code, path, message)
export const expiresAtInvalid = () =>
  invalid('expires-at-invalid', 'body.expires_at', 'expires_at must be in the future')
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
