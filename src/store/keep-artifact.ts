import { copyFile, mkdir } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Artifact } from "../pipeline/types.js";
import { artifactDir } from "./build-files.js";

export { artifactDir };

/** Copies an artifact out of the throwaway checkout into CI_DATA_DIR; returns it at its new path. Removed with the build by retention. */
export async function keepArtifact(dataDir: string, buildId: string, artifact: Artifact): Promise<Artifact> {
  const dir = artifactDir(dataDir, buildId);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, basename(artifact.name));
  await copyFile(artifact.path, path);
  return { ...artifact, path };
}
