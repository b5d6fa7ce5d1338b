/**
 * Run in a fresh process by the stop() test: starts the emulator with the
 * real-time retry schedule, lets one delivery fail (its retry is then 10 s
 * away), stops everything and prints which timers were alive before and after.
 */
import { startEventGridEmulator } from '../../../../emulators/eventgrid/index.js';
import nearExpiry from '../../../fixtures/eventgrid-emulator/keyvault-secret-near-expiry.json' with { type: 'json' };
import { startWebhookReceiver, validatingResponder } from '../webhook-receiver.js';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

const eventGrid = await startEventGridEmulator();
const webhook = await startWebhookReceiver(validatingResponder(500));
await eventGrid.admin.createSubscription({ name: 'stop-test', endpointUrl: webhook.url });
eventGrid.publish([nearExpiry as never]);
await eventGrid.admin.waitFor(() => eventGrid.admin.getSubscription('stop-test')?.counters.failedAttempts || undefined, 'the first failure');
const timersWhileRetryPending = timers();
const pendingDeliveries = eventGrid.admin.getSubscription('stop-test')?.pendingDeliveries;
await eventGrid.stop();
await webhook.close();
console.log(JSON.stringify({ timersWhileRetryPending, pendingDeliveries, timersAfterStop: timers(), notifications: webhook.notifications().length }));
