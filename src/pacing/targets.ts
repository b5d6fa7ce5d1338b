import { DEFAULT_PACING_TARGET } from './vault-pacer.js';

/** Rotor's share of each vault's Key Vault limits: a default, and overrides by vault host. 0 means unpaced (`off`). */
export interface PacingTargets {
  readonly default: number;
  /** Lower-case vault host → share. */
  readonly byVault: Readonly<Record<string, number>>;
}

export const defaultPacingTargets: PacingTargets = { default: DEFAULT_PACING_TARGET, byVault: {} };

/**
 * Parses `ROTOR_VAULT_BUDGET`: comma-separated entries, each a share in
 * (0, 1] for every vault (`0.9`) or for one vault (`kv-shared.vault.azure.net=0.5`,
 * the host or the vault URL); `off` instead of a share leaves the vault
 * unpaced (only Key Vault's 429s slow Rotor down). Answers the problem, in
 * words, when it does not parse.
 */
export function parsePacingTargets(text: string): PacingTargets | string {
  let fallback = DEFAULT_PACING_TARGET;
  const byVault: Record<string, number> = {};
  for (const entry of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const at = entry.lastIndexOf('=');
    const shareText = at < 0 ? entry : entry.slice(at + 1).trim();
    const share = shareText.toLowerCase() === 'off' ? 0 : Number(shareText);
    if (shareText === '' || !Number.isFinite(share) || share < 0 || (share === 0 && shareText.toLowerCase() !== 'off') || share > 1) {
      return `"${entry}": each share must be a number above 0 and at most 1, or off, such as 0.9 or kv-shared.vault.azure.net=0.5`;
    }
    if (at < 0) {
      fallback = share;
      continue;
    }
    const vault = entry.slice(0, at).trim();
    const host = hostOf(vault);
    if (host === undefined) return `"${entry}": name the vault by its host, such as kv-shared.vault.azure.net=0.5`;
    byVault[host] = share;
  }
  return { default: fallback, byVault };
}

function hostOf(vault: string): string | undefined {
  try {
    const url = new URL(vault.includes('://') ? vault : `https://${vault}`);
    return url.host === '' || url.pathname.length > 1 ? undefined : url.host.toLowerCase();
  } catch {
    return undefined;
  }
}

/** The share for one vault URL; 0 when the vault is not paced. */
export function targetFor(targets: PacingTargets, vaultUrl: string): number {
  return targets.byVault[new URL(vaultUrl).host.toLowerCase()] ?? targets.default;
}
