import { open, stat } from 'node:fs/promises'
import type { NetworkConfig } from '../../config/config.types.ts'
import { limits } from '../../config/limits.ts'
import type { Queryable } from '../../db/pool.ts'
import { isAppError } from '../../lib/errors.ts'
import type { MasterKeyProvider } from '../keys/key.types.ts'
import { signerSecretInvalid } from './signer.errors.ts'
import { type CappedFees, capFees, type FeeMarket, type Fees } from './signer.fees.ts'
import { createKeystoreSigner } from './signer.keystore.ts'
import { signerLimits } from './signer.limits.ts'
import { createRemoteSigner } from './signer.remote.ts'
import type { Signer } from './signer.types.ts'

/**
 * The signers module's public surface: which signer a network uses (config `networks[].signer`), the
 * network's fee cap, and reading the remote signer's shared secret. Payouts, sweeps to cold and the
 * reference signing service all sign through a `Signer` from here.
 */

/** The network's max fee per gas cap in wei (config, else limits.maxFeePerGasCapWeiDefault). */
export function networkFeeCapWei(network: NetworkConfig): bigint {
  return network.maxFeePerGasCapWei ?? limits.maxFeePerGasCapWeiDefault
}

/** `fees` under the network's cap: lowered to it, or over-cap (then the sender waits, with the reason). */
export function capFeesForNetwork(network: NetworkConfig, fees: Fees, market: FeeMarket): CappedFees {
  return capFees(fees, market, networkFeeCapWei(network))
}

/**
 * Reads a shared secret file: hex or base64 of ≥ 32 bytes, owner-only permissions (like the master key
 * file). Errors name the path and the rule, never the content.
 */
export async function readSharedSecretFile(path: string): Promise<Uint8Array> {
  const info = await stat(path).catch(() => {
    throw signerSecretInvalid(`cannot read ${path}`)
  })
  if (!info.isFile()) throw signerSecretInvalid(`${path} is not a regular file`)
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0)
    throw signerSecretInvalid(`${path} is readable or writable by group or others; run chmod 600 on it`)
  if (info.size > signerLimits.sharedSecretFileBytesMax) throw signerSecretInvalid(`${path} is too large`)
  const handle = await open(path, 'r')
  try {
    const text = (await handle.readFile('utf8')).trim()
    const bytes = /^[0-9a-fA-F]+$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64')
    if (bytes.length < signerLimits.sharedSecretBytesMin)
      throw signerSecretInvalid(`${path} holds fewer than ${signerLimits.sharedSecretBytesMin} bytes`)
    return new Uint8Array(bytes)
  } finally {
    await handle.close()
  }
}

export type SignerDeps = Readonly<{ db: Queryable; masterKeyProvider: MasterKeyProvider }>

/** The signer a network is configured with: the keystore (default) or the remote signing service. */
export async function createNetworkSigner(network: NetworkConfig, deps: SignerDeps): Promise<Signer> {
  const maxFeePerGasCapWei = networkFeeCapWei(network)
  const choice = network.signer ?? { kind: 'keystore' }
  if (choice.kind === 'keystore')
    return createKeystoreSigner({
      db: deps.db,
      masterKeyProvider: deps.masterKeyProvider,
      maxFeePerGasCapWei,
    })
  const secret = await readSharedSecretFile(choice.secretFile)
  return createRemoteSigner({ url: choice.url, secret, maxFeePerGasCapWei })
}

/** The keystore signer alone, for callers that have no network configuration at hand. */
export function createHotWalletKeystoreSigner(deps: SignerDeps, maxFeePerGasCapWei: bigint): Signer {
  return createKeystoreSigner({ db: deps.db, masterKeyProvider: deps.masterKeyProvider, maxFeePerGasCapWei })
}

/**
 * For `.catch()` around a signing transaction: a signer's refusal (any `signer-…` code) becomes the
 * reason the item waits with, visible to operators; anything else is rethrown.
 */
export function signerRefusalReason(error: unknown): string {
  if (isAppError(error) && error.code.startsWith('signer-')) return `signer refused: ${error.code}`
  throw error
}
