import { readFile } from 'node:fs/promises'
import { extname, join } from 'node:path'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { repositoryDirectory } from '../../lib/package-root.ts'

/**
 * The hosted checkout (web/src/checkout): GET /pay/:id answers the built page, whose scripts and styles
 * live under /assets/checkout/. Files are read per request rather than at start, so a gateway started
 * before `npm run build --workspace web` serves the page as soon as it exists; they are a few KB and
 * their hashed names make browsers cache them.
 */
export const checkoutBuildDirectory = join(repositoryDirectory, 'web', 'dist', 'checkout')

const contentTypes: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
}

/** Built asset names are flat (vite.config.ts: assetsDir ''), so no slash can lead out of the folder. */
const assetNamePattern = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/

/** The page only talks to its own origin: its bundle, the public API and the QR endpoint. */
const pagePolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

async function readBuilt(name: string): Promise<Buffer | undefined> {
  try {
    return await readFile(join(checkoutBuildDirectory, name))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

function notBuilt(reply: FastifyReply): FastifyReply {
  return reply.status(404).send({
    code: 'checkout-not-built',
    message: `the checkout page is not built (${checkoutBuildDirectory}): run \`npm run build --workspace web\``,
  })
}

export function registerCheckoutRoutes(app: FastifyInstance): void {
  app.get('/pay/:id', async (_request, reply) => {
    const page = await readBuilt('index.html')
    if (page === undefined) return notBuilt(reply)
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', pagePolicy)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(page)
  })

  app.get('/assets/checkout/:file', async (request, reply) => {
    const { file } = request.params as { file: string }
    const type = contentTypes[extname(file)]
    if (!assetNamePattern.test(file) || type === undefined) {
      return reply.status(404).send({ code: 'route-not-found', message: 'no such asset' })
    }
    const body = await readBuilt(file)
    if (body === undefined) {
      return (await readBuilt('index.html')) === undefined
        ? notBuilt(reply)
        : reply.status(404).send({ code: 'route-not-found', message: 'no such asset' })
    }
    return reply
      .type(type)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .send(body)
  })
}
