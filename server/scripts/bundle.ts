import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type Plugin } from 'esbuild'

/**
 * The long-running entry points, bundled into dist/main/<name>.js (docs/adr/0025): `npm start` and the
 * api and worker roles run these with plain node. tsx transforms sources in a loader thread that stays
 * for the life of the process: ~50–60 MiB of resident memory in a gateway that must idle under 200 MB.
 * Short-lived commands (the CLI, devnet) still run their sources through tsx.
 */
export const bundledEntries = ['all-in-one', 'api', 'worker', 'migrate'] as const

const serverDirectory = fileURLToPath(new URL('..', import.meta.url))
export const bundleDirectory = join(serverDirectory, 'dist', 'main')

// Our workspace packages are TypeScript sources: bundled. Everything else (node built-ins and every
// package from node_modules, native addons among them) stays an import node resolves at run time.
const installedPackagesStayExternal: Plugin = {
  name: 'installed-packages-stay-external',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@sluice/') ? undefined : { path: args.path, external: true },
    )
  },
}

export async function bundleServer(): Promise<void> {
  await bundleFiles(
    bundledEntries.map((name) => join(serverDirectory, 'src', 'main', `${name}.ts`)),
    bundleDirectory,
  )
}

/**
 * Bundles `entries` into `outdir`, which must lie inside the server package (lib/package-root.ts finds
 * the package from the bundle's location). The benchmarks bundle their measured child processes this way,
 * so they measure what the gateway runs.
 */
export async function bundleFiles(entries: readonly string[], outdir: string): Promise<void> {
  rmSync(outdir, { recursive: true, force: true })
  await build({
    entryPoints: [...entries],
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Function and class names as written, for stack traces and logged error names; a source map beside
    // each bundle for NODE_OPTIONS=--enable-source-maps when a stack trace must name source lines (off by
    // default: node then keeps every map in memory).
    keepNames: true,
    sourcemap: 'linked',
    plugins: [installedPackagesStayExternal],
    logLevel: 'warning',
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundleServer()
