import type { CommandName } from './args.js';

/** Help text. Exit codes live here and in docs/cli.md; keep the two in step. */

const GLOBALS = `Global flags:
  --url URL      API base URL, e.g. https://func-rotor.azurewebsites.net/api
                 (env ROTOR_API_URL; default http://127.0.0.1:7071/api, the local host)
  --key KEY      function key, sent as the x-functions-key header (env ROTOR_API_KEY;
                 prefer the env var: flags show up in the process list)
  --json         print the API's JSON as-is (errors: the problem+json body)
  --no-color     no ANSI colours (also when NO_COLOR is set or output is not a terminal)
  -h, --help     help for rotor or for one command`;

const EXIT_CODES = `Exit codes:
  0  success (with --wait/--watch: the rotation Completed)
  1  the API answered an error, could not be reached, or answered something unreadable
  2  usage error: unknown command or flag, missing or bad value
  3  with --wait/--watch: the rotation ended RolledBack, Failed, Aborted or Skipped
  4  with --wait/--watch: the timeout passed while the rotation was still running
  5  with --dry-run: the answer is "would not rotate"`;

const COMMANDS: Record<CommandName, string> = {
  rotate: `rotor rotate <secret> [--vault URL] [--reason TEXT] [--dry-run] [--wait [--timeout DURATION]] [--force]
  Start a rotation of <secret> now. With several vaults configured, --vault is required.
  --reason TEXT       why, kept in the rotation record and audit trail (max 500 characters)
  --dry-run           run the pre-flight checks only and report what would happen
  --wait              follow the rotation until it ends; exit 0 only if it Completed
  --timeout DURATION  how long --wait follows it: 90s, 10m, 1h, PT10M (default 15m)
  --force             rotate a paused secret (rotor-paused=true) all the same

rotor rotate --all | --tag KEY=VALUE... --reason TEXT [--vault URL] [--dry-run] [--force] [--timeout DURATION]
  Incident batch: rotate every managed secret of the vault now (or those carrying every
  --tag given), paced under Key Vault's throttle, with a progress bar until all have ended.
  Unmanaged, invalid, disabled and paused secrets are listed as skipped, with the reason.
  --reason TEXT       required: why (kept in every rotation record and the audit trail)
  --dry-run           list what would rotate and what would be skipped; start nothing
  --force             rotate paused secrets (rotor-paused=true) too
  --timeout DURATION  how long to follow the batch (default 60m); it goes on without the CLI`,
  status: `rotor status <rotation-id | batch-id> [--watch [--timeout DURATION]]
  Show a rotation: state, current step, each step with timing and outcome, versions, reason.
  A batch id (b-...) shows the batch: its rotations counted by state.
  --watch             poll until the rotation ends; exit 0 only if it Completed
  --timeout DURATION  how long --watch follows it (default 15m)`,
  history: `rotor history <secret> [--vault URL] [--limit N | --all]
  A secret's rotations, newest first.
  --limit N           show at most N (default 20)
  --all               show every rotation, following the API's pages`,
  secrets: `rotor secrets [--vault URL]
  The secrets Rotor manages: rotator, strategy, current version, expiry, next due, last rotation.
rotor secrets set <name> [--tag KEY=VALUE]... [--expires DURATION] [--value-stdin] [--content-type TYPE]
  Local stack only (npm start): write a secret into the local vault, e.g. to try a policy.
  --tag KEY=VALUE     a tag (repeat it), e.g. --tag rotor-rotator=random --tag rotor-validity=P90D
  --expires DURATION  expiry from now (P7D, 48h); within 30 days Key Vault's near-expiry event starts a rotation
  --value-stdin       read the value from standard input (default: a random value, never printed)`,
  cancel: `rotor cancel <rotation-id> [--reason TEXT]
  Cancel a running rotation: before promote it is undone and ends Cancelled; after promote it
  rolls back; once verify has passed the new credential stands and the API refuses (409).`,
  expiring: `rotor expiring [--within DURATION]
  The expiry radar: secrets (managed or not) and app registration client secrets and
  certificates expiring within DURATION (ISO-8601, default P30D), expired ones first.
  --within DURATION   the window: P30D, P90D, PT12H`,
  consumers: `rotor consumers list|add|remove|set|clear <secret> [entry...] [--vault URL]
  The applications that must move to a new version before the old one is retired.
  Entries: appservice:<resource id>, containerapp:<resource id>, https://<endpoint>.
  list shows the rotor-consumers tag and the registry; add/remove/set/clear edit the registry.`,
  help: `rotor help [command]
  This text, or the help of one command.`,
};

export function helpText(topic?: CommandName): string {
  if (topic !== undefined) return `${COMMANDS[topic]}\n\n${GLOBALS}\n\n${EXIT_CODES}\n`;
  return [
    'rotor: operate Rotor, the Key Vault secret rotation service, through its HTTP API.',
    '',
    'Commands:',
    ...Object.values(COMMANDS).map((text) => text.replace(/^/gm, '  ')),
    '',
    GLOBALS,
    '',
    EXIT_CODES,
    '',
    'Examples:',
    '  ROTOR_API_URL=https://func-rotor.azurewebsites.net/api ROTOR_API_KEY=... rotor secrets',
    '  rotor rotate db-password --reason "suspected leak" --wait --timeout 20m',
    '  rotor rotate db-password --dry-run',
    '  rotor status <rotation-id> --watch',
    '  rotor history db-password --all --json',
    '  rotor rotate --all --vault https://kv-app.vault.azure.net --reason "INC-4711: vault readers compromised"',
    '  rotor cancel <rotation-id> --reason "wrong secret"',
    '  rotor expiring --within P14D',
    '  rotor consumers add db-password https://orders.example.com/rotor/consumer',
    '',
  ].join('\n');
}
