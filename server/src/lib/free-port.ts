import { createServer } from 'node:net'

/**
 * Asks the kernel for a free TCP port on loopback. The port is released before it is returned, so a
 * racing process could take it; callers that spawn a server retry on "address in use".
 */
export async function findFreePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no port assigned'))
        else resolve(address.port)
      })
    })
  })
}
