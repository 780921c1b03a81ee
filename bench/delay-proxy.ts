import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy on loopback that holds every chunk for half of `rttMs` in each direction, in order: the
 * round trips of a remote git host (github.com is tens of ms away from most servers) in front of the
 * bench's sshd, whose own round trips take microseconds.
 */
export async function startDelayProxy(
  targetPort: number,
  rttMs: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const half = rttMs / 2;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    // timers of one duration fire in the order they were set: the byte stream keeps its order
    const relay = (from: Socket, to: Socket) => {
      from.on("data", (chunk) => setTimeout(() => to.write(chunk), half));
      from.on("end", () => setTimeout(() => to.end(), half));
    };
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
