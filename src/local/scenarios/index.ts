import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SecretClient } from '@azure/keyvault-secrets';
import type { Logger } from '../../observability/logger.js';
import type { Rotator } from '../../rotation/rotator.js';
import { startScenarioGround, type ScenarioGround, type ScenarioGroundOptions } from './ground.js';
import { seedScenarios, type RunningScenario } from './scenarios.js';

export { SCENARIO_GRACE, SCENARIO_TTL_MS, type RunningScenario, type ScenarioReport, type ScenarioSecret } from './scenarios.js';

/**
 * The local stack's scenarios in two phases, because the rotators must be
 * composed before the Functions host starts and the secrets seeded after:
 * `startScenarioServices` brings up the stand-ins and returns the six rotators
 * beyond `random`; `seed` writes one managed secret per rotator and starts
 * each scenario's consumer, plus the health endpoint Rotor probes.
 */
export interface ScenarioServices {
  readonly ground: ScenarioGround;
  readonly rotators: readonly Rotator[];
  seed(clients: { readonly admin: SecretClient; readonly reader: SecretClient }): Promise<readonly RunningScenario[]>;
  readonly scenarios: () => readonly RunningScenario[];
  /** Where the stand-ins listen, for the banner and `--json`. */
  endpoints(): ScenarioEndpoints;
  stop(): Promise<void>;
}

export interface ScenarioEndpoints {
  readonly azureManagement: string;
  readonly postgres: string;
  readonly webhookReceiver: string;
  readonly businessEventsTopic: string;
  readonly consumerHealth?: string;
  readonly secrets: readonly { readonly scenario: string; readonly name: string; readonly rotator: string }[];
}

export async function startScenarioServices(options: { readonly log: Logger; readonly consumerSites?: ScenarioGroundOptions['consumerSites'] }): Promise<ScenarioServices> {
  const signingKey = randomBytes(48).toString('base64');
  const ground = await startScenarioGround({ log: options.log, webhookSigningKey: signingKey, ...(options.consumerSites === undefined ? {} : { consumerSites: options.consumerSites }) });
  let running: RunningScenario[] = [];
  let health: Server | undefined;
  let healthUrl: string | undefined;

  const startHealth = async (): Promise<string> => {
    health = createServer((req, res) => {
      const name = /^\/health\/([0-9A-Za-z-]{1,127})$/.exec(req.url ?? '')?.[1];
      const scenario = running.find((s) => s.secrets.some((secret) => secret.name === name));
      if (name === undefined || scenario === undefined) {
        res.writeHead(404).end();
        return;
      }
      scenario.health(name).then(
        (problem) => {
          res.writeHead(problem === undefined ? 200 : 503, { 'content-type': 'application/json' });
          res.end(JSON.stringify(problem === undefined ? { healthy: true } : { healthy: false, reason: problem }));
        },
        () => res.writeHead(503).end(),
      );
    });
    await new Promise<void>((resolve) => health!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(health.address() as AddressInfo).port}`;
  };

  return {
    ground,
    rotators: ground.rotators,
    async seed(clients) {
      healthUrl = await startHealth();
      const base = healthUrl;
      running = await seedScenarios({ ground, admin: clients.admin, reader: clients.reader, healthUrl: (secret) => `${base}/health/${secret}` }, signingKey);
      return running;
    },
    scenarios: () => running,
    endpoints: () => ({
      azureManagement: ground.standIn.url,
      postgres: ground.postgres.serverUrl,
      webhookReceiver: ground.webhook.url,
      businessEventsTopic: ground.businessTopicEndpoint,
      ...(healthUrl === undefined ? {} : { consumerHealth: `${healthUrl}/health/<secret>` }),
      secrets: running.flatMap((s) => s.secrets.map((secret) => ({ scenario: s.name, ...secret }))),
    }),
    async stop() {
      await Promise.allSettled(running.map((s) => s.stop()));
      if (health !== undefined) {
        health.closeAllConnections();
        await new Promise<void>((resolve) => health!.close(() => resolve()));
      }
      await ground.stop();
    },
  };
}
