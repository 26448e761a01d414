import { lookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'
import { webhookUrlInvalid, webhookUrlRefused } from './webhook.errors.ts'
import { webhookLimits } from './webhook.limits.ts'
import type { ResolveHost } from './webhook.types.ts'

/**
 * What an endpoint may reach beyond public https hosts: `insecure` (operator-only) also http:// and
 * link-local hosts; `local` (registered while the gateway allowed local receivers) loopback and private
 * hosts over https.
 */
export type EndpointAccess = Readonly<{ insecure: boolean; local: boolean }>

/** Where an IP address points, as far as webhook SSRF rules care. */
export type AddressClass = 'loopback' | 'private' | 'link-local' | 'unspecified' | 'public'

function blockList(v4: readonly [string, number][], v6: readonly [string, number][]): BlockList {
  const list = new BlockList()
  for (const [network, prefix] of v4) list.addSubnet(network, prefix, 'ipv4')
  for (const [network, prefix] of v6) list.addSubnet(network, prefix, 'ipv6')
  return list
}

// BlockList also matches IPv4-mapped IPv6 (::ffff:169.254.169.254) against the IPv4 rules.
const linkLocal = blockList(
  [['169.254.0.0', 16]],
  // fd00:ec2::254 is the EC2 metadata service over IPv6 (a ULA address, hence listed before `private`).
  [
    ['fe80::', 10],
    ['fd00:ec2::254', 128],
  ],
)
// 0.0.0.0 and :: reach the local host on Linux: an SSRF classic.
const unspecified = blockList([['0.0.0.0', 8]], [['::', 128]])
const loopback = blockList([['127.0.0.0', 8]], [['::1', 128]])
// Internal to a site or a carrier, never a store's receiver on the internet: RFC 1918, carrier-grade NAT
// (100.64.0.0/10, where one cloud keeps its metadata service), IETF protocol assignments, benchmarking,
// the reserved 240/4, and IPv6 unique-local addresses.
const privateRanges = blockList(
  [
    ['10.0.0.0', 8],
    ['172.16.0.0', 12],
    ['192.168.0.0', 16],
    ['100.64.0.0', 10],
    ['192.0.0.0', 24],
    ['198.18.0.0', 15],
    ['240.0.0.0', 4],
  ],
  [['fc00::', 7]],
)
// IPv6 forms that carry an IPv4 address in their last 32 bits and reach it: NAT64 (64:ff9b::/96) and
// SIIT (::ffff:0:0:0/96). They are classed as the IPv4 address they carry. (IPv4-mapped ::ffff:a.b.c.d is
// matched by BlockList itself.)
const carriesIpv4 = blockList(
  [],
  [
    ['64:ff9b::', 96],
    ['::ffff:0:0:0', 96],
  ],
)

/**
 * Classes of addresses already seen. Every POST checks its receiver's addresses again, and BlockList
 * checks cost ~4 % of a worker's CPU per delivery (profiled); the class of an address never changes.
 * Bounded: cleared when full.
 */
const classByAddress = new Map<string, AddressClass>()
const classesCachedMax = 4_096

export function classifyAddress(address: string): AddressClass {
  const cached = classByAddress.get(address)
  if (cached !== undefined) return cached
  const family = isIP(address)
  if (family === 0) throw new TypeError(`not an IP address: ${address}`)
  const kind = classifyByRanges(address, family === 4 ? 'ipv4' : 'ipv6')
  if (classByAddress.size >= classesCachedMax) classByAddress.clear()
  classByAddress.set(address, kind)
  return kind
}

function classifyByRanges(address: string, type: 'ipv4' | 'ipv6'): AddressClass {
  if (type === 'ipv6' && carriesIpv4.check(address, 'ipv6'))
    return classifyByRanges(embeddedIpv4(address), 'ipv4')
  if (linkLocal.check(address, type)) return 'link-local'
  if (unspecified.check(address, type)) return 'unspecified'
  if (loopback.check(address, type)) return 'loopback'
  if (privateRanges.check(address, type)) return 'private'
  return 'public'
}

/** The IPv4 address in the last 32 bits of an IPv6 address (WHATWG URL parsing normalises it). */
function embeddedIpv4(address: string): string {
  const groups = new URL(`http://[${address}]/`).hostname.slice(1, -1).split(':')
  const low = Number.parseInt(groups.at(-1) ?? '0', 16)
  const high = Number.parseInt(groups.at(-2) ?? '0', 16)
  return [high >> 8, high & 255, low >> 8, low & 255].join('.')
}

/** `[::1]` → `::1`: URL keeps IPv6 literals in brackets. */
export function urlHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1')
}

/**
 * Checks what can be checked without the network: a parseable http(s) URL of bounded length; http only
 * with allowInsecure (signatures do not hide the payload, and a man in the middle could read it).
 */
export function parseEndpointUrl(text: string, allowInsecure: boolean): URL {
  if (text.length > webhookLimits.urlLengthMax)
    throw webhookUrlInvalid(`longer than ${webhookLimits.urlLengthMax} characters`)
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw webhookUrlInvalid('not an absolute URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw webhookUrlInvalid('must be https:// (or http://)')
  if (url.hostname === '') throw webhookUrlInvalid('has no host')
  if (url.protocol === 'http:' && !allowInsecure)
    throw webhookUrlRefused(
      'http:// is allowed only with allowInsecure (to loopback or private hosts); use https://',
    )
  return url
}

/** Why the resolved addresses may not be called, or undefined when they may. */
export function refusalForAddresses(
  url: URL,
  addresses: readonly string[],
  access: EndpointAccess,
): string | undefined {
  const allowInsecure = access.insecure
  if (addresses.length === 0) return 'the host resolves to no address'
  const classes = addresses.map(classifyAddress)
  if (!allowInsecure && classes.some((kind) => kind === 'link-local' || kind === 'unspecified'))
    return 'the host resolves to a link-local, metadata or unspecified address'
  // A store's receiver is on the internet: an endpoint reaching the gateway's own host or network would
  // let a webhooks key probe them (security review, 2026-11-22). Local receivers need `local`.
  if (!allowInsecure && !access.local && classes.some((kind) => kind === 'loopback' || kind === 'private'))
    return 'the host resolves to a loopback or private address'
  if (url.protocol === 'http:' && !classes.every((kind) => kind === 'loopback' || kind === 'private'))
    return 'http:// is allowed only to loopback or private addresses'
  return undefined
}

export const resolveHostWithDns: ResolveHost = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address)

/** The addresses a request to `url` would reach: the literal IP, or what DNS answers now. */
export async function resolveUrlAddresses(url: URL, resolveHost: ResolveHost): Promise<readonly string[]> {
  const host = urlHost(url)
  return isIP(host) === 0 ? await resolveHost(host) : [host]
}

/**
 * Full validation for creating or changing an endpoint: syntax, scheme, and where the host resolves to
 * (SSRF guard). Delivery repeats the address check before every POST, since DNS answers change.
 */
export async function validateEndpointUrl(
  text: string,
  access: EndpointAccess,
  resolveHost: ResolveHost,
): Promise<URL> {
  const url = parseEndpointUrl(text, access.insecure)
  // A store's endpoint gets one answer for a name that does not resolve and for one that resolves where
  // webhooks may not go: told apart (by code, message or resolver code), they would let a webhooks key
  // map which internal names the gateway's DNS knows and what they point at (review, 2026-11-22). Where
  // the operator allows local or insecure receivers, the specific reason helps and reveals nothing new.
  const specific = access.insecure || access.local
  let addresses: readonly string[]
  try {
    addresses = await resolveUrlAddresses(url, resolveHost)
  } catch (error) {
    throw webhookUrlRefused(specific ? `the host does not resolve (${errorCode(error)})` : notReachable)
  }
  const refusal = refusalForAddresses(url, addresses, access)
  if (refusal !== undefined) throw webhookUrlRefused(specific ? refusal : notReachable)
  return url
}

const notReachable = 'the host does not resolve to a public address'

/** A stable, secret-free description of a network error: its code, else its class name. */
function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string') return code
  return error instanceof Error ? error.name : 'unknown'
}

/**
 * fetch() refuses URLs with credentials, and credentials must never reach logs: they move into an
 * Authorization header, and the URL that is sent and shown keeps none.
 */
export function splitCredentials(url: URL): { url: string; authorization: string | undefined } {
  if (url.username === '' && url.password === '') return { url: url.toString(), authorization: undefined }
  const bare = new URL(url.toString())
  const user = decodeURIComponent(url.username)
  const password = decodeURIComponent(url.password)
  bare.username = ''
  bare.password = ''
  return {
    url: bare.toString(),
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  }
}
