// The official @runloop/api-client's basic flow against whatever RUNLOOP_BASE_URL points at (the local Runloop fake in
// RunloopSdkIT): create a devbox and await it running, run `echo hi`, write a file, read it back, upload and download
// bytes, shut the devbox down. Exits non-zero (with the SDK's error) when any step fails or answers wrongly.
import Runloop from '@runloop/api-client';

function check(condition, what) {
  if (!condition) {
    throw new Error('check failed: ' + what);
  }
}

const client = new Runloop({
  bearerToken: process.env.RUNLOOP_API_KEY,
  baseURL: process.env.RUNLOOP_BASE_URL,
  maxRetries: 5,
});

const steps = [];
let devbox;
try {
  devbox = await client.devboxes.createAndAwaitRunning({ name: 'sdk-check', metadata: { check: 'runloop-basic' } });
  check(devbox.status === 'running', 'devbox is running, was ' + devbox.status);
  steps.push('create ' + devbox.id);

  const echo = await client.devboxes.executeAndAwaitCompletion(devbox.id, { command: 'echo hi' });
  check(echo.status === 'completed', 'echo completed, was ' + echo.status);
  check(echo.exit_status === 0, 'echo exit status 0, was ' + echo.exit_status);
  check(echo.stdout === 'hi\n', 'echo printed hi, was ' + JSON.stringify(echo.stdout));
  steps.push('exec echo hi');

  await client.devboxes.writeFileContents(devbox.id, { file_path: 'sdk-check.txt', contents: 'written by the SDK\n' });
  const read = await client.devboxes.readFileContents(devbox.id, { file_path: 'sdk-check.txt' });
  check(read === 'written by the SDK\n', 'read back the file, got ' + JSON.stringify(read));
  steps.push('write + read file');

  const bytes = new Uint8Array([0, 1, 2, 250, 251, 255]);
  await client.devboxes.uploadFile(devbox.id, {
    path: '/tmp/sdk-check.bin',
    file: new File([bytes], 'sdk-check.bin'),
  });
  const downloaded = new Uint8Array(await (await client.devboxes.downloadFile(devbox.id, { path: '/tmp/sdk-check.bin' })).arrayBuffer());
  check(downloaded.length === bytes.length && downloaded.every((b, i) => b === bytes[i]),
    'downloaded the uploaded bytes, got ' + Array.from(downloaded));
  steps.push('upload + download');

  const list = await client.devboxes.list({ limit: 10 });
  check(list.devboxes.some((d) => d.id === devbox.id), 'list shows the devbox');
  steps.push('list');

  const ended = await client.devboxes.shutdown(devbox.id);
  check(ended.status === 'shutdown', 'shut down, was ' + ended.status);
  steps.push('shutdown');
  console.log(JSON.stringify({ ok: true, steps }));
} catch (e) {
  console.error(JSON.stringify({ ok: false, steps, error: String(e && e.stack || e), status: e && e.status }));
  process.exit(1);
}
