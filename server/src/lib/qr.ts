import type { BitMatrix } from 'qrcode'
import QRCode from 'qrcode'
import { AppError } from './errors.ts'

/**
 * QR codes of payment URIs (invoices, customer deposit addresses), as SVG or PNG. Every option is explicit,
 * so an upgrade of `qrcode` changing a default cannot change what customers scan.
 */

export const qrLimits = {
  /**
   * UTF-8 bytes of encoded text. An EIP-681 token transfer URI is about 150 bytes (version 6); 1,024
   * bytes is version 26 at level M (121 modules), still scannable off a screen, while version 40 (2,331
   * bytes) is not in practice. Also bounds the work one request can cause.
   */
  textBytesMax: 1_024,
  /** Pixels per module of a PNG: 1 is the smallest; 16 makes a 2,000-pixel image at textBytesMax. */
  pngScaleMin: 1,
  pngScaleMax: 16,
} as const

/**
 * M restores up to 15 % damaged modules: enough for screen glare and print smudges without the density
 * of Q or H. A 2-module quiet zone is half the standard's 4; scanners read it, and the page around the
 * code (white in our UI) provides the rest.
 */
const errorCorrectionLevel = 'M'
const margin = 2

function checkText(text: string): string {
  if (text.length === 0)
    throw new AppError('qr-text-invalid', 422, 'nothing to encode', {
      details: [{ path: 'text', message: 'empty' }],
    })
  if (Buffer.byteLength(text, 'utf8') > qrLimits.textBytesMax)
    throw new AppError('qr-text-invalid', 422, `QR text exceeds ${qrLimits.textBytesMax} bytes`, {
      details: [{ path: 'text', message: 'too long' }],
    })
  return text
}

/** One `M x y h n v1 h-n z` rectangle per horizontal run of dark modules, offset by the quiet zone. */
function darkRunsPath(modules: BitMatrix): string {
  const { size, data } = modules
  const parts: string[] = []
  for (let row = 0; row < size; row += 1) {
    let column = 0
    while (column < size) {
      if (data[row * size + column] !== 1) {
        column += 1
        continue
      }
      const start = column
      while (column < size && data[row * size + column] === 1) column += 1
      const run = column - start
      parts.push(`M${start + margin} ${row + margin}h${run}v1h-${run}z`)
    }
  }
  return parts.join('')
}

/**
 * The QR code as a standalone SVG document (scales without blur; the caller sets its display size).
 * Drawn from the matrix `QRCode.create` computes: the package's own SVG output is asynchronous only.
 */
export function renderQrSvg(text: string): string {
  const symbol = QRCode.create(checkText(text), { errorCorrectionLevel })
  const side = symbol.modules.size + 2 * margin
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${side} ${side}" shape-rendering="crispEdges">` +
    `<path fill="#ffffff" d="M0 0h${side}v${side}H0z"/>` +
    `<path fill="#000000" d="${darkRunsPath(symbol.modules)}"/>` +
    '</svg>'
  )
}

/** The QR code as a PNG, `scale` pixels per module (quiet zone included). */
export async function renderQrPng(text: string, options: Readonly<{ scale: number }>): Promise<Buffer> {
  const { scale } = options
  if (!Number.isInteger(scale) || scale < qrLimits.pngScaleMin || scale > qrLimits.pngScaleMax)
    throw new AppError(
      'qr-scale-invalid',
      422,
      `scale must be an integer from ${qrLimits.pngScaleMin} to ${qrLimits.pngScaleMax}`,
      { details: [{ path: 'scale', message: 'out of range' }] },
    )
  return await QRCode.toBuffer(checkText(text), {
    type: 'png',
    errorCorrectionLevel,
    margin,
    scale,
    color: { dark: '#000000ff', light: '#ffffffff' },
  })
}
