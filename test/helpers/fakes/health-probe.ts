import type { HealthProbe, HealthResult } from '../../../src/rotation/ports.js';

export interface FakeHealthProbe extends HealthProbe {
  /** Sets what a URL answers from now on (default: healthy). */
  setHealthy(url: string, healthy: boolean): void;
  /** Decides a URL's health at each check: a consumer modelled on the world's state. */
  setRule(url: string, healthy: () => boolean): void;
  readonly checks: number;
}

/** Health by URL, switchable mid-rotation (a consumer that breaks after the change). */
export function createFakeHealthProbe(): FakeHealthProbe {
  const unhealthy = new Set<string>();
  const rules = new Map<string, () => boolean>();
  let checks = 0;
  return {
    get checks() {
      return checks;
    },
    setHealthy(url, healthy) {
      if (healthy) unhealthy.delete(url);
      else unhealthy.add(url);
    },
    setRule(url, healthy) {
      rules.set(url, healthy);
    },
    check(targets): Promise<HealthResult> {
      checks += 1;
      const failing = targets.find((t) => unhealthy.has(t.url) || rules.get(t.url)?.() === false);
      return Promise.resolve(failing === undefined ? { healthy: true } : { healthy: false, reason: `probe ${failing.url} answered 503 (expected ${failing.expectStatus})` });
    },
  };
}
