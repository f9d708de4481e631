import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url))
const TSX = import.meta.resolve('tsx')

export interface CliRun {
  child: ChildProcess
  /** Resolves with the exit code and everything printed, or rejects after `timeoutMs`. */
  done: Promise<{ code: number | null, stdout: string, stderr: string }>
}

/**
 * Starts the CLI from source in an empty folder (so no .env is read) with exactly
 * `env` plus PATH: nothing of the test runner's settings leaks in.
 */
export async function startCli (args: string[], env: Record<string, string>, timeoutMs = 30_000):
Promise<CliRun> {
  const cwd = await mkdtemp(join(tmpdir(), 'mc-cli-'))
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8') })
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })

  const done = new Promise<{ code: number | null, stdout: string, stderr: string }>(
    (resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`metrics-cache ${args.join(' ')} did not exit within ${timeoutMs} ms`))
      }, timeoutMs)
      child.once('exit', (code) => {
        clearTimeout(timer)
        resolve({ code, stdout, stderr })
      })
    })
  return { child, done }
}

/** Polls `url` until it answers, within `timeoutMs`. */
export async function waitForHttp (url: string, timeoutMs = 20_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await fetch(url, { signal: AbortSignal.timeout(2000) })
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}
