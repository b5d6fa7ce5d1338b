import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SecretClient } from '@azure/keyvault-secrets';
import { POSTGRES_JSON_CONTENT_TYPE } from '../../rotators/postgres/index.js';
import { SecretValue } from '../../secrecy/secret-value.js';
import { startDemoHttpsConsumer, type DemoHttpsConsumer } from '../consumer-apps/https-consumer.js';
import { createCounter, every, type ConsumerCounts, type Counter } from '../scenarios/consumer.js';
import { insertPurchaseOrder, setRolePassword, type ScenarioGround } from '../scenarios/ground.js';

/**
 * The consumers that `npm start` runs for issue #13, and that the demo's
 * revoke scenario rotates under: two PostgreSQL logins rotated by the
 * alternating strategy WITH `rotor-revoke-after` (the superseded role loses
 * its password once the new one is verified), each used by two applications
 * that read it once and keep it, as real ones do:
 *
 * - an App Service site in the ARM stand-in whose Key Vault reference
 *   resolves when the site is created, when Rotor (or anyone) asks ARM to
 *   refresh it, and on App Service's 24-hour refetch (compressed, see
 *   `COMPRESSED_DAY_MS`) — never otherwise; the app connects with the value
 *   of the version its reference resolved;
 * - an https application (`consumer-apps/https-consumer.ts`) that caches the
 *   value, re-reads it only when a signed `Rotor.Secret.VersionPromoted`
 *   nudge arrives, and reports the version it holds on GET.
 *
 * Both insert a row with their login every `REQUEST_INTERVAL_MS` and count
 * every request. `payments-db-credential` names both in `rotor-consumers`;
 * `invoices-db-credential` does not, so Rotor's rotation revokes the login
 * its consumers still hold. Values are random and never shown.
 */

/** App Service refetches Key Vault references every 24 hours; locally a "day" lasts ten minutes. */
export const COMPRESSED_DAY_MS = 10 * 60_000;
const REQUEST_INTERVAL_MS = 400;
const ADMIN_ROLE = 'consumers_rotor_admin';
const ADMIN_SECRET = 'consumers-db-rotor-admin';

export interface RevokeDemoSecret {
  readonly name: string;
  /** Whether `rotor-consumers` names its consumers. */
  readonly declared: boolean;
  /** The two roles it alternates between. */
  readonly roles: readonly [string, string];
  /** The App Service site reading it through a Key Vault reference. */
  readonly site: string;
  /** `rotor-consumers` entries (declared) or what they would be (undeclared). */
  readonly entries: readonly string[];
}

export const REVOKE_DEMO_SECRETS = [
  { name: 'payments-db-credential', declared: true, roles: ['payments_a', 'payments_b'], site: 'payments-web' },
  { name: 'invoices-db-credential', declared: false, roles: ['invoices_a', 'invoices_b'], site: 'invoices-web' },
] as const;

export interface RevokeDemoConsumer {
  readonly kind: 'appservice' | 'https';
  /** Site name or https URL. */
  readonly name: string;
  readonly counts: ConsumerCounts;
  /** The Key Vault version it uses now. */
  readonly version?: string;
}

export interface RevokeDemo {
  readonly secrets: readonly RevokeDemoSecret[];
  /** The https application (one path per consumer). */
  readonly httpsUrl: string;
  consumers(secret: string): readonly RevokeDemoConsumer[];
  stop(): Promise<void>;
}

export interface RevokeDemoContext {
  readonly ground: ScenarioGround;
  /** Writes secrets as their owner would (Key Vault Secrets Officer). */
  readonly admin: SecretClient;
  /** What the applications read with (Key Vault Secrets User). */
  readonly reader: SecretClient;
  /** Rotor's ROTOR_CONSUMER_SIGNING_KEY: the https application checks nudges with it. */
  readonly signingKey: SecretValue;
}

export async function startRevokeDemo(ctx: RevokeDemoContext): Promise<RevokeDemo> {
  const { postgres, standIn } = ctx.ground;
  const stops: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
  };
  try {
    // Rotor's own admin login for these roles (as docs/rotators/postgres-alternating.sql sets one up).
    const roles = REVOKE_DEMO_SECRETS.flatMap((s) => s.roles);
    await postgres.query(
      [
        `CREATE ROLE ${ADMIN_ROLE} LOGIN CREATEROLE`,
        ...roles.map((role) => `CREATE ROLE ${role} LOGIN INHERIT IN ROLE app_rw`),
        `GRANT ${roles.join(', ')} TO ${ADMIN_ROLE} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE`,
      ].join('; '),
    );
    const adminPassword = randomBytes(24).toString('base64url');
    await setRolePassword(postgres, ADMIN_ROLE, adminPassword);
    await ctx.admin.setSecret(ADMIN_SECRET, JSON.stringify({ username: ADMIN_ROLE, password: adminPassword }), { contentType: POSTGRES_JSON_CONTENT_TYPE });

    const use = (value: SecretValue): Promise<void> => insertPurchaseOrder(postgres, value);

    // Rotor probes the latest value here: it works, whoever else still holds the old one.
    const health: Server = createServer((req, res) => {
      const name = /^\/health\/([0-9A-Za-z-]{1,127})$/.exec(req.url ?? '')?.[1];
      if (name === undefined || !REVOKE_DEMO_SECRETS.some((s) => s.name === name)) {
        res.writeHead(404).end();
        return;
      }
      ctx.reader
        .getSecret(name)
        .then((secret) => use(SecretValue.from(secret.value ?? '')))
        .then(
          () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"healthy":true}'),
          () => res.writeHead(503, { 'content-type': 'application/json' }).end('{"healthy":false}'),
        );
    });
    await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve));
    stops.push(
      () =>
        new Promise<void>((resolve) => {
          health.closeAllConnections();
          health.close(() => resolve());
        }),
    );
    const healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/health`;

    const https: DemoHttpsConsumer = await startDemoHttpsConsumer({ client: ctx.reader, signingKey: ctx.signingKey });
    stops.push(() => https.stop());

    const secrets: RevokeDemoSecret[] = [];
    const apps = new Map<string, { site: { counter: Counter; version: () => string | undefined }; https: { url: string; id: string; counter: Counter } }>();
    for (const plan of REVOKE_DEMO_SECRETS) {
      const [first, second] = plan.roles;
      const initial = randomBytes(24).toString('base64url');
      await setRolePassword(postgres, first, initial);
      await setRolePassword(postgres, second, null);
      const written = await ctx.admin.setSecret(plan.name, JSON.stringify({ username: first, password: initial }), {
        contentType: POSTGRES_JSON_CONTENT_TYPE,
        tags: {
          'rotor-rotator': 'postgres',
          'rotor-strategy': 'alternating',
          'rotor-target': `${first},${second}`,
          'rotor-slot': first,
          'rotor-pg-server': postgres.serverUrl,
          'rotor-pg-admin-secret': ADMIN_SECRET,
          // Longer than a request: without declared consumers this is all the overlap Rotor gives.
          'rotor-grace': 'PT4S',
          'rotor-revoke-after': 'PT2S',
          'rotor-health': `${healthUrl}/${plan.name}`,
        },
      });

      // The App Service app: its reference resolves at creation; it uses the version it resolved.
      await standIn.admin.addWebSite({ name: plan.site, references: [{ setting: 'ORDERS_DB', secretName: plan.name }] });
      const siteVersion = (): string | undefined => standIn.admin.webSite(plan.site).references[0]?.activeVersion;
      const values = new Map<string, SecretValue>();
      const siteCounter = createCounter(() => values.size);
      const siteLoop = every(REQUEST_INTERVAL_MS, async () => {
        try {
          const version = siteVersion();
          if (version === undefined) throw Object.assign(new Error('reference not resolved'), { code: 'KeyVaultReferenceNotResolved' });
          let value = values.get(version);
          if (value === undefined) {
            value = SecretValue.from((await ctx.reader.getSecret(plan.name, { version })).value ?? '');
            values.set(version, value);
          }
          await use(value);
          siteCounter.ok();
        } catch (error) {
          siteCounter.failed(error);
        }
      });
      stops.push(() => siteLoop.stop());

      // The https app: reads the secret at start-up and again only when nudged.
      const id = `${plan.site}-worker`;
      const url = await https.addConsumer(id, plan.name, 'adopt');
      const seen = new Set<string>();
      const httpsCounter = createCounter(() => seen.size);
      const httpsLoop = every(REQUEST_INTERVAL_MS, async () => {
        const state = https.consumer(id);
        try {
          if (state.value === undefined) throw Object.assign(new Error('no value read'), { code: 'NotStarted' });
          if (state.version !== undefined) seen.add(state.version);
          await use(state.value);
          httpsCounter.ok();
        } catch (error) {
          httpsCounter.failed(error);
        }
      });
      stops.push(() => httpsLoop.stop());

      const entries = [`appservice:${standIn.webSiteId(plan.site)}`, url];
      if (plan.declared) {
        await ctx.admin.updateSecretProperties(plan.name, written.properties.version ?? '', { tags: { ...written.properties.tags, 'rotor-consumers': entries.join(' ') } });
      }
      secrets.push({ name: plan.name, declared: plan.declared, roles: plan.roles, site: plan.site, entries });
      apps.set(plan.name, { site: { counter: siteCounter, version: siteVersion }, https: { url, id, counter: httpsCounter } });
    }

    return {
      secrets,
      httpsUrl: https.url,
      consumers(secret) {
        const app = apps.get(secret);
        if (app === undefined) return [];
        const plan = secrets.find((s) => s.name === secret);
        const siteVersion = app.site.version();
        const httpsVersion = https.consumer(app.https.id).version;
        return [
          { kind: 'appservice', name: plan?.site ?? secret, counts: app.site.counter.counts(), ...(siteVersion === undefined ? {} : { version: siteVersion }) },
          { kind: 'https', name: app.https.url, counts: app.https.counter.counts(), ...(httpsVersion === undefined ? {} : { version: httpsVersion }) },
        ];
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
