import { describe, expect, it } from 'vitest';
import { parseEventGridTopicId, parseStorageAccountId } from '../../../src/azure-management/resource-id.js';

const sub = '/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg-app';

describe('ARM resource ids from rotor-target', () => {
  it.each([
    { input: `${sub}/providers/Microsoft.Storage/storageAccounts/stcontoso`, name: 'stcontoso' },
    { input: `${sub}/providers/microsoft.storage/storageaccounts/stcontoso/`, name: 'stcontoso' },
    { input: `  ${sub}/providers/Microsoft.Storage/storageAccounts/st01  `, name: 'st01' },
  ])('accepts a storage account id: $input', ({ input, name }) => {
    const id = parseStorageAccountId(input);

    expect(id?.name).toBe(name);
    expect(id?.id).toBe(`${sub}/providers/Microsoft.Storage/storageAccounts/${name}`);
  });

  it.each([
    `${sub}/providers/Microsoft.Storage/storageAccounts/StContoso`,
    `${sub}/providers/Microsoft.Storage/storageAccounts/st`,
    `${sub}/providers/Microsoft.EventGrid/topics/stcontoso`,
    '/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stcontoso',
    'stcontoso',
    `${sub}/providers/Microsoft.Storage/storageAccounts/stcontoso/blobServices/default`,
  ])('refuses %s as a storage account', (input) => {
    expect(parseStorageAccountId(input)).toBeUndefined();
  });

  it.each([
    { input: `${sub}/providers/Microsoft.EventGrid/topics/erp-events`, type: 'topics' },
    { input: `${sub}/providers/Microsoft.EventGrid/Domains/orders`, type: 'domains' },
  ])('accepts an Event Grid $type id', ({ input, type }) => {
    expect(parseEventGridTopicId(input)?.type).toBe(type);
  });

  it.each([`${sub}/providers/Microsoft.EventGrid/systemTopics/kv-events`, `${sub}/providers/Microsoft.EventGrid/topics/x`])('refuses %s as a topic', (input) => {
    expect(parseEventGridTopicId(input)).toBeUndefined();
  });
});
