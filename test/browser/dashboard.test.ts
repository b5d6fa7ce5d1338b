/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { SecretClient } from '@azure/keyvault-secrets';
import type { Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulatorSecretClient } from '../../emulators/keyvault/index.js';
import { DemoSecret } from '../../src/local/demo/seed.js';
import { startLocalStack, type LocalStack } from '../../src/local/stack.js';
import { createLogger, createMemorySink } from '../../src/observability/logger.js';
import { expectNoSecretIn } from '../helpers/leaks.js';
import { launchChromium, type Chromium } from './chromium.js';

// The dashboard in a real Chromium against the whole local stack (`npm start`
// with its demo data): the page a user opens at the host's `/`.

const DAY = 86_400_000;
/** A secret whose rotation waits 5 s for consumers (its grace), so the page sees it running. */
const SLOW = 'browser-slow-grace';
const screenshots = process.env.ROTOR_SCREENSHOT_DIR === undefined ? mkdtempSync(join(tmpdir(), 'rotor-screens-')) : resolve(process.env.ROTOR_SCREENSHOT_DIR);
mkdirSync(screenshots, { recursive: true });

let stack: LocalStack;
let client: SecretClient;
let chromium: Chromium;
let page: Page;
const dataAnswers: string[] = [];

async function api(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${stack.host.apiUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { 'x-functions-key': stack.host.functionKey, 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function rotate(secret: string): Promise<string> {
  const started = await api('/rotations', { method: 'POST', body: { secret, reason: 'browser test' } });
  expect(started.status).toBe(202);
  return started.body.rotationId as string;
}

/** Every value of every version in the vault, read as an application would. */
async function vaultValues(): Promise<string[]> {
  const values: string[] = [];
  for await (const secret of client.listPropertiesOfSecrets()) {
    for await (const version of client.listPropertiesOfSecretVersions(secret.name)) {
      if (version.enabled === false) continue;
      const read = await client.getSecret(secret.name, { version: version.version ?? '' }).catch(() => undefined);
      if (read?.value !== undefined && read.value.length >= 8) values.push(read.value);
    }
  }
  return values;
}

beforeAll(async () => {
  stack = await startLocalStack({ log: createLogger(createMemorySink(), { level: 'warn' }), demo: true, timers: 'manual', eventGridRetryTimeScale: 0.001, keyVaultThrottle: false });
  client = createEmulatorSecretClient(stack.emulators.keyVault);
  await client.setSecret(SLOW, 'browser-initial-value-0123456789', {
    expiresOn: new Date(Date.now() + 45 * DAY),
    tags: { 'rotor-rotator': 'random', 'rotor-validity': 'P90D', 'rotor-grace': 'PT5S' },
  });
  await client.setSecret('browser-expired-note', 'browser-unmanaged-value-9876543210', { expiresOn: new Date(Date.now() - 3 * DAY) });
  chromium = await launchChromium();
  page = await chromium.context.newPage();
  page.on('response', (response: Response) => {
    if (response.url().includes('/dashboard-data/')) void response.text().then((t) => dataAnswers.push(t), () => undefined);
  });
});

afterAll(async () => {
  await chromium?.close();
  await stack?.stop();
});

describe('dashboard in Chromium', () => {
  it('opens at the host root with the key from the banner link, forgets the key from the address bar, and shows the seeded secrets', async () => {
    // Act: the link `npm start` prints.
    await page.goto(`${stack.host.url}/#key=${stack.host.functionKey}&poll=700`);
    const table = page.locator('#secrets-table');
    await table.getByText(DemoSecret.Manual, { exact: true }).waitFor();

    // Assess
    expect(page.url()).toBe(`${stack.host.url}/api/dashboard#poll=700`);
    expect(page.url()).not.toContain(stack.host.functionKey);
    for (const name of Object.values(DemoSecret)) await expect(table.locator(`tr[data-secret="${name}"]`).count()).resolves.toBe(1);
    await expect(table.locator(`tr[data-secret="${DemoSecret.Unmanaged}"]`).innerText()).resolves.toContain('not managed');
    await expect(table.locator(`tr[data-secret="${DemoSecret.Manual}"]`).innerText()).resolves.toContain('random');
    // The timeline: 90 days, managed and unmanaged told apart in words, the expired one in red.
    const timeline = page.locator('#timeline-rows');
    await expect(timeline.locator('li.row.managed').getByText(DemoSecret.NearExpiry).count()).resolves.toBe(1);
    const expired = timeline.locator('li.row.overdue');
    await expect(expired.innerText()).resolves.toContain('browser-expired-note');
    await expect(expired.locator('.track').getAttribute('aria-label')).resolves.toMatch(/not managed, expired 3 d ago/);
    // Red, read in the page itself: the page redraws while a rotation runs, so a handle may be stale.
    await page.waitForFunction(() => {
      const bar = document.querySelector('#timeline-rows li.row.overdue .bar');
      return bar !== null && getComputedStyle(bar).backgroundColor === 'rgb(176, 0, 32)';
    });
    // A keyboard user's focus survives the page's refreshes.
    await timeline.locator('li.row.managed button').first().focus();
    const focused = await page.evaluate(() => document.activeElement?.getAttribute('aria-label'));
    await page.waitForTimeout(2_000);
    await expect(page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).resolves.toBe(focused);
    await expect(timeline.locator('li.row.managed .due').count()).resolves.toBeGreaterThan(0);
    await page.screenshot({ path: join(screenshots, 'dashboard-overview.png'), fullPage: true });
  });

  it('shows a rotation started elsewhere running, with what it waits for, then completed, without a reload', async () => {
    // Prepare
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));

    // Act
    const rotationId = await rotate(SLOW);

    // Assess: live, then done, on the same page.
    const live = page.locator(`#live-table tr[data-rotation="${rotationId}"]`);
    await live.waitFor({ timeout: 30_000 });
    await expect(live.innerText()).resolves.toMatch(/Running/);
    await live.getByText(/grace period|step queue|scheduled/).waitFor();
    await page.screenshot({ path: join(screenshots, 'dashboard-live.png'), fullPage: false });
    await page.locator(`#secrets-table tr[data-secret="${SLOW}"] td.last`).getByText(/^Completed/).waitFor({ timeout: 60_000 });
    await live.waitFor({ state: 'detached' });
    expect(navigations).toEqual([]);
  });

  it('opens a secret’s rotation timeline from the keyboard: each step a bar with its outcome', async () => {
    // Act: Tab to the secret's button and press Enter.
    const button = page.locator(`#secrets-table tr[data-secret="${SLOW}"] button`);
    await button.focus();
    await page.keyboard.press('Enter');

    // Assess
    const section = page.locator('#rotations');
    await section.locator('article[data-status="Completed"]').first().waitFor();
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('rotations');
    await expect(section.locator('h2').innerText()).resolves.toBe(`Rotations of ${SLOW}`);
    const steps = await section.locator('article').first().locator('.gantt .step .step-name').allInnerTexts();
    expect(steps).toEqual(expect.arrayContaining(['begin', 'promote', 'verify', 'retire'])); // random: no prepare step
    await expect(section.locator('article').first().locator('.gantt .step.ok').count()).resolves.toBe(steps.length);
    await section.screenshot({ path: join(screenshots, 'dashboard-rotation.png') });
  });

  it('puts a rotation that rolled back under "Needs a human", with its reason', async () => {
    const rotationId = await rotate(DemoSecret.RejectsNewValue);

    const card = page.locator('#human-list li.card').filter({ hasText: DemoSecret.RejectsNewValue });
    await card.waitFor({ timeout: 90_000 });

    await expect(card.innerText()).resolves.toMatch(/RolledBack[\s\S]*rolled back: [\s\S]*Rotation /);
    await expect(card.innerText()).resolves.toContain(rotationId);
    await page.locator('#human').screenshot({ path: join(screenshots, 'dashboard-needs-human.png') });
  });

  it('never puts a secret value in the page or in what the page reads', async () => {
    // Prepare: every value of every version the vault holds now, read as an application would.
    // (Versions retired by a rotation are disabled and cannot be read; the values this test wrote are added.)
    const values = [...(await vaultValues()), 'browser-initial-value-0123456789', 'browser-unmanaged-value-9876543210'];
    expect(values.length).toBeGreaterThan(7);

    // Act
    const html = await page.content();
    const text = await page.evaluate(() => document.body.innerText);
    const attributes = await page.evaluate(() => [...document.querySelectorAll('*')].flatMap((n) => [...n.attributes].map((a) => a.value)).join('\n'));

    // Assess
    expectNoSecretIn([html, text, attributes, ...dataAnswers], values);
    expect(dataAnswers.length).toBeGreaterThan(3);
  });

  it('labels every control and keeps the key out of the page once it is refused', async () => {
    // A refused key: the labelled form comes back.
    await page.evaluate(() => sessionStorage.setItem('rotor-dashboard-key', 'not-the-key'));
    await page.reload();
    const input = page.getByLabel('Function key');
    await input.waitFor();
    await expect(page.locator('#status').innerText()).resolves.toContain('refused');

    // Typing the key in brings the dashboard back.
    await input.fill(stack.host.functionKey);
    await page.getByRole('button', { name: 'Show the dashboard' }).click();
    await page.locator('#secrets-table').getByText(DemoSecret.Manual, { exact: true }).waitFor();
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input, button, select, textarea')].filter((n) => (n as HTMLElement).offsetParent !== null && (n.getAttribute('aria-label') ?? (n as HTMLInputElement).labels?.[0]?.textContent ?? n.textContent ?? '').trim() === '').length,
    );
    expect(unlabelled).toBe(0);
    await expect(page.content()).resolves.not.toContain(stack.host.functionKey);
    for (const file of ['dashboard-overview.png', 'dashboard-live.png', 'dashboard-rotation.png', 'dashboard-needs-human.png']) {
      expect(statSync(join(screenshots, file)).size).toBeGreaterThan(1000);
    }
  });
});
