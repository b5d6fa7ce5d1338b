/**
 * Outside the Functions runtime every `app.*` call in `functions/` prints a
 * warning that the registration was skipped: true, and expected here, since
 * the local host registers the exported options itself. Loading a module
 * through this keeps those lines (and only those) off the console of
 * `npm start` and `npm run demo`.
 */
export async function loadQuietly<T>(load: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('"@azure/functions" package')) return;
    warn(...args);
  };
  try {
    return await load();
  } finally {
    console.warn = warn;
  }
}
