/** Thrown by withDeadline when the work did not settle in time. */
export class DeadlineError extends Error {
  constructor (what: string, ms: number) {
    super(`${what} did not finish within ${ms} ms`)
    this.name = 'DeadlineError'
  }
}

/**
 * Settles with `work`, or rejects with a DeadlineError after `ms`. The work itself is
 * not cancelled: `onTimeout` is where a caller closes what the work holds.
 */
export async function withDeadline<T> (work: Promise<T>, ms: number, what: string,
  onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      onTimeout?.()
      reject(new DeadlineError(what, ms))
    }, ms)
  })

  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}
