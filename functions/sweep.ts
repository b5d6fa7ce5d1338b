import { app, type InvocationContext, type Timer, type TimerFunctionOptions } from '@azure/functions';
import { warnOfExpiries } from '../src/radar/services.js';
import { runSweep } from '../src/sweep/sweep.js';
import { entryServicesFor } from '../src/app/compose.js';

/** The periodic sweep (schedule `ROTOR_SWEEP_SCHEDULE`): starts due secrets, ends or resumes stuck rotations, sends expiry warnings. */
export async function sweepHandler(timer: Timer, context: InvocationContext): Promise<void> {
  const services = await entryServicesFor(context);
  if (timer.isPastDue) services.log.info('sweep is running late');
  const report = await runSweep(services);
  // One listing per run: the warnings read the vaults as the sweep listed them.
  await warnOfExpiries(context, report.listing);
}

export const sweepOptions: TimerFunctionOptions = {
  schedule: '%ROTOR_SWEEP_SCHEDULE%',
  handler: sweepHandler,
};

app.timer('sweep', sweepOptions);
