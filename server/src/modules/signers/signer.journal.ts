import { mkdir, open, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { AppError } from '../../lib/errors.ts'
import { signerLimits } from './signer.limits.ts'
import type { SigningRequest } from './signer.types.ts'

/**
 * The signer's own memory of what it signed: each paid item (payout or treasury sweep) is bound to one
 * nonce for ever. A fee replacement reuses the nonce and passes; a second signature for the same item at
 * another nonce is refused (`signer-nonce-conflict`). Two signed transactions at different nonces for one
 * payout could both be mined, and that is a double payment, whatever the gateway's database says. The
 * journal is kept by the signer (a JSON-lines file on its host), never in the database the gateway can write.
 *
 * Concurrency: `reserve` checks and records synchronously (one JS turn), so two concurrent requests for
 * one item at different nonces cannot both pass. The reservation is dropped if signing fails, and written
 * to the file before the signature leaves the service.
 */
export const signerNonceConflict = (kind: string, id: string, nonce: number) =>
  new AppError(
    'signer-nonce-conflict',
    403,
    `${kind} ${id} was signed at nonce ${nonce}; a second nonce is refused`,
  )
export const signerJournalFull = () =>
  new AppError(
    'signer-journal-full',
    503,
    'the signing journal is full; rotate it (docs/domain/remote-signer.md)',
  )

export interface SigningJournal {
  /** Binds every item of `request` to its nonce, or throws without binding any. Returns an undo. */
  reserve(request: SigningRequest): () => void
  /** Persists the bindings of a signed request before its signature is returned. */
  commit(request: SigningRequest, hash: string): Promise<void>
}

const keyOf = (network: string, kind: string, id: string) => `${network}/${kind}/${id}`

function createJournal(bound: Map<string, number>, append: (line: string) => Promise<void>): SigningJournal {
  return {
    reserve(request) {
      const added: string[] = []
      for (const item of request.pays) {
        const key = keyOf(request.network, item.kind, item.id)
        const nonce = bound.get(key)
        if (nonce !== undefined && nonce !== request.transaction.nonce) {
          for (const undo of added) bound.delete(undo)
          throw signerNonceConflict(item.kind, item.id, nonce)
        }
        if (nonce === undefined) {
          if (bound.size >= signerLimits.journalEntriesMax) {
            for (const undo of added) bound.delete(undo)
            throw signerJournalFull()
          }
          bound.set(key, request.transaction.nonce)
          added.push(key)
        }
      }
      return () => {
        for (const key of added) bound.delete(key)
      }
    },
    async commit(request, hash) {
      const at = new Date().toISOString()
      const lines = request.pays.map((item) =>
        JSON.stringify({
          network: request.network,
          kind: item.kind,
          id: item.id,
          nonce: request.transaction.nonce,
          hash,
          at,
        }),
      )
      await append(`${lines.join('\n')}\n`)
    },
  }
}

/** In memory only: for tests and for a signer whose backend keeps its own journal. */
export function createMemoryJournal(): SigningJournal {
  return createJournal(new Map(), async () => {})
}

/** A JSON-lines file, read at start and appended (with fdatasync) for each signature. */
export async function openFileJournal(path: string): Promise<SigningJournal> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const bound = new Map<string, number>()
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return ''
    throw error
  })
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const entry = JSON.parse(line) as { network: string; kind: string; id: string; nonce: number }
    bound.set(keyOf(entry.network, entry.kind, entry.id), entry.nonce)
  }
  const handle = await open(path, 'a', 0o600)
  return createJournal(bound, async (lines) => {
    await handle.appendFile(lines)
    await handle.datasync()
  })
}
