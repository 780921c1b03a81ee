import type { ChildListeners, ChildRequest, StartedChild } from "./child.js";
import { spawnHelper } from "./spawn-helper.js";
import { startDirectly } from "./start-directly.js";

/**
 * Starts a process, through the spawn helper (python/pyci_spawner.py) when it
 * runs: node forks the whole server for each child it starts itself, which
 * blocks the event loop for milliseconds per process on a small machine. The
 * helper is started on first use with `python3` from PATH; where it cannot run
 * (no Python 3.9, no pidfd: Linux before 5.3), or with PYCI_SPAWN_HELPER=0,
 * the server starts its children itself, the same way (execa).
 */
export async function startChild(request: ChildRequest, listeners: ChildListeners): Promise<StartedChild> {
  const helper = await spawnHelper();
  const started = await helper?.start(request, listeners);
  return started ?? startDirectly(request, listeners);
}
