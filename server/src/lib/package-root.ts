import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The server package's directory (the one holding its package.json), found from this module whether it
 * runs from src/ (tsx, tests) or from the bundle in dist/main/ that `npm start` runs (docs/adr/0025).
 * Files the server reads (migrations, the web build, the vendored sanctions lists) are located from here:
 * inside a bundle every module shares the bundle's import.meta.url, so a path relative to a module's own
 * file would point somewhere else.
 */
export const serverPackageDirectory = findServerPackage(dirname(fileURLToPath(import.meta.url)))

/** The repository (npm workspace) root: the server package is one of its workspaces. */
export const repositoryDirectory = dirname(serverPackageDirectory)

function findServerPackage(start: string): string {
  for (let directory = start; ; directory = dirname(directory)) {
    const manifest = join(directory, 'package.json')
    if (existsSync(manifest) && readManifestName(manifest) === '@sluice/server') return directory
    if (dirname(directory) === directory) throw new Error(`no @sluice/server package above ${start}`)
  }
}

function readManifestName(path: string): unknown {
  return (JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown }).name
}
