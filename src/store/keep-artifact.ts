import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { BuildFileError, openBuildFile } from "../process/sandbox/read-build-file.js";
import type { Artifact } from "../pipeline/types.js";
import { artifactDir } from "./build-files.js";

export { artifactDir };

/** GitHub's limit for a release asset: nothing larger is kept. */
export const MAX_ARTIFACT_BYTES = 2 * 1024 * 1024 * 1024;

/**
 * Copies an artifact out of the throwaway checkout into CI_DATA_DIR; returns
 * it at its new path. Removed with the build by retention. The artifact was
 * made where the code under test could write: it is opened as such
 * (openBuildFile: a regular file, not through a link), so that pyci never
 * keeps, or publishes, a file of its own machine instead.
 */
export async function keepArtifact(dataDir: string, buildId: string, artifact: Artifact): Promise<Artifact> {
  const opened = await openBuildFile(artifact.path, MAX_ARTIFACT_BYTES);
  if (!opened) throw new BuildFileError(`${artifact.name} is missing`);
  try {
    const dir = artifactDir(dataDir, buildId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, basename(artifact.name));
    await pipeline(
      opened.file.createReadStream({ autoClose: false, start: 0, end: Math.max(0, opened.size - 1) }),
      createWriteStream(path, { mode: 0o600 }),
    );
    return { ...artifact, path };
  } finally {
    await opened.file.close();
  }
}
