import { randomBytes } from "node:crypto";
import type { BuildRecord, BuildStore } from "../store/build-store.js";

/**
 * Writes every step's stored (masked) log to the job's log, one collapsible
 * group per step: statuses link to the workflow run, so the full output must
 * be there. The logs hold the output of the code under test, so workflow
 * commands in them (`::add-mask::`, `::error::`, …) are switched off while
 * they are written (`::stop-commands::` with a token they cannot guess).
 */
export async function printStepLogs(
  store: BuildStore,
  builds: BuildRecord[],
  write: (text: string) => void,
): Promise<void> {
  for (const build of builds) {
    for (const step of build.steps) {
      const text = await store.readLog(build.id, step.name);
      write(`::group::pyci ${step.name}: ${step.state} (${oneLine(step.summary)})\n`);
      if (text) {
        const resume = randomBytes(16).toString("hex");
        write(`::stop-commands::${resume}\n`);
        write(text.endsWith("\n") ? text : `${text}\n`);
        write(`::${resume}::\n`);
      }
      write("::endgroup::\n");
    }
  }
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}
