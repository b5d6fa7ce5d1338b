import { describe, expect, it } from 'vitest';
import { parseConsumerEntry, parseConsumersTag, mergeConsumers, reportsAdoption, type ConsumerEntry } from '../../../src/consumers/entries.js';
import { ConsumerTag, defaultAdoptionTimeoutMs, readConsumerPolicy } from '../../../src/consumers/policy.js';

const sub = '00000000-0000-0000-0000-00000000a2e0';
const site = `/subscriptions/${sub}/resourceGroups/rg-app/providers/Microsoft.Web/sites/app-orders`;
const containerApp = `/subscriptions/${sub}/resourceGroups/rg-app/providers/Microsoft.App/containerApps/orders-api`;

function entryOf(text: string): ConsumerEntry {
  const reading = parseConsumerEntry(text);
  if ('problem' in reading) throw new Error(reading.problem);
  return reading.entry;
}

describe('parseConsumerEntry', () => {
  it.each([
    [`appservice:${site}`, { kind: 'appservice', site: 'app-orders', resourceGroup: 'rg-app', resourceId: site }],
    [`appservice:${site}/slots/staging`, { kind: 'appservice', site: 'app-orders', slot: 'staging', resourceId: `${site}/slots/staging` }],
    [`AppService:${site.toLowerCase()}`, { kind: 'appservice', site: 'app-orders' }],
    [`containerapp:${containerApp}`, { kind: 'containerapp', app: 'orders-api', resourceId: containerApp }],
    ['https://orders.example.com/rotor/consumer', { kind: 'https', url: 'https://orders.example.com/rotor/consumer' }],
    ['http://127.0.0.1:8080/consumers/a', { kind: 'https', url: 'http://127.0.0.1:8080/consumers/a' }],
    ['http://localhost:8080/c', { kind: 'https', url: 'http://localhost:8080/c' }],
  ])('reads %s', (text, expected) => {
    // Act
    const entry = entryOf(text);

    // Assess
    expect(entry).toMatchObject(expected);
  });

  it.each([
    ['ftp://host/x', /is not a consumer; write appservice:<resource id>, containerapp:<resource id> or an https:\/\/ URL/],
    ['http://orders.example.com/c', /must be https \(plain http is accepted only on localhost or 127\.0\.0\.1/],
    ['https://user:pw@orders.example.com/c', /must not carry a user name or password/],
    ['https://orders.example.com/c?code=abc', /must not carry a query/],
    ['appservice:/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.Web/sites/x', /is not an App Service resource id/],
    [`appservice:${containerApp}`, /is not an App Service resource id/],
    [`containerapp:${site}`, /is not a Container App resource id/],
    ['https://', /is not a URL/],
  ])('refuses %s with a problem that says why', (text, problem) => {
    // Act
    const reading = parseConsumerEntry(text);

    // Assess
    expect('problem' in reading && reading.problem).toMatch(problem);
  });

  it('never quotes a query string in a problem', () => {
    const reading = parseConsumerEntry('https://orders.example.com/c?code=s3cr3t-key');

    expect(JSON.stringify(reading)).not.toContain('s3cr3t-key');
  });
});

describe('parseConsumersTag', () => {
  it('reads space-separated entries and folds duplicates into one consumer', () => {
    // Act
    const reading = parseConsumersTag(`  https://a.example.com/c   appservice:${site}\nhttps://a.example.com/c APPSERVICE:${site.toUpperCase().replace('SUBSCRIPTIONS', 'subscriptions')}`);

    // Assess
    expect('entries' in reading && reading.entries.map((e) => e.kind)).toEqual(['https', 'appservice']);
  });

  it('lists every bad entry at once', () => {
    const reading = parseConsumersTag('nope https://ok.example.com/c http://far.example.com/c');

    expect('problems' in reading && reading.problems).toHaveLength(2);
  });

  it('merges tag and registry entries, each consumer once', () => {
    const merged = mergeConsumers([entryOf('https://a.example.com/c')], [entryOf('https://a.example.com/c'), entryOf(`containerapp:${containerApp}`)]);

    expect(merged.map((e) => e.kind)).toEqual(['https', 'containerapp']);
    expect(merged.map(reportsAdoption)).toEqual([true, false]);
  });
});

describe('readConsumerPolicy', () => {
  it('defaults the adoption timeout to the grace, at least a minute', () => {
    expect(defaultAdoptionTimeoutMs(10 * 60_000)).toBe(10 * 60_000);
    expect(defaultAdoptionTimeoutMs(5_000)).toBe(60_000);
    expect(readConsumerPolicy({}, 3_600_000)).toEqual({ policy: { consumers: [], adoptionTimeoutMs: 3_600_000 } });
  });

  it('reads an explicit adoption timeout and the consumers', () => {
    const reading = readConsumerPolicy({ [ConsumerTag.Consumers]: 'https://a.example.com/c', [ConsumerTag.AdoptionTimeout]: 'PT2M' }, 3_600_000);

    expect('policy' in reading && reading.policy.adoptionTimeoutMs).toBe(120_000);
    expect('policy' in reading && reading.policy.consumers).toHaveLength(1);
  });

  it.each([
    ['soon', /ISO-8601 duration/],
    ['PT1S', /at least 5 seconds/],
    ['P2D', /at most one day/],
  ])('refuses rotor-adoption-timeout %s naming the tag', (value, message) => {
    const reading = readConsumerPolicy({ [ConsumerTag.AdoptionTimeout]: value, [ConsumerTag.Consumers]: 'bad-entry' }, 600_000);

    expect('problems' in reading && reading.problems.map((p) => p.tag)).toEqual([ConsumerTag.Consumers, ConsumerTag.AdoptionTimeout]);
    expect('problems' in reading && reading.problems[1]?.message).toMatch(message);
  });
});
