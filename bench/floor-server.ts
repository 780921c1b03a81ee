import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

export interface FloorServer {
  url: string;
  rssMb(): number;
  /** The CPU time of each request answered since the last call, as pyci's access log's `cpuMs` measures it. */
  takeCpuMs(): number[];
  stop(): void;
}

/**
 * node:http answering 200 "ok" once the body is read, nothing else, in a process of its own: the baseline.
 * Each request's CPU time is taken as src/http/access-log.ts takes pyci's (the process's user + system CPU
 * from the request to the response's close) and written to stdout as `cpu <ms>`.
 */
export async function startFloorServer(): Promise<FloorServer> {
  const script = [
    "const http = require('node:http');",
    "const server = http.createServer((req, res) => {",
    "  const atStart = process.cpuUsage();",
    "  res.once('close', () => { const c = process.cpuUsage(atStart); process.stdout.write(`cpu ${(c.user + c.system) / 1000}\\n`); });",
    "  req.resume(); req.on('end', () => { res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 }); res.end('ok\\n'); });",
    "});",
    "server.keepAliveTimeout = 5000;",
    "server.listen(0, '127.0.0.1', () => console.log(server.address().port));",
  ].join("\n");
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const reap = () => child.kill("SIGKILL");
  process.once("exit", reap);
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
      const first = /^(\d+)\n/.exec(output);
      if (first) resolve(Number(first[1]));
    });
    child.once("exit", (code) => reject(new Error(`the baseline server exited (${code})`)));
  });
  return {
    url: `http://127.0.0.1:${port}/api/github/webhooks`,
    rssMb: () =>
      Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? Number.NaN) / 1024,
    takeCpuMs() {
      const lines = output.split("\n");
      output = lines.pop() ?? "";
      return lines.flatMap((line) => (line.startsWith("cpu ") ? [Number(line.slice(4))] : []));
    },
    stop() {
      child.kill("SIGKILL");
      process.removeListener("exit", reap);
    },
  };
}
