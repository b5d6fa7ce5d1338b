import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { storedVersionSchema } from './backup.js';
import type { StoredSecret } from './model.js';

/**
 * Optional persistence: the vault's state as one JSON file in a directory,
 * rewritten (write + rename) before each answer that changed it, so a
 * restarted emulator — `npm start` again — finds its secrets. Values are
 * stored in clear: this is a local stand-in, never a place for real secrets.
 */
const FORMAT = 'rotor-keyvault-emulator-state/1';

const stateSchema = z.object({
  format: z.literal(FORMAT),
  secrets: z.array(
    z.object({
      name: z.string(),
      versions: z.array(storedVersionSchema).min(1),
      state: z.enum(['active', 'deleting', 'deleted', 'recovering']),
      deletedDate: z.number().int().optional(),
      scheduledPurgeDate: z.number().int().optional(),
      transitionEndsMs: z.number().optional(),
    }),
  ),
});

export class VaultStateFile {
  readonly path: string;

  constructor(dataDir: string, vaultName: string) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, `keyvault-${vaultName}.json`);
  }

  /** The saved secrets, none when no file exists yet; a corrupt file stops start-up naming the file. */
  load(): StoredSecret[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const parsed = stateSchema.safeParse(JSON.parse(text));
    if (!parsed.success) {
      throw new Error(`Key Vault emulator state file ${this.path} is not valid: ${parsed.error.issues[0]?.message ?? 'unknown problem'}`);
    }
    return parsed.data.secrets;
  }

  save(secrets: readonly StoredSecret[]): void {
    const temporary = `${this.path}.tmp`;
    writeFileSync(temporary, JSON.stringify({ format: FORMAT, secrets }), { mode: 0o600 });
    renameSync(temporary, this.path);
  }
}
