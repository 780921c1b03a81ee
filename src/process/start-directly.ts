import { execa } from "execa";
import type { ChildListeners, ChildRequest, StartedChild } from "./child.js";

/** A process started by this one (execa), as the spawn helper starts them: where the helper does not run. */
export function startDirectly(request: ChildRequest, listeners: ChildListeners): StartedChild {
  const subprocess = execa(request.cmd, request.args, {
    cwd: request.cwd,
    env: request.env,
    extendEnv: false,
    detached: true,
    reject: false,
    stdin: "ignore",
    buffer: false,
    cleanup: true,
    encoding: "utf8",
  });
  if (subprocess.pid !== undefined) listeners.started(subprocess.pid);
  subprocess.stdout?.setEncoding("utf8");
  subprocess.stderr?.setEncoding("utf8");
  subprocess.stdout?.on("data", listeners.stdout);
  subprocess.stderr?.on("data", listeners.stderr);
  subprocess.on("exit", listeners.exit);
  const done = subprocess.then((result) => {
    const spawnError =
      result.failed && result.exitCode === undefined && !result.signal
        ? result.cause instanceof Error
          ? result.cause.message
          : result.shortMessage
        : undefined;
    return { exitCode: result.exitCode ?? null, signal: result.signal ?? null, ...(spawnError ? { spawnError } : {}) };
  });
  return { pid: subprocess.pid, done };
}
