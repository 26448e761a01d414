import type { Config } from '../config/config.types.ts'
import { readMasterKeyFromEnvironment } from '../config/env.ts'
import {
  createEnvironmentMasterKeyProvider,
  loadKeyFileMasterKeyProvider,
} from '../modules/keys/key.master.ts'
import type { MasterKeyProvider } from '../modules/keys/key.types.ts'

export class MasterKeyMissingError extends Error {
  override readonly name = 'MasterKeyMissingError'
}

/** The configured master key: a key file (secrets.masterKeyFile) first, else SLUICE_MASTER_KEY. */
export async function configuredMasterKeyProvider(config: Config): Promise<MasterKeyProvider> {
  if (config.secrets.masterKeyFile !== undefined)
    return await loadKeyFileMasterKeyProvider(config.secrets.masterKeyFile)
  const fromEnvironment = readMasterKeyFromEnvironment()
  if (fromEnvironment !== undefined && fromEnvironment !== '')
    return createEnvironmentMasterKeyProvider(fromEnvironment)
  throw new MasterKeyMissingError(
    'no master key: set SLUICE_MASTER_KEY_FILE (or secrets.masterKeyFile) or SLUICE_MASTER_KEY',
  )
}
