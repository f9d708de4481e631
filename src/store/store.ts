import type { BrandKeys } from './keys.js'

export type StoreKind = 'redis' | 'upstash-rest' | 'memory'

export interface MetricsWrite {
  keys: BrandKeys
  /** The new metrics JSON text. */
  metrics: string
  /** The status JSON text that goes with it. */
  status: string
  ttlSeconds: number
  preserveOldSeconds: number
}

/**
 * What metrics-cache needs from a cache store. Every method has a deadline and throws
 * StoreError when the store cannot be reached; values are JSON text, stored as is.
 */
export interface CacheStore {
  readonly kind: StoreKind
  /**
   * In one transaction: moves the current metrics to `:old` (with its own TTL), writes
   * the new metrics with their TTL and writes the status. Either all of it or none.
   */
  writeMetrics (write: MetricsWrite): Promise<void>
  /** Writes a status alone: a failed refresh never touches the metrics. */
  writeStatus (key: string, status: string): Promise<void>
  /** Values of several keys in one round trip; null where a key has none. */
  getMany (keys: readonly string[]): Promise<Array<string | null>>
  /** Takes `key` for `token` unless someone holds it; it frees itself after `ttlMs`. */
  tryLock (key: string, token: string, ttlMs: number): Promise<boolean>
  /** Frees `key` if `token` still holds it. */
  unlock (key: string, token: string): Promise<void>
  /** Adds `member` to the set at `key` and sets the set's TTL. */
  addMember (key: string, member: string, ttlSeconds: number): Promise<void>
  members (key: string): Promise<string[]>
  /** A round trip that proves the store answers. */
  ping (): Promise<void>
  close (): Promise<void>
}
