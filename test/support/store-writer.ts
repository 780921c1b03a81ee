import { BuildStore, newBuildId, type BuildRecord } from "../../src/store/build-store.js";

/**
 * `npx vite-node test/support/store-writer.ts <dataDir>`: writes builds as the server does, through
 * the real BuildStore, until SIGTERM: each build created running, its step log written and closed,
 * then saved as success. Prints `ready <n>` once 200 builds are stored, `wrote <n>` every 50 builds
 * and at the end. A log's text is `logText(id)`, so a reader can tell a whole log from a torn one.
 */
export const logText = (id: string) => `collecting ${id}\n${"x".repeat(2000)}\nOK ${id}\n`;

const dataDir = process.argv[2];
if (dataDir) {
  const store = new BuildStore(dataDir);
  let written = 0;
  let stopping = false;
  process.on("SIGTERM", () => (stopping = true));
  while (!stopping) {
    const record: BuildRecord = {
      id: newBuildId(),
      owner: "acme",
      repo: "widgets",
      sha: written.toString(16).padStart(40, "0"),
      event: "pull_request.opened",
      pipeline: "pr",
      state: "running",
      createdAt: new Date().toISOString(),
      prTitle: `change ${written} ${"·".repeat(200)}`,
      steps: [],
    };
    store.create(record);
    const log = store.openLog(record.id, "test", (text) => text);
    log.write(logText(record.id));
    log.close();
    store.save({ ...record, state: "success", finishedAt: new Date().toISOString() });
    written += 1;
    if (written === 200) console.log(`ready ${written}`);
    if (written % 50 === 0) console.log(`wrote ${written}`);
    // lets the SIGTERM handler run
    if (written % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  store.close();
  console.log(`wrote ${written}`);
}
