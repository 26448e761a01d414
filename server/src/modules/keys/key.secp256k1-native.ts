import { createRequire } from 'node:module'
import { dirname } from 'node:path'

/**
 * libsecp256k1 (Bitcoin Core's curve library) through the `secp256k1` package's N-API addon, for the one
 * public operation address derivation needs: parent point + tweak·G (docs/adr/0024). ~4× less CPU per
 * address than the @noble/curves table path, which stays as the fallback where the addon does not load.
 * The addon is loaded directly, not through the package's entry point, which would fall back silently
 * to a JavaScript implementation (elliptic). Only public inputs pass through here: the xpub's point and
 * the tweak, which anyone holding the xpub can compute.
 */

type Secp256k1Addon = {
  /** 0 ok, 1 the point does not parse, 2 the tweak is ≥ n or the sum is the point at infinity, 3 output. */
  publicKeyTweakAdd(output: Uint8Array, publicKey: Uint8Array, tweak: Uint8Array): number
}

type AddonModule = { Secp256k1: new () => Secp256k1Addon }

function loadAddon(): { addon: Secp256k1Addon } | { loadError: string } {
  try {
    const require = createRequire(import.meta.url)
    const packageDirectory = dirname(require.resolve('secp256k1/package.json'))
    const load = require('node-gyp-build') as (directory: string) => AddonModule
    return { addon: new (load(packageDirectory).Secp256k1)() }
  } catch (error) {
    // No prebuilt addon for this platform and none built: the caller uses @noble/curves, and start-up
    // logs this reason (a path or a missing symbol; no secret is involved in loading).
    return { loadError: error instanceof Error ? error.message : String(error) }
  }
}

const loaded = loadAddon()
const addon = 'addon' in loaded ? loaded.addon : undefined

/** True when libsecp256k1 is in use for public derivation (logged at start-up; tested on linux-x64). */
export const nativePublicDerivation = addon !== undefined

/** Why the addon did not load, when it did not. */
export const nativeLoadError: string | undefined = 'loadError' in loaded ? loaded.loadError : undefined

/**
 * `parent + tweak·G` as a 65-byte uncompressed point, or undefined when the tweak is out of range or the
 * sum is the point at infinity (BIP32: that index has no key). `parent` is 65 bytes, uncompressed (a
 * compressed one would be decompressed on every call); `tweak` is exactly 32 bytes, big-endian.
 */
export function tweakAddPublicKey(parent: Uint8Array, tweak: Uint8Array): Uint8Array | undefined {
  if (addon === undefined) throw new Error('libsecp256k1 is not loaded: check nativePublicDerivation first')
  // The addon checks the tweak's length but not the output's: an output of the wrong size reaches
  // libsecp256k1's illegal-argument handler, which aborts the process. So the output is allocated here,
  // always 65 bytes, and both inputs are checked before the call.
  if (parent.length !== 65 || tweak.length !== 32) throw new Error('tweakAddPublicKey: wrong input length')
  const output = new Uint8Array(65)
  const result = addon.publicKeyTweakAdd(output, parent, tweak)
  if (result === 2) return undefined
  if (result !== 0) throw new Error(`libsecp256k1 publicKeyTweakAdd failed (${result})`)
  return output
}
