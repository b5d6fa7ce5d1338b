import type { EventGridFunctionOptions, HttpFunctionOptions, ServiceBusQueueFunctionOptions, TimerFunctionOptions } from '@azure/functions';

/**
 * A function as `app.*` registers it: its name, trigger kind and the very
 * options object exported next to the `app.*` call. Outside the Functions
 * runtime `app.*` drops the registration, so the local host is handed these.
 */
export type FunctionRegistration =
  | { readonly name: string; readonly trigger: 'http'; readonly options: HttpFunctionOptions }
  | { readonly name: string; readonly trigger: 'eventGrid'; readonly options: EventGridFunctionOptions }
  | { readonly name: string; readonly trigger: 'serviceBusQueue'; readonly options: ServiceBusQueueFunctionOptions }
  | { readonly name: string; readonly trigger: 'timer'; readonly options: TimerFunctionOptions };

/** `%NAME%` binding expressions resolved from app settings, as the runtime does. */
export function resolveAppSetting(text: string, env: Readonly<Record<string, string | undefined>>): string {
  return text.replace(/%([^%]+)%/g, (_match, name: string) => {
    const value = env[name];
    if (value === undefined || value === '') throw new Error(`App setting ${name} (used as %${name}%) is not set`);
    return value;
  });
}
