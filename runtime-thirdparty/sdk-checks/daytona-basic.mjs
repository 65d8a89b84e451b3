// The official Daytona TypeScript SDK's basic flow against a Daytona endpoint (our local fake in CI):
// create a sandbox, run `echo hi`, write a file, read it back, delete the sandbox. Exits non-zero when any step
// fails or answers something unexpected. Reads DAYTONA_API_KEY and DAYTONA_API_URL like the SDK does.
import { Daytona } from '@daytonaio/sdk';

function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

const daytona = new Daytona({
  apiKey: process.env.DAYTONA_API_KEY,
  apiUrl: process.env.DAYTONA_API_URL,
  target: process.env.DAYTONA_TARGET || 'us',
});
let sandbox;
try {
  sandbox = await daytona.create({ envVars: { SDK_CHECK: 'daytona' }, labels: { 'sdk-check': 'basic' } }, { timeout: 120 });
  console.log(`created ${sandbox.id} (state ${sandbox.state})`);
  check(sandbox.state === 'started', `sandbox is ${sandbox.state}, not started`);

  const echo = await sandbox.process.executeCommand('echo hi');
  console.log(`echo hi -> exit ${echo.exitCode}: ${JSON.stringify(echo.result)}`);
  check(echo.exitCode === 0, `echo hi exited with ${echo.exitCode}`);
  check(echo.result.trim() === 'hi', `echo hi printed ${JSON.stringify(echo.result)}`);

  const content = `written by the Daytona SDK ${Date.now()}\n`;
  await sandbox.fs.uploadFile(Buffer.from(content), '/tmp/sdk-check/hello.txt');
  const back = await sandbox.fs.downloadFile('/tmp/sdk-check/hello.txt');
  console.log(`read back ${back.length} bytes`);
  check(back.toString('utf8') === content, `read back ${JSON.stringify(back.toString('utf8'))}`);

  const env = await sandbox.process.executeCommand('echo $SDK_CHECK');
  check(env.result.trim() === 'daytona', `the sandbox env has SDK_CHECK=${JSON.stringify(env.result)}`);
} finally {
  if (sandbox) {
    await daytona.delete(sandbox);
    console.log(`deleted ${sandbox.id}`);
  }
  await daytona[Symbol.asyncDispose]?.();
}
console.log('daytona-basic: OK');
