import type { ScenarioEndpoints } from './index.js';

/** What `npm start` prints about the scenarios: what runs, and the secret to rotate for each. */
export function scenarioBanner(e: ScenarioEndpoints | undefined): string[] {
  if (e === undefined) return [];
  const lines = [
    `  Stand-ins        ARM/Graph/token ${e.azureManagement}   PostgreSQL ${e.postgres}`,
    `                   webhook receiver ${e.webhookReceiver}   business-events topic ${e.businessEventsTopic}`,
  ];
  if (e.secrets.length === 0) return [...lines, '  Scenarios        none seeded (--no-demo); every rotator is composed, tag your own secrets'];
  const width = Math.max(...e.secrets.map((s) => s.name.length));
  return [
    ...lines,
    '  Scenarios        one managed secret per rotator, each with a live consumer using it (counts: npm run demo):',
    ...e.secrets.map((s) => `                   ${s.name.padEnd(width)}  ${s.rotator.padEnd(20)} ${s.scenario}`),
  ];
}
