/**
 * `npm run emulators`: starts every emulator and prints one JSON line with
 * their endpoints and credentials, then runs until interrupted.
 *
 *   --data-dir <dir>   persist Key Vault secrets there (survives restarts)
 *   --no-throttle      turn off Key Vault's request limits (on by default, as in Azure)
 *   --kv-deletion-delay <ms>
 *                      how long a Key Vault delete or recover stays in progress
 *                      (default 2000: Azure takes seconds; 0 = at once)
 */
import { parseArgs } from 'node:util';
import { startEmulatorStack } from './stack.js';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    'no-throttle': { type: 'boolean', default: false },
    'kv-deletion-delay': { type: 'string' },
  },
});

const deletionDelay = values['kv-deletion-delay'] === undefined ? undefined : Number(values['kv-deletion-delay']);
if (deletionDelay !== undefined && !(Number.isInteger(deletionDelay) && deletionDelay >= 0)) {
  console.error(`--kv-deletion-delay wants whole milliseconds (0 or more), not ${values['kv-deletion-delay']}`);
  process.exit(2);
}

const stack = await startEmulatorStack({
  keyVault: {
    ...(values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] }),
    ...(values['no-throttle'] ? { throttle: false } : {}),
    ...(deletionDelay === undefined ? {} : { deletionDelayMs: deletionDelay }),
  },
});
console.log(JSON.stringify(stack.endpoints()));

let stopping = false;
const shutdown = (): void => {
  if (stopping) return;
  stopping = true;
  stack.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('emulators did not stop cleanly:', error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
