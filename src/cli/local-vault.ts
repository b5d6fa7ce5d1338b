import { randomBytes } from 'node:crypto';
import { createEmulatorSecretClient } from '../../emulators/keyvault/client.js';
import type { StackFile } from '../local/stack-file.js';
import type { LocalSecretSpec } from './args.js';
import { ExitCode, UsageError } from './errors.js';

/**
 * `rotor secrets set`: writes a secret into the local stack's Key Vault
 * emulator (found in `.rotor/stack.json`), as `az keyvault secret set` would
 * in Azure, so trying a policy locally needs no curl. The value is read from
 * standard input or generated, and never printed.
 */
export interface LocalVaultContext {
  readonly stack: StackFile | undefined;
  readonly out: (line?: string) => void;
  readonly readStdin: () => Promise<string>;
  readonly globals: { readonly json: boolean };
  readonly now: () => Date;
}

export async function setLocalSecret(spec: LocalSecretSpec, ctx: LocalVaultContext): Promise<number> {
  const vault = ctx.stack?.keyVault;
  if (vault === undefined) {
    throw new UsageError('secrets set writes to the local stack, and none is running here (no .rotor/stack.json): start one with npm start. In Azure use: az keyvault secret set');
  }
  const value = spec.valueFromStdin ? (await ctx.readStdin()).replace(/\r?\n$/, '') : randomBytes(24).toString('base64url');
  if (value === '') throw new UsageError('--value-stdin read an empty value');
  const client = createEmulatorSecretClient(vault, { clientOptions: { retryOptions: { maxRetries: 1 } } });
  const expiresOn = spec.expiresInMs === undefined ? undefined : new Date(ctx.now().getTime() + spec.expiresInMs);
  const written = await client.setSecret(spec.name, value, {
    tags: { ...spec.tags },
    ...(expiresOn === undefined ? {} : { expiresOn }),
    ...(spec.contentType === undefined ? {} : { contentType: spec.contentType }),
  });
  const summary = {
    name: spec.name,
    vaultUrl: vault.url,
    version: written.properties.version ?? '',
    tags: written.properties.tags ?? {},
    ...(expiresOn === undefined ? {} : { expiresOn: expiresOn.toISOString() }),
  };
  if (ctx.globals.json) {
    ctx.out(JSON.stringify(summary, null, 2));
    return ExitCode.Ok;
  }
  ctx.out(`Set ${spec.name} in ${vault.url}: version ${summary.version}${spec.valueFromStdin ? '' : ' (a random value; read it from the vault, it is never printed)'}`);
  const tags = Object.entries(summary.tags);
  if (tags.length > 0) ctx.out(`  tags: ${tags.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (expiresOn !== undefined) ctx.out(`  expires ${expiresOn.toISOString()}`);
  if (spec.tags['rotor-rotator'] !== undefined) ctx.out(`Check its policy with: rotor rotate ${spec.name} --dry-run`);
  return ExitCode.Ok;
}
