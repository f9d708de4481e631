import type { Logger } from 'pino'

/** The exit code of a process stopped by a signal, by shell convention (128 + number). */
export const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 }

/** How long an interrupted pass may take to record its failures and free its locks. */
const SETTLE_GRACE_MS = 2000

export interface Interruptible<T> {
  /** The work's result, or undefined when a signal cut it short past the grace. */
  result: T | undefined
  signal?: NodeJS.Signals
}

/**
 * Runs `work` so that SIGINT or SIGTERM cancels it instead of killing the process: the
 * first signal calls `cancel` (closing the brand pools, which fails every brand at once)
 * and lets the work settle for a short grace, so that its brands write their failure
 * status and free their locks. Dying with locks held would block the webhook's refreshes
 * of those brands for a lock's whole lifetime. A second signal exits at once.
 */
export async function runInterruptible<T> (work: Promise<T>, cancel: () => Promise<void>,
  log: Logger): Promise<Interruptible<T>> {
  let signal: NodeJS.Signals | undefined
  let timer: NodeJS.Timeout | undefined
  let giveUp: () => void = () => {}
  const pastGrace = new Promise<undefined>((resolve) => { giveUp = () => { resolve(undefined) } })

  const onSignal = (received: NodeJS.Signals): void => {
    if (signal !== undefined) process.exit(SIGNAL_EXIT[received] ?? 1)
    signal = received
    log.warn({ signal, grace_ms: SETTLE_GRACE_MS }, 'interrupted: cancelling the refresh')
    timer = setTimeout(giveUp, SETTLE_GRACE_MS)
    void cancel()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  try {
    const result = await Promise.race([work, pastGrace])
    return signal === undefined ? { result } : { result, signal }
  } finally {
    clearTimeout(timer)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
