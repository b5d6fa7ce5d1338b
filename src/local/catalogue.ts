import { cancelRotationOptions } from '../../functions/cancelRotation.js';
import { getBatchOptions } from '../../functions/getBatch.js';
import { dashboardOptions } from '../../functions/dashboard.js';
import { dashboardOverviewOptions } from '../../functions/dashboardOverview.js';
import { dashboardRotationsOptions } from '../../functions/dashboardRotations.js';
import { expiringOptions } from '../../functions/expiring.js';
import { getRotationOptions } from '../../functions/getRotation.js';
import { keyVaultEventsOptions } from '../../functions/keyVaultEvents.js';
import { listSecretRotationsOptions } from '../../functions/listSecretRotations.js';
import { listSecretsOptions } from '../../functions/listSecrets.js';
import { rotationDeadLettersOptions } from '../../functions/rotationDeadLetters.js';
import { secretConsumersOptions } from '../../functions/secretConsumers.js';
import { rotationStepsOptions } from '../../functions/rotationSteps.js';
import { startBatchOptions } from '../../functions/startBatch.js';
import { startRotationOptions } from '../../functions/startRotation.js';
import { sweepOptions } from '../../functions/sweep.js';
import type { FunctionRegistration } from './registrations.js';

/**
 * Rotor's functions as `functions/` registers them in Azure, names and
 * options included, for the local host. A function added to `functions/`
 * must be added here too (the catalogue test compares the two).
 */
export const rotorFunctions: readonly FunctionRegistration[] = [
  { name: 'keyVaultEvents', trigger: 'eventGrid', options: keyVaultEventsOptions },
  { name: 'startRotation', trigger: 'http', options: startRotationOptions },
  { name: 'getRotation', trigger: 'http', options: getRotationOptions },
  { name: 'listSecretRotations', trigger: 'http', options: listSecretRotationsOptions },
  { name: 'listSecrets', trigger: 'http', options: listSecretsOptions },
  { name: 'startBatch', trigger: 'http', options: startBatchOptions },
  { name: 'getBatch', trigger: 'http', options: getBatchOptions },
  { name: 'cancelRotation', trigger: 'http', options: cancelRotationOptions },
  { name: 'expiring', trigger: 'http', options: expiringOptions },
  { name: 'dashboard', trigger: 'http', options: dashboardOptions },
  { name: 'dashboardOverview', trigger: 'http', options: dashboardOverviewOptions },
  { name: 'dashboardRotations', trigger: 'http', options: dashboardRotationsOptions },
  { name: 'secretConsumers', trigger: 'http', options: secretConsumersOptions },
  { name: 'sweep', trigger: 'timer', options: sweepOptions },
  { name: 'rotationSteps', trigger: 'serviceBusQueue', options: rotationStepsOptions },
  { name: 'rotationDeadLetters', trigger: 'serviceBusQueue', options: rotationDeadLettersOptions },
];
