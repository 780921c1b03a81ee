import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface RouteServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  close(): Promise<void>;
}

/** The handlers on a loopback node:http server, tried in order as Probot's server does; 404 when none answers. */
export async function serveRoutes(handlers: RouteHandler[]): Promise<RouteServer> {
  const server = createServer(async (req, res) => {
    try {
      for (const handler of handlers) if (await handler(req, res)) return;
      res.writeHead(404).end("no route\n");
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
