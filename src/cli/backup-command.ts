import { parseArgs } from "node:util";
import { dataDirOf } from "../config.js";
import { withDotEnv } from "../config/server-env.js";
import { BackupError, backupDataDir } from "../store/backup-data-dir.js";
import type { Output } from "./progress.js";

export const BACKUP_USAGE = `Usage: pyci backup <directory> [--force]

Writes a consistent copy of what CI_DATA_DIR must keep into a new directory,
while the server runs: the build database (pyci.db, by SQLite's online backup),
then the step logs (logs/) and docs archives (artifacts/). The git and result
caches are left out: pyci rebuilds them. CI_DATA_DIR is read as pyci serve
reads it (.env in this directory, then the environment). Run it as the user
pyci serve runs as. To restore: stop pyci, copy the directory's contents into
an empty CI_DATA_DIR, start pyci (docs/deploy.md).

  --force   replace <directory> if it exists (only once the new copy is whole)

Exit status: 0 when the backup is written, 1 when it could not be (the reason
is printed; nothing is left behind), 2 on bad usage.`;

/** `pyci backup …` (argv after `backup`): 0 written, 1 refused or failed, 2 bad usage. */
export async function backupCommand(
  argv: string[],
  out: Output,
  err: Output,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    err.write(`pyci backup: ${(error as Error).message}\n\n${BACKUP_USAGE}\n`);
    return 2;
  }
  if (parsed.values.help) {
    out.write(`${BACKUP_USAGE}\n`);
    return 0;
  }
  const [target, ...extra] = parsed.positionals;
  if (!target || extra.length > 0) {
    err.write(
      `pyci backup: ${target ? `one directory, not ${argv.join(" ")}` : "no directory given"}\n\n${BACKUP_USAGE}\n`,
    );
    return 2;
  }
  const dataDir = dataDirOf(withDotEnv(cwd, env));
  try {
    const done = await backupDataDir(dataDir, target, { force: parsed.values.force });
    out.write(
      `pyci backup: ${dataDir} → ${target}: ${done.builds} build(s) (schema ${done.schema}), ${done.files} log and artifact file(s), ${(done.bytes / 1024 / 1024).toFixed(1)} MiB\n`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof BackupError)) throw error;
    err.write(`pyci backup: ${error.message}\n`);
    return 1;
  }
}

function parseCommandLine(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: { force: { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
}
