import type { ClientConfig } from '../config/schema.js';

/** A registered client, as configured (RFC 7591 metadata names). */
export type Client = Readonly<ClientConfig> & { readonly scopes: ReadonlySet<string> };

/** Where clients are looked up; the embedded default holds the configured ones. */
export interface ClientRegistry {
  find(clientId: string): Client | undefined;
}

export class StaticClientRegistry implements ClientRegistry {
  private readonly clients: Map<string, Client>;

  constructor(clients: readonly ClientConfig[]) {
    this.clients = new Map(
      clients.map((client) => [client.client_id, { ...client, scopes: new Set(client.scope.split(' ').filter(Boolean)) }]),
    );
  }

  find(clientId: string): Client | undefined {
    return this.clients.get(clientId);
  }
}
