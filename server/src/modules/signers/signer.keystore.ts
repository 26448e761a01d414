import { keccak256 } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { Queryable } from '../../db/pool.ts'
import { deriveEvmPrivateKey } from '../keys/key.service.ts'
import type { MasterKeyProvider } from '../keys/key.types.ts'
import { gatewayHotWalletPath } from '../sweeps/sweep.types.ts'
import { assertCallDataPays } from './signer.calldata.ts'
import { signerWrongKey } from './signer.errors.ts'
import { assertFeesWithinCap } from './signer.fees.ts'
import type { SignedTransaction, Signer, SigningRequest } from './signer.types.ts'

/**
 * The encrypted-keystore signer: the hot wallet's key is derived from the envelope-encrypted HD root
 * (docs/adr/0007-key-custody.md) for each signature and dropped afterwards; nothing is cached. It signs
 * offline (no network), so it may run inside the transaction that stores the signed bytes, as payouts and
 * sweeps always did. Before signing it checks the call data pays exactly the request's items and the fee
 * is under the network's cap: the same checks the remote signer makes, minus the database.
 */
export type KeystoreSignerDeps = Readonly<{
  db: Queryable
  masterKeyProvider: MasterKeyProvider
  /** Default: the gateway hot wallet, m/44'/60'/2147483647'/0/0. */
  path?: string
  maxFeePerGasCapWei: bigint
}>

/** Signs with a key that is already in memory: what the reference remote service also does. */
export async function signWithPrivateKey(
  privateKey: `0x${string}`,
  request: SigningRequest,
): Promise<SignedTransaction> {
  const account = privateKeyToAccount(privateKey)
  if (account.address.toLowerCase() !== request.from.toLowerCase()) throw signerWrongKey(request.from)
  const rawTransaction = await account.signTransaction({
    type: 'eip1559',
    chainId: request.chainId,
    ...request.transaction,
  })
  return { rawTransaction, hash: keccak256(rawTransaction) }
}

export function createKeystoreSigner(deps: KeystoreSignerDeps): Signer {
  return {
    kind: 'keystore',
    async sign(request) {
      assertCallDataPays(request)
      assertFeesWithinCap(request.transaction, deps.maxFeePerGasCapWei)
      const key = await deriveEvmPrivateKey(
        deps.db,
        deps.masterKeyProvider,
        deps.path ?? gatewayHotWalletPath,
      )
      return await signWithPrivateKey(key.privateKey, request)
    },
  }
}
