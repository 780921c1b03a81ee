import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { basename, dirname } from "node:path";
import { freePort } from "./server-process.js";

export interface GitHttpServer {
  /** The clone URL of `repoDir` (http://127.0.0.1:<port>/<name>/.git). */
  url: string;
  /** Tokens the requests authenticated with, in order (a refused request's too). */
  tokensSeen: string[];
  stop(): Promise<void>;
}

/**
 * Git's smart HTTP protocol for one repository (real `git http-backend`, protocol v2), behind
 * the Basic authentication GitHub asks of an App's clone: user `x-access-token`, password a
 * token for which `accepts(token)` is true; anything else gets 401 as from GitHub.
 */
export async function startGitHttpServer(repoDir: string, accepts: (token: string) => boolean): Promise<GitHttpServer> {
  const port = await freePort();
  const name = basename(repoDir);
  const tokensSeen: string[] = [];
  const server: Server = createServer((req, res) => {
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const [user, token] = basic ? Buffer.from(basic, "base64").toString().split(":") : [];
    if (token) tokensSeen.push(token);
    if (user !== "x-access-token" || !token || !accepts(token)) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="GitHub"' }).end("Unauthorized\n");
      return;
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const backend = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: dirname(repoDir),
        GIT_HTTP_EXPORT_ALL: "1",
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
        REQUEST_METHOD: req.method ?? "GET",
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: String(req.headers["content-type"] ?? ""),
        REMOTE_USER: "x-access-token",
        REMOTE_ADDR: "127.0.0.1",
      },
      stdio: ["pipe", "pipe", "ignore"],
    });
    req.pipe(backend.stdin);
    // CGI: headers, a blank line, the body
    let head = Buffer.alloc(0);
    let headDone = false;
    backend.stdout.on("data", (chunk: Buffer) => {
      if (headDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      headDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString().split("\r\n")) {
        const [key, ...rest] = line.split(":");
        const value = rest.join(":").trim();
        if (key!.toLowerCase() === "status") status = Number.parseInt(value, 10);
        else res.setHeader(key!, value);
      }
      res.writeHead(status);
      res.write(head.subarray(end + 4));
    });
    backend.on("close", () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}/${name}/.git`,
    tokensSeen,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
