import type { CacheStore, MetricsWrite } from './store.js'

interface Entry {
  value: string | Set<string>
  expiresAt?: number
}

/**
 * A cache store inside the process, for the demo and tests. It keeps the same keys and
 * TTLs as Redis, and nothing outlives the process.
 */
export class MemoryStore implements CacheStore {
  readonly kind = 'memory'
  readonly #entries = new Map<string, Entry>()

  async writeMetrics (write: MetricsWrite): Promise<void> {
    const current = this.#string(write.keys.metrics)
    if (current !== null) this.#set(write.keys.old, current, write.preserveOldSeconds * 1000)
    this.#set(write.keys.metrics, write.metrics, write.ttlSeconds * 1000)
    this.#set(write.keys.status, write.status)
  }

  async writeStatus (key: string, status: string): Promise<void> {
    this.#set(key, status)
  }

  async getMany (keys: readonly string[]): Promise<Array<string | null>> {
    return keys.map((key) => this.#string(key))
  }

  async tryLock (key: string, token: string, ttlMs: number): Promise<boolean> {
    if (this.#live(key) !== undefined) return false
    this.#set(key, token, ttlMs)
    return true
  }

  async unlock (key: string, token: string): Promise<void> {
    if (this.#string(key) === token) this.#entries.delete(key)
  }

  async addMember (key: string, member: string, ttlSeconds: number): Promise<void> {
    const entry = this.#live(key)
    const set = entry?.value instanceof Set ? entry.value : new Set<string>()
    set.add(member)
    this.#entries.set(key, { value: set, expiresAt: Date.now() + ttlSeconds * 1000 })
  }

  async members (key: string): Promise<string[]> {
    const value = this.#live(key)?.value
    return value instanceof Set ? [...value] : []
  }

  /** Remaining time to live of a key in seconds, -1 without TTL, -2 when absent. */
  ttlSeconds (key: string): number {
    const entry = this.#live(key)
    if (entry === undefined) return -2
    if (entry.expiresAt === undefined) return -1
    return Math.ceil((entry.expiresAt - Date.now()) / 1000)
  }

  async ping (): Promise<void> {}

  async close (): Promise<void> {
    this.#entries.clear()
  }

  #set (key: string, value: string, ttlMs?: number): void {
    const expiresAt = ttlMs === undefined ? undefined : Date.now() + ttlMs
    this.#entries.set(key, expiresAt === undefined ? { value } : { value, expiresAt })
  }

  #string (key: string): string | null {
    const value = this.#live(key)?.value
    return typeof value === 'string' ? value : null
  }

  #live (key: string): Entry | undefined {
    const entry = this.#entries.get(key)
    if (entry?.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.#entries.delete(key)
      return undefined
    }
    return entry
  }
}
