import { Redis } from 'ioredis'
import { withDeadline } from '../deadline.js'
import { StoreError } from '../errors.js'
import type { CacheStore, MetricsWrite } from './store.js'
import { UNLOCK_SCRIPT } from './unlock-script.js'

export interface RedisStoreOptions {
  /** Deadline of one command, connecting included. @default 5000 */
  commandTimeoutMs?: number
}

/** The longest pause between two reconnect attempts, and so a refused command's wait. */
const RECONNECT_MAX_MS = 1000

/**
 * The cache store over Redis's own protocol (ioredis), for `redis://` and `rediss://`
 * URLs. It reconnects by itself, so a Redis that comes back needs no restart of ours.
 */
export class RedisStore implements CacheStore {
  readonly kind = 'redis'
  readonly #redis: Redis
  readonly #where: string
  readonly #timeoutMs: number
  #isClosed = false
  /** The last error the connection reported, such as WRONGPASS, to say why it closed. */
  #lastError: string | undefined

  constructor (url: string, options: RedisStoreOptions = {}) {
    const timeout = options.commandTimeoutMs ?? 5000
    this.#timeoutMs = timeout
    const parsed = new URL(url)
    this.#where = `${parsed.hostname}:${parsed.port || '6379'}`
    this.#redis = new Redis(url, {
      connectTimeout: timeout,
      commandTimeout: timeout,
      // A command sent while the connection is down fails at the next failed reconnect
      // attempt rather than the second, so a refused store answers within one interval.
      maxRetriesPerRequest: 0,
      // ioredis queues commands of its own on every connect (CLIENT SETINFO, then INFO
      // for its ready check), each with our command timeout; when the connection is
      // refused (a wrong password) they outlive close() and held a `fetch` open 10 s.
      disableClientInfo: true,
      lazyConnect: true,
      // On disconnect ioredis arms a timer to destroy the socket, which is never cleared
      // when the socket had already failed: it kept a `fetch` alive 2 s after Redis was
      // found down. The socket is ours to drop at once anyway.
      disconnectTimeout: 100,
      // Keep trying to reconnect, never more than 1 s apart, for as long as we run.
      retryStrategy: (times) => Math.min(times * 200, RECONNECT_MAX_MS),
      ...(parsed.protocol === 'rediss:' ? { tls: {} } : {})
    })
    // Errors surface on each command; without a listener ioredis would print them. The
    // latest is kept: a refused password otherwise shows only as "Connection is closed".
    this.#redis.on('error', (error: Error) => { this.#lastError = error.message })
    this.#redis.on('ready', () => { this.#lastError = undefined })
  }

  async writeMetrics (write: MetricsWrite): Promise<void> {
    const { keys } = write
    // Limitation: COPY cannot be made conditional inside MULTI, so when the metrics have
    // expired but an older :old remains, EXPIRE gives that older copy a fresh TTL.
    const replies = await this.#run('write metrics', async () => await this.#redis.multi()
      .copy(keys.metrics, keys.old, 'REPLACE')
      .expire(keys.old, write.preserveOldSeconds)
      .set(keys.metrics, write.metrics, 'EX', write.ttlSeconds)
      .set(keys.status, write.status)
      .exec())
    const failed = replies?.find(([error]) => error !== null)
    if (replies === null || failed !== undefined) {
      throw new StoreError(`Redis at ${this.#where} refused the metrics transaction.`,
        { cause: failed?.[0] })
    }
  }

  async writeStatus (key: string, status: string): Promise<void> {
    await this.#run('write status', async () => await this.#redis.set(key, status))
  }

  async getMany (keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return []
    return await this.#run('read', async () => await this.#redis.mget(...keys))
  }

  async tryLock (key: string, token: string, ttlMs: number): Promise<boolean> {
    const reply = await this.#run('lock', async () =>
      await this.#redis.set(key, token, 'PX', ttlMs, 'NX'))
    return reply === 'OK'
  }

  async unlock (key: string, token: string): Promise<void> {
    await this.#run('unlock', async () => await this.#redis.eval(UNLOCK_SCRIPT, 1, key, token))
  }

  async addMember (key: string, member: string, ttlSeconds: number): Promise<void> {
    await this.#run('record progress', async () => await this.#redis.multi()
      .sadd(key, member).expire(key, ttlSeconds).exec())
  }

  async members (key: string): Promise<string[]> {
    return await this.#run('read progress', async () => await this.#redis.smembers(key))
  }

  async ping (): Promise<void> {
    await this.#run('ping', async () => await this.#redis.ping())
  }

  async close (): Promise<void> {
    this.#isClosed = true
    this.#redis.disconnect()
  }

  /**
   * Runs one command under one deadline, connecting included. ioredis's own timeouts
   * add up (a connect that hangs, then the command, then its retry: 10 s on a host that
   * accepts and never answers), so the deadline is ours; ioredis goes on reconnecting
   * behind it, which is how a store that comes back is used again.
   */
  async #run<T> (what: string, command: () => Promise<T>): Promise<T> {
    // A late command (a lock release retried in the background) must not wake a closed
    // client: ioredis would queue it and hold the process open on its timers.
    if (this.#isClosed) throw new StoreError(`Redis at ${this.#where} is closed: cannot ${what}.`)
    try {
      return await withDeadline((async () => {
        if (this.#redis.status === 'wait') await this.#redis.connect()
        return await command()
      })(), this.#timeoutMs, 'the command')
    } catch (error) {
      if (error instanceof StoreError) throw error
      let reason = error instanceof Error ? error.message : String(error)
      if (this.#lastError !== undefined && !reason.includes(this.#lastError)) {
        reason += ` (the connection reported: ${this.#lastError})`
      }
      throw new StoreError(`Redis at ${this.#where} failed to ${what}: ${reason}`,
        { cause: error })
    }
  }
}
