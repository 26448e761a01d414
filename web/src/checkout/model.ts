import type { NetworkFeeWire } from '@sluice/sdk/api/network-fees'
import type { PublicInvoiceWire } from '@sluice/sdk/api/public'
import type { MessageKey } from './i18n.ts'

export type Invoice = PublicInvoiceWire
export type PaymentOption = Invoice['payment_options'][number]

/** The invoice id from /pay/<id>; the server routed us here only for that shape. */
export function invoiceIdFromPath(pathname: string): string {
  return decodeURIComponent(pathname.split('/').filter(Boolean).pop() ?? '')
}

export type Loaded = { kind: 'ok'; invoice: Invoice } | { kind: 'not-found' } | { kind: 'error' }

export async function fetchInvoice(id: string, signal?: AbortSignal): Promise<Loaded> {
  try {
    const response = await fetch(`/v1/public/invoices/${encodeURIComponent(id)}`, {
      headers: { accept: 'application/json' },
      cache: 'no-store',
      ...(signal === undefined ? {} : { signal }),
    })
    if (response.status === 404) return { kind: 'not-found' }
    if (!response.ok) return { kind: 'error' }
    return { kind: 'ok', invoice: (await response.json()) as Invoice }
  } catch {
    return { kind: 'error' }
  }
}

/** Server-sent events of the invoice (server/src/http/routes/stream.ts): one `invoice` event per change. */
export function invoiceStreamUrl(id: string): string {
  return `/v1/public/invoices/${encodeURIComponent(id)}/stream`
}

export type NetworkFee = NetworkFeeWire

/** Fee and time-to-finality hints per network; an empty list when they cannot be had (the hint is optional). */
export async function fetchNetworkFees(signal?: AbortSignal): Promise<NetworkFee[]> {
  try {
    const response = await fetch('/v1/public/network-fees', {
      headers: { accept: 'application/json' },
      ...(signal === undefined ? {} : { signal }),
    })
    if (!response.ok) return []
    return ((await response.json()) as { data: NetworkFee[] }).data
  } catch {
    return []
  }
}

/** "12 s", "3 min", "1 h": a rough duration for a hint. */
export function formatDuration(seconds: number): string {
  if (seconds < 90) return `${seconds} s`
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`
  return `${Math.round(seconds / 3600)} h`
}

/** A fee in native coin, shortened to 2 significant digits by string (never through a float). */
export function formatFee(decimal: string): string {
  const [whole = '0', fraction = ''] = decimal.split('.')
  if (whole !== '0') return fraction === '' ? whole : `${whole}.${fraction.slice(0, 2)}`
  const leading = fraction.length - fraction.replace(/^0+/, '').length
  const significant = fraction.slice(leading, leading + 2).replace(/0+$/, '')
  return significant === '' ? '0' : `0.${'0'.repeat(leading)}${significant}`
}

export function qrUrl(id: string, network: string): string {
  return `/v1/public/invoices/${encodeURIComponent(id)}/qr?network=${encodeURIComponent(network)}&format=svg`
}

/** Decimal strings subtracted exactly (money never goes through floats), clamped at zero. */
export function subtractDecimal(a: string, b: string): string {
  const scale = Math.max(a.split('.')[1]?.length ?? 0, b.split('.')[1]?.length ?? 0)
  const toMinor = (value: string) => {
    const [whole = '0', fraction = ''] = value.split('.')
    return BigInt(whole + fraction.padEnd(scale, '0'))
  }
  const difference = toMinor(a) - toMinor(b)
  if (difference <= 0n) return '0'
  const digits = difference.toString().padStart(scale + 1, '0')
  const whole = digits.slice(0, digits.length - scale)
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, '')
  return fraction === '' ? whole : `${whole}.${fraction}`
}

/** h:mm:ss (or m:ss under an hour) until expiry; 0:00 once past. */
export function formatCountdown(milliseconds: number): string {
  const total = Math.max(0, Math.floor(milliseconds / 1000))
  const hours = Math.floor(total / 3600)
  const minutes = Math.floor((total % 3600) / 60)
  const seconds = String(total % 60).padStart(2, '0')
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`
}

export type Phase = 'waiting' | 'partial' | 'processing' | 'settled' | 'expired' | 'invalid'

/** What the buyer should understand right now; drives the banner and whether the pay panel shows. */
export function phaseOf(invoice: Invoice): Phase {
  switch (invoice.status) {
    case 'new':
      return invoice.exception === 'paid_partial' ? 'partial' : 'waiting'
    case 'processing':
      return 'processing'
    case 'settled':
      return 'settled'
    case 'expired':
      return 'expired'
    case 'invalid':
      return 'invalid'
  }
}

export function phaseMessage(invoice: Invoice): MessageKey {
  const phase = phaseOf(invoice)
  if (phase === 'settled') {
    if (invoice.exception === 'paid_late') return 'statusPaidLate'
    if (invoice.exception === 'paid_over') return 'statusPaidOver'
    return 'statusSettled'
  }
  const keys: Record<Exclude<Phase, 'settled'>, MessageKey> = {
    waiting: 'statusWaiting',
    partial: 'statusPartial',
    processing: 'statusProcessing',
    expired: 'statusExpired',
    invalid: 'statusInvalid',
  }
  return keys[phase]
}

/** The buyer may still pay while the invoice is open (new, including partly paid). */
export function isPayable(invoice: Invoice): boolean {
  return invoice.status === 'new'
}

/** A redirect only to http(s): the merchant set it, but a javascript: URL must never become a link. */
export function safeRedirect(url: string | null): string | undefined {
  if (url === null) return undefined
  try {
    const parsed = new URL(url)
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : undefined
  } catch {
    return undefined
  }
}
