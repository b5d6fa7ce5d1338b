import type { HealthProbe, HealthResult } from '../../../src/rotation/ports.js';

export interface FakeHealthProbe extends HealthProbe {
  /** Sets what a URL answers from now on (default: healthy). */
  setHealthy(url: string, healthy: boolean): void;
  readonly checks: number;
}

/** Health by URL, switchable mid-rotation (a consumer that breaks after the change). */
export function createFakeHealthProbe(): FakeHealthProbe {
  const unhealthy = new Set<string>();
  let checks = 0;
  return {
    get checks() {
      return checks;
    },
    setHealthy(url, healthy) {
      if (healthy) unhealthy.delete(url);
      else unhealthy.add(url);
    },
    check(targets): Promise<HealthResult> {
      checks += 1;
      const failing = targets.find((t) => unhealthy.has(t.url));
      return Promise.resolve(failing === undefined ? { healthy: true } : { healthy: false, reason: `probe ${failing.url} answered 503 (expected ${failing.expectStatus})` });
    },
  };
}
