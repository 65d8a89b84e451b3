// The official E2B SDK's basic flow against a local E2B (E2B_API_URL, E2B_SANDBOX_URL, E2B_API_KEY point at it).
// Prints one JSON line with what it saw; exits non-zero when the SDK fails or answers something unexpected.
import { Sandbox, CommandExitError } from 'e2b'

function check(condition, what) {
  if (!condition) {
    throw new Error(`check failed: ${what}`)
  }
}

const seen = {}
const sbx = await Sandbox.create({ timeoutMs: 120_000, metadata: { 'sdk-check': process.env.SDK_CHECK_ID } })
seen.sandboxId = sbx.sandboxId
try {
  const hi = await sbx.commands.run('echo hi')
  check(hi.exitCode === 0, `echo hi exit code ${hi.exitCode}`)
  check(hi.stdout === 'hi\n', `echo hi stdout ${JSON.stringify(hi.stdout)}`)
  seen.stdout = hi.stdout

  const failed = await sbx.commands.run('echo bad >&2; exit 3').catch((e) => e)
  check(failed instanceof CommandExitError, `a failing command throws CommandExitError, got ${failed}`)
  check(failed.exitCode === 3, `exit code 3, got ${failed.exitCode}`)
  check(failed.stderr === 'bad\n', `stderr ${JSON.stringify(failed.stderr)}`)
  seen.failedExitCode = failed.exitCode

  await sbx.files.write('/home/user/hello.txt', 'hello from the sdk')
  const text = await sbx.files.read('/home/user/hello.txt')
  check(text === 'hello from the sdk', `read back ${JSON.stringify(text)}`)
  seen.read = text
  const viaShell = await sbx.commands.run('cat /home/user/hello.txt; echo; stat -c %U /home/user/hello.txt')
  check(viaShell.stdout === 'hello from the sdk\nuser\n', `the file in the sandbox ${JSON.stringify(viaShell.stdout)}`)

  const listed = await Sandbox.list({ query: { metadata: { 'sdk-check': process.env.SDK_CHECK_ID } } }).nextItems()
  check(listed.length === 1 && listed[0].sandboxId === sbx.sandboxId, `listed by metadata: ${JSON.stringify(listed)}`)
  seen.listed = listed.map((s) => s.sandboxId)
} finally {
  seen.killed = await sbx.kill()
}
check(seen.killed === true, 'kill returned true')
check((await Sandbox.kill(sbx.sandboxId)) === false, 'a second kill finds nothing')
console.log(JSON.stringify(seen))
