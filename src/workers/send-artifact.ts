import type { Artifact } from "../pipeline/types.js";
import { openBuildFile } from "../process/sandbox/read-build-file.js";
import { MAX_ARTIFACT_BYTES } from "../store/keep-artifact.js";
import type { BuildStreamEvent } from "./build-stream.js";

/** Bytes of a file per stream entry (base64 makes it a third larger). */
const CHUNK_BYTES = 256 * 1024;

/**
 * Sends a file a step made (the docs archive) on the build's stream, in chunks, then its end:
 * the server rebuilds it and keeps it as a local build's. The file lies where the code under test
 * could write: it is opened as such (openBuildFile). Never throws: a file that cannot be sent
 * ends with the reason, which the server reports where it would have used the file.
 */
export async function sendArtifact(artifact: Artifact, send: (event: BuildStreamEvent) => void): Promise<void> {
  const end = { t: "artifact-end", name: artifact.name, contentType: artifact.contentType } as const;
  try {
    const opened = await openBuildFile(artifact.path, MAX_ARTIFACT_BYTES);
    if (!opened) return send({ ...end, error: `${artifact.name} is missing` });
    try {
      const buffer = Buffer.alloc(CHUNK_BYTES);
      for (let position = 0; position < opened.size; ) {
        const { bytesRead } = await opened.file.read(buffer, 0, CHUNK_BYTES, position);
        if (bytesRead === 0) break;
        send({ t: "artifact-chunk", name: artifact.name, data: buffer.subarray(0, bytesRead).toString("base64") });
        position += bytesRead;
      }
    } finally {
      await opened.file.close();
    }
    send(end);
  } catch (error) {
    send({ ...end, error: (error as Error).message });
  }
}
