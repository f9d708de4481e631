import { pino, stdTimeFunctions, type DestinationStream, type Logger, type LoggerOptions } from
  'pino'

/** Paths pino blanks out wherever they appear, in case a secret slips into a log object. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["upstash-signature"]',
  'headers.authorization',
  'headers["upstash-signature"]',
  '*.password',
  '*.databaseUrl',
  '*.token',
  '*.signingKeys'
]

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'metrics-cache' },
    // Level names and ISO times read without a lookup table when someone greps a log.
    formatters: { level: (label) => ({ level: label }) },
    timestamp: stdTimeFunctions.isoTime
  }
}

/**
 * The process logger: JSON lines on stderr (stdout stays for command output), or
 * pino-pretty when stderr is a terminal a person reads.
 */
export function createLogger (level: string, destination?: DestinationStream): Logger {
  if (destination !== undefined) return pino(loggerOptions(level), destination)
  if (process.stderr.isTTY === true) {
    return pino({
      ...loggerOptions(level),
      transport: { target: 'pino-pretty', options: { destination: 2, ignore: 'pid,hostname' } }
    })
  }
  return pino(loggerOptions(level), pino.destination({ dest: 2, sync: true }))
}
