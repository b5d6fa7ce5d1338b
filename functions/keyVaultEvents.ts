import { app, type EventGridFunctionOptions, type InvocationContext } from '@azure/functions';
import { receiveKeyVaultEvent } from '../src/events/intake.js';
import { entryServicesFor } from '../src/app/compose.js';

/**
 * Key Vault events (Event Grid schema or CloudEvents, one per invocation: the
 * runtime splits batches and answers the validation handshake). A malformed or
 * irrelevant event returns normally so Event Grid does not retry it; a throw
 * (ledger or queue unreachable) makes the runtime answer 500 and Event Grid
 * deliver again.
 */
export async function keyVaultEventsHandler(event: unknown, context: InvocationContext): Promise<void> {
  await receiveKeyVaultEvent(event, await entryServicesFor(context));
}

export const keyVaultEventsOptions: EventGridFunctionOptions = { handler: keyVaultEventsHandler };

app.eventGrid('keyVaultEvents', keyVaultEventsOptions);
