import QRCode from 'qrcode'
import { describe, expect, it } from 'vitest'
import { qrLimits, renderQrPng, renderQrSvg } from './qr.ts'

const uri =
  'ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7@1/transfer?address=0x1111111111111111111111111111111111111111&uint256=1000000'
const otherUri = uri.replace('uint256=1000000', 'uint256=2000000')
const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

/**
 * Well-formedness without an XML parser: every tag is a known element with quoted attributes, and the
 * tags nest (open/close balance, self-closing allowed). Text content between tags is refused.
 */
function assertWellFormedSvg(svg: string): void {
  const tags = svg.match(/<[^>]*>/g) ?? []
  expect(tags.join('')).toBe(svg)
  const open: string[] = []
  for (const tag of tags) {
    const closing = /^<\/([a-z]+)>$/.exec(tag)
    if (closing !== null) {
      expect(open.pop()).toBe(closing[1])
      continue
    }
    const element = /^<([a-z]+)((?:\s+[A-Za-z:-]+="[^"<>&]*")*)\s*(\/?)>$/.exec(tag)
    expect(element, tag).not.toBeNull()
    if (element?.[3] !== '/') open.push(element?.[1] ?? '')
  }
  expect(open).toEqual([])
}

function darkModules(text: string): number {
  return QRCode.create(text, { errorCorrectionLevel: 'M' }).modules.data.reduce((sum, bit) => sum + bit, 0)
}

describe('renderQrSvg', () => {
  it('writes a well-formed SVG document whose runs cover exactly the dark modules', () => {
    const svg = renderQrSvg(uri)
    expect(svg.startsWith('<svg')).toBe(true)
    assertWellFormedSvg(svg)
    const symbol = QRCode.create(uri, { errorCorrectionLevel: 'M' })
    const side = symbol.modules.size + 4
    expect(svg).toContain(`viewBox="0 0 ${side} ${side}"`)
    const runs = [...svg.matchAll(/h([0-9]+)v1/g)].reduce((sum, match) => sum + Number(match[1]), 0)
    expect(runs).toBe(darkModules(uri))
  })

  it('draws different codes for different texts and the same code for the same text', () => {
    expect(renderQrSvg(uri)).toBe(renderQrSvg(uri))
    expect(renderQrSvg(otherUri)).not.toBe(renderQrSvg(uri))
  })

  it('encodes up to textBytesMax UTF-8 bytes and refuses more, or nothing', () => {
    expect(renderQrSvg('a'.repeat(qrLimits.textBytesMax)).startsWith('<svg')).toBe(true)
    for (const text of ['a'.repeat(qrLimits.textBytesMax + 1), 'é'.repeat(qrLimits.textBytesMax / 2 + 1), ''])
      expect(() => renderQrSvg(text)).toThrow(expect.objectContaining({ code: 'qr-text-invalid' }))
  })
})

describe('renderQrPng', () => {
  it('writes a PNG of (modules + quiet zone) x scale pixels', async () => {
    const png = await renderQrPng(uri, { scale: 4 })
    expect(png.subarray(0, 8).equals(pngSignature)).toBe(true)
    // IHDR is the first chunk: length (4), type (4), then width and height as big-endian uint32.
    expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR')
    const side = (QRCode.create(uri, { errorCorrectionLevel: 'M' }).modules.size + 4) * 4
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([side, side])
  })

  it('draws different images for different texts', async () => {
    const [first, second] = await Promise.all([
      renderQrPng(uri, { scale: 2 }),
      renderQrPng(otherUri, { scale: 2 }),
    ])
    expect(first.equals(second)).toBe(false)
  })

  it('refuses oversized text and a scale out of range', async () => {
    await expect(renderQrPng('a'.repeat(qrLimits.textBytesMax + 1), { scale: 2 })).rejects.toMatchObject({
      code: 'qr-text-invalid',
    })
    for (const scale of [0, qrLimits.pngScaleMax + 1, 2.5])
      await expect(renderQrPng(uri, { scale })).rejects.toMatchObject({ code: 'qr-scale-invalid' })
    expect((await renderQrPng(uri, { scale: qrLimits.pngScaleMax })).length).toBeGreaterThan(0)
  })
})
