import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of a real service that can be taken down: while down,
 * every open connection is reset and every new one is accepted and reset at
 * once, as when a storage endpoint goes away. Clients see real network errors
 * (ECONNRESET), not a fake's exceptions.
 */
export interface TcpOutage {
  /** Port to connect to instead of the service's. */
  readonly port: number;
  /** Connections reset while down. */
  readonly refused: number;
  down(): void;
  up(): void;
  stop(): Promise<void>;
}

/** `target` is read at each connection, so the proxy can start before the service it fronts. */
export async function startTcpOutageProxy(target: () => { host: string; port: number }): Promise<TcpOutage> {
  let isDown = false;
  let refused = 0;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (isDown) {
      refused += 1;
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection(target());
    open.add(client).add(upstream);
    const close = (): void => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get refused() {
      return refused;
    },
    down() {
      isDown = true;
      for (const socket of open) socket.resetAndDestroy();
      open.clear();
    },
    up() {
      isDown = false;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
