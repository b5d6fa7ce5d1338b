import { z } from 'zod';
/** The operator API as the demo and the scenarios call it: the function key, JSON both ways, the status and the parsed body. */
export type ApiCall = (path: string, init?: RequestInit) => Promise<{ readonly status: number; readonly body: unknown }>;

export function apiCaller(api: { readonly baseUrl: string; readonly functionKey: string }): ApiCall {
  return async (path, init = {}) => {
    const res = await fetch(`${api.baseUrl}${path}`, { ...init, headers: { 'x-functions-key': api.functionKey, 'content-type': 'application/json' } });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };
}

const startedView = z.object({ rotationId: z.string() });
const activeView = z.object({ activeRotationId: z.string() });
/** What the API's 503 says in `Retry-After` (src/api/deadline.ts). */
const RETRY_AFTER_MS = 5_000;

/** How a start went: the rotation's id when one started, and the last status the API answered. */
export interface StartAnswer {
  readonly status: number;
  readonly rotationId?: string;
}

/**
 * Starts a rotation as a client of the API should: a 503 (the API's 8 s deadline on a busy machine) is tried
 * again after its `Retry-After`; a 409 after such a retry names the rotation that the first try started after
 * all (a manual start gets a fresh id each time, so the retry finds it active).
 */
export async function startRotation(call: ApiCall, request: { readonly secret: string; readonly reason: string }, deadline = Date.now() + 60_000): Promise<StartAnswer> {
  for (let attempt = 1; ; attempt += 1) {
    const started = await call('/rotations', { method: 'POST', body: JSON.stringify(request) });
    if (started.status === 202) return { status: 202, rotationId: startedView.parse(started.body).rotationId };
    if (started.status === 409 && attempt > 1) return { status: 409, rotationId: activeView.parse(started.body).activeRotationId };
    if (started.status !== 503 || attempt >= 5 || Date.now() > deadline) return { status: started.status };
    await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_MS));
  }
}
