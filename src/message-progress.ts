import type { RefreshContext, RefreshReport } from './refresh.js'
import { messageKey } from './store/keys.js'

/** How long the brands a QStash message has cached are remembered: a day of retries. */
export const PROGRESS_TTL_SECONDS = 86_400

/**
 * The brands already cached for a QStash message, so that a redelivery, on whichever
 * instance, redoes only the others. Empty without a message id. Throws StoreError when
 * the store cannot be read: the caller answers 503 so that QStash retries.
 */
export async function loadProgress (ctx: RefreshContext, messageId: string | undefined):
Promise<Set<string>> {
  if (messageId === undefined || messageId === '') return new Set()
  return new Set(await ctx.store.members(messageKey(ctx.config.keyPrefix, messageId)))
}

/**
 * Remembers the brands this delivery cached. Brands that failed stay out, so that a
 * redelivery tries them again. Throws StoreError when the store cannot take it.
 */
export async function recordProgress (ctx: RefreshContext, messageId: string | undefined,
  report: RefreshReport): Promise<void> {
  if (messageId === undefined || messageId === '') return
  const key = messageKey(ctx.config.keyPrefix, messageId)
  const cached = Object.entries(report.results).filter(([, result]) => result.ok)

  for (const [brand] of cached) {
    await ctx.store.addMember(key, brand, PROGRESS_TTL_SECONDS)
  }
}
