import type { Notifier, RotationNotification } from '../../../src/rotation/ports.js';

export interface FakeNotifier extends Notifier {
  readonly sent: RotationNotification[];
}

/** Collects notifications; the Event Grid adapter is tested on its own. */
export function createFakeNotifier(): FakeNotifier {
  const sent: RotationNotification[] = [];
  return {
    sent,
    notify(notification) {
      sent.push(structuredClone(notification));
      return Promise.resolve();
    },
  };
}
