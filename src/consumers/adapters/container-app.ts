import { z } from 'zod';
import type { ArmClient } from '../../azure-management/arm-client.js';
import type { ConsumerAdapter } from '../adapter.js';
import type { ConsumerEntry } from '../entries.js';
import { ConsumerError, ConsumerErrorCode } from '../errors.js';
import { translateManagementError } from './app-service.js';

/**
 * Container Apps read Key Vault secrets on their own schedule; restarting the
 * active revision(s) makes them read again. Needs, on the app:
 * `Microsoft.App/containerApps/revisions/read` and
 * `Microsoft.App/containerApps/revisions/restart/action`.
 * A Container App cannot say which version it read: adoption rests on the
 * grace period and the health probes.
 */
export const CONTAINER_APPS_API_VERSION = '2024-03-01';

const revisionsSchema = z.object({
  value: z.array(z.object({ name: z.string().min(1), properties: z.object({ active: z.boolean().optional() }).optional() })),
});

type ContainerAppEntry = Extract<ConsumerEntry, { kind: 'containerapp' }>;

export function createContainerAppConsumer(arm: ArmClient): ConsumerAdapter<ContainerAppEntry> {
  return {
    async nudge(entry, context) {
      const name = `containerapp ${entry.app}`;
      let body: unknown;
      try {
        body = await arm.getResource(`${entry.resourceId}/revisions`, CONTAINER_APPS_API_VERSION, context.signal);
      } catch (error) {
        throw translateManagementError(error, name, 'listing the revisions');
      }
      const revisions = revisionsSchema.safeParse(body);
      if (!revisions.success) throw new ConsumerError(ConsumerErrorCode.Rejected, `${name}: the revision list is not the documented shape`);
      const active = revisions.data.value.filter((r) => r.properties?.active === true).map((r) => r.name);
      if (active.length === 0) throw new ConsumerError(ConsumerErrorCode.Rejected, `${name}: no active revision to restart`);
      for (const revision of active) {
        try {
          await arm.postAction(`${entry.resourceId}/revisions/${encodeURIComponent(revision)}`, 'restart', CONTAINER_APPS_API_VERSION, undefined, context.signal);
        } catch (error) {
          throw translateManagementError(error, name, `restarting revision ${revision}`);
        }
      }
      return { detail: `restarted revision${active.length === 1 ? '' : 's'} ${active.join(', ')}` };
    },

    readAdoption() {
      return Promise.resolve({ state: 'unreported', detail: 'a Container App does not report the version it read: the grace period and health probes stand in' });
    },
  };
}
