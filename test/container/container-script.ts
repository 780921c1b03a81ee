import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { PODMAN } from "../support/test-base-image.js";

const exec = promisify(execFile);

/** podman with the options this machine needs (PODMAN), killed after `timeout` ms; its output. */
export const podman = (args: string[], timeout = 60_000) =>
  exec("podman", [...PODMAN, ...args], { timeout, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024 });

/** The phases of a container script, timed: `timed` runs one, `report` prints each phase's seconds under `prefix`. */
export function phaseTimes(prefix: string) {
  const durations: [string, number][] = [];
  return {
    async timed<T>(phase: string, work: () => Promise<T>): Promise<T> {
      const started = performance.now();
      const result = await work();
      durations.push([phase, Math.round(performance.now() - started) / 1000]);
      return result;
    },
    report(): void {
      for (const [phase, seconds] of durations) console.log(`${prefix}: ${phase}: ${seconds} s`);
    },
  };
}
