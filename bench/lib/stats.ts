/** The value below which `p` percent of `values` fall (nearest rank); NaN when empty. */
export function percentile (values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number
}

export function median (values: readonly number[]): number {
  return percentile(values, 50)
}

/** Rounds to `digits` decimals, so that the JSON and the table carry the same figures. */
export function round (value: number, digits = 1): number {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

/** Milliseconds since `started` (a `performance.now()` reading). */
export function since (started: number): number {
  return performance.now() - started
}
