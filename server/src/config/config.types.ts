/** Finality rule of a network: the RPC's `finalized` block tag, or a fixed number of confirmations. */
export type FinalityRule = { kind: 'tag' } | { kind: 'confirmations'; confirmations: number }

export type TokenConfig = Readonly<{ symbol: string; contractAddress: `0x${string}`; decimals: number }>

export type NetworkConfig = Readonly<{
  name: string
  kind: 'evm'
  chainId: number
  /** In failover order: the first healthy URL is used. */
  rpcUrls: readonly string[]
  blockTimeMs: number
  finality: FinalityRule
  tokens: readonly TokenConfig[]
  /**
   * Our BatchTransfer contract on this network (contracts/src/BatchTransfer.sol). Optional: without it,
   * payouts go out as single transfers (docs/adr/0015-batch-and-canary-payouts.md).
   */
  batchTransferAddress?: `0x${string}`
  /** Who signs the hot wallet's transactions on this network; absent = the encrypted keystore. */
  signer?: SignerConfig | undefined
  /** No transaction is signed above this max fee per gas (wei); absent = limits.maxFeePerGasCapWeiDefault. */
  maxFeePerGasCapWei?: bigint | undefined
  /** The cold wallet (watch-only) and the hot wallet's floor and ceiling per token symbol. */
  treasury?: TreasuryConfig | undefined
  /** Block explorer base URL (https://etherscan.io): the checkout links `<explorerUrl>/tx/<hash>`. */
  explorerUrl?: string | undefined
  /** The native coin's symbol (ETH, BNB): prices gas through `rates` for the cost KPI. Absent = ETH. */
  nativeSymbol?: string | undefined
}>

export type SignerConfig =
  | Readonly<{ kind: 'keystore' }>
  | Readonly<{ kind: 'remote'; url: string; secretFile: string }>

/** Minor units of the token; below the floor a top-up from cold is requested, above the ceiling a sweep. */
export type HotWalletBand = Readonly<{ floorMinor: bigint; ceilingMinor: bigint }>

export type TreasuryConfig = Readonly<{
  coldAddress: `0x${string}`
  hotWallet: Readonly<Record<string, HotWalletBand>>
}>

export type DevnetConfig = Readonly<{
  /** Block time per devnet chain, by network name (ethereum, bsc, arbitrum). */
  blockTimeMs: Readonly<Record<string, number>>
  /** Keep chain state in .sluice/devnet between runs. Tests turn this off. */
  persistState: boolean
}>

export type SecretsConfig = Readonly<{
  /** File holding the master key that wraps every data key (seeds, keystores). */
  masterKeyFile: string | undefined
  /** Directory of encrypted keystores. */
  keystoreDir: string
}>

export type Config = Readonly<{
  /** Absent: an embedded PostgreSQL is started under dataDir. */
  databaseUrl: string | undefined
  httpHost: string
  httpPort: number
  /**
   * Addresses (IPs or CIDR ranges) of the reverse proxies in front of the API, whose X-Forwarded-For and
   * X-Forwarded-Proto are believed: the buyer's address for rate limits, https for Secure cookies and
   * passkey origins. Empty (the default): no header is believed, the connection is what it is.
   */
  trustedProxies: readonly string[]
  /**
   * The stores (mer_…) whose API keys and dashboard users act for the gateway's operator: only they see
   * the hot and cold wallets and decide treasury proposals (docs/adr/0026-operator-store.md). Required
   * when a network has a treasury; absent otherwise means no store, except the devnet's demo store.
   * Each must exist in the database: the API does not start otherwise.
   */
  operatorStores: readonly string[] | undefined
  dataDir: string
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** Empty: the devnet (three anvil chains) is started and its generated networks are used. */
  networks: readonly NetworkConfig[]
  devnet: DevnetConfig
  secrets: SecretsConfig
  natsUrl: string | undefined
  webhooks: Readonly<{
    /**
     * Endpoints registered through the API may be http:// and reach loopback and private hosts (local
     * receivers). Default: on while the devnet serves (no networks configured), off otherwise.
     */
    allowLocalEndpoints: boolean | undefined
  }>
  /** Static rate table: currency → token symbol → tokens per unit of currency (decimal string). */
  rates: Readonly<Record<string, Readonly<Record<string, string>>>>
}>
