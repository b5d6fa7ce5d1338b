/**
 * `npm start`: the whole of Rotor on this machine, until Ctrl+C.
 *
 *   npm start                  emulators, Azurite, the Functions host, demo secrets and consumer app
 *   npm start -- --no-demo     the same without the demo data
 *   npm start -- --json        one JSON line with every endpoint, key and connection string, then quiet
 *   npm start -- --port 7071   port of the Functions host (default 7071, or any free port if taken)
 *   npm start -- --data-dir D  keep everything in D (default .rotor/data) and resume it; --fresh wipes it first
 */
import { DataDirError, openDataDir, type StackDataDir } from './data-dir.js';
import { DemoSecret } from './demo/seed.js';
import { createFileLog, runLogPath } from './file-log.js';
import { loadQuietly } from './load-quietly.js';
import { claimStackFile, stateDir } from './stack-file.js';
import { scenarioBanner } from './scenarios/banner.js';
import type { LocalStack } from './stack.js';
import { parseStartOptions, startUsage, StartUsageError } from './start-options.js';

const { startLocalStack } = await loadQuietly(() => import('./stack.js'));

const { values, dataDir } = readStartOptions();

/** Flags and data directory, or one line saying what is wrong (and the usage), exit 2. */
function readStartOptions(): { values: { json: boolean; 'no-demo': boolean; port: string | undefined }; dataDir: StackDataDir } {
  try {
    const options = parseStartOptions(process.argv.slice(2));
    const dir = openDataDir(options.dataDir, { fresh: options.fresh });
    const port = options.port ?? dir.identity.ports.host;
    return { values: { json: options.json, 'no-demo': !options.demo, port: port === undefined ? undefined : String(port) }, dataDir: dir };
  } catch (error) {
    if (!(error instanceof StartUsageError || error instanceof DataDirError)) throw error;
    console.error(`npm start: ${error.message}`);
    if (error instanceof StartUsageError) console.error(`\n${startUsage}`);
    process.exit(2);
  }
}

const claim = claimStackFile(stateDir());
if (!claim.claimed) {
  const { running } = claim;
  console.error(`Rotor is already running here (pid ${running.pid}${running.api === undefined ? ', starting' : `, API ${running.api.baseUrl}`}), so no second stack was started.`);
  console.error(`Its endpoints are in ${stateDir()}/stack.json; the rotor CLI reads them: npm run rotor -- secrets`);
  console.error(`To start a new one, stop it first (Ctrl+C in its terminal, or kill ${running.pid}).`);
  process.exit(1);
}
const stackFile = claim.file;
process.on('exit', () => stackFile.release());

const logs = createFileLog(runLogPath(stateDir(), 'rotor'), { echoWarnings: !values.json });
const requestedPort = values.port === undefined ? 7071 : Number(values.port);
if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) {
  console.error(`--port must be a port number, not ${values.port}`);
  process.exit(2);
}

/** A resumed data directory already holds the scenario secrets: seed them only once. */
function scenarioMode(): 'compose' | 'seed' {
  return values['no-demo'] || dataDir.resumed ? 'compose' : 'seed';
}

async function start(): Promise<LocalStack> {
  try {
    return await startLocalStack({ log: logs.logger, demo: !values['no-demo'], port: requestedPort, scenarios: scenarioMode(), dataDir });
  } catch (error) {
    if ((error as { code?: string }).code !== 'EADDRINUSE' || values.port !== undefined) throw error;
    return startLocalStack({ log: logs.logger, demo: !values['no-demo'], port: 0, scenarios: scenarioMode(), dataDir });
  }
}

if (!values.json) console.log('Starting Rotor locally (emulators, Azurite, PostgreSQL, the ARM/Graph stand-in, the Functions host)…');
let stack: LocalStack;
try {
  stack = await start();
} catch (error) {
  console.error(`Rotor could not start: ${error instanceof Error ? error.message : String(error)}`);
  console.error(`Details: ${logs.path}`);
  process.exit(1);
}

const e = stack.endpoints();
stackFile.update({
  state: 'running',
  api: { baseUrl: e.api.baseUrl, functionKey: e.api.functionKey },
  keyVault: { url: e.keyVault.url, ...(e.keyVault.caCertPath === undefined ? {} : { caCertPath: e.keyVault.caCertPath }) },
  eventGrid: { url: e.eventGrid.url },
  ...(e.scenarios === undefined ? {} : { scenarios: e.scenarios.secrets.map((x) => ({ name: x.scenario, secret: x.name, rotator: x.rotator })) }),
  logFile: logs.path,
});
if (values.json) {
  console.log(JSON.stringify({ ...e, logFile: logs.path }));
} else {
  const key = e.api.functionKey;
  const secret = e.demo === undefined ? '<secret-name>' : DemoSecret.Manual;
  console.log(
    [
      'Rotor is running locally. Ctrl+C stops everything.',
      '',
      `  Dashboard        ${new URL(e.api.baseUrl).origin}/#key=${key}`,
      `  API              ${e.api.baseUrl}   (function key: ${key})`,
      `  Key Vault        ${e.keyVault.url}   (CA: ${e.keyVault.caCertPath ?? 'none'})`,
      `  Service Bus      ${e.serviceBus.connectionString.replace(/SharedAccessKey=[^;]*/, 'SharedAccessKey=…')}   queue ${e.serviceBus.stepQueue}`,
      `  Event Grid       ${e.eventGrid.url}   notifications topic ${e.eventGrid.topicEndpoint}`,
      `  Ledger           Azurite blob container "${e.ledger.container}" at ${e.ledger.blobEndpoint} (read it through the API)`,
      `  Data             ${dataDir.path}${dataDir.resumed ? ' (resumed: rotations in flight carry on)' : ''}; --fresh starts empty`,
      `  Logs             ${logs.path}`,
      ...(e.demo === undefined
        ? []
        : [
            `  Demo consumer    ${e.demo.consumerUrl}/health/<secret>`,
            `  Demo secrets     ${e.demo.secrets.map((s) => s.name).join(', ')} (${DemoSecret.NearExpiry} expires within 30 days, so it is rotating now)`,
          ]),
      ...scenarioBanner(e.scenarios),
      ...(e.consumers === undefined
        ? []
        : [
            `  Consumers demo   ${e.consumers.secrets.map((s) => `${s.name} (App Service ${s.site} + https app; ${s.declared ? 'declared in rotor-consumers' : 'not declared'})`).join(', ')}`,
            `                   rotate both: the undeclared login's consumers fail after the revoke, the declared one's do not`,
          ]),
      '',
      'Try:',
      `  curl -s -X POST "${e.api.baseUrl}/rotations?code=${key}" -H "content-type: application/json" -d '{"secret":"${secret}","reason":"trying Rotor"}'`,
      `  curl -s "${e.api.baseUrl}/secrets?code=${key}"`,
      `  curl -s "${e.api.baseUrl}/secrets/${secret}/rotations?code=${key}"`,
      '',
      'Or with the rotor CLI (another terminal; it finds this stack in .rotor/stack.json):',
      `  npm run rotor -- rotate ${secret} --wait`,
      ...(e.scenarios?.secrets[1] === undefined ? [] : [`  npm run rotor -- rotate ${e.scenarios.secrets[1].name} --wait   (the business events keep flowing)`]),
      '  npm run rotor -- secrets set my-secret --tag rotor-rotator=random --expires P7D   (a new managed secret in the local vault)',
      '',
      'All endpoints and keys as JSON: npm start -- --json',
      '',
    ].join('\n'),
  );
}

// Notifications, as subscribers of the topic would see them.
let shown = 0;
const follow = setInterval(() => {
  const published = stack.emulators.eventGrid.admin.published({ topic: 'rotor-notifications' });
  for (const record of published.slice(shown)) {
    const event = record.event as { type?: string; subject?: string; data?: { rotationId?: string; reason?: string; threshold?: string; expiresOn?: string } };
    // Expiry warnings (the sweep's) name a threshold and an expiry instead of a rotation.
    const about = event.data?.threshold === undefined ? `rotation ${event.data?.rotationId ?? '?'}` : `expires ${event.data.expiresOn ?? '?'} (${event.data.threshold} warning)`;
    if (!values.json) console.log(`${new Date().toISOString()}  ${event.type ?? '?'}  ${event.subject ?? ''}  ${about}${event.data?.reason === undefined ? '' : `  (${event.data.reason})`}`);
  }
  shown = published.length;
}, 500);

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) process.exit(1);
  stopping = true;
  clearInterval(follow);
  if (!values.json) console.log(`\n${signal}: stopping Rotor…`);
  stack.stop().then(
    () => {
      stackFile.release();
      logs.close();
      process.exit(0);
    },
    (error: unknown) => {
      console.error('Rotor did not stop cleanly:', error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
