/** The operator API as the demo and the scenarios call it: the function key, JSON both ways, the status and the parsed body. */
export type ApiCall = (path: string, init?: RequestInit) => Promise<{ readonly status: number; readonly body: unknown }>;

export function apiCaller(api: { readonly baseUrl: string; readonly functionKey: string }): ApiCall {
  return async (path, init = {}) => {
    const res = await fetch(`${api.baseUrl}${path}`, { ...init, headers: { 'x-functions-key': api.functionKey, 'content-type': 'application/json' } });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };
}
