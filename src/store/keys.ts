/** The Redis keys of one brand, shared by every store so that all agree on the layout. */
export interface BrandKeys {
  /** The latest good metrics JSON. */
  metrics: string
  /** The value the latest write replaced. */
  old: string
  /** The outcome of the latest refresh, good or bad. */
  status: string
  /** Held while one instance refreshes the brand. */
  lock: string
}

export function brandKeys (prefix: string, brand: string): BrandKeys {
  const metrics = `${prefix}${brand}`
  return {
    metrics,
    old: `${metrics}:old`,
    status: `${metrics}:status`,
    lock: `${metrics}:lock`
  }
}

/**
 * The set of brands that succeeded for one QStash message. Brand ids never hold ":",
 * so this cannot collide with a brand's keys.
 */
export function messageKey (prefix: string, messageId: string): string {
  return `${prefix}qstash-message:${messageId}`
}
