import { chmodSync, chownSync, copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { latestStatus, type FakeGitHub } from "../support/fake-github.js";
import { until } from "../support/until.js";
import { sendWebhook } from "../support/webhook.js";
import { podman } from "./container-script.js";

/** Inside the container: the secrets directory, mounted read-only. */
export const SECRETS = "/run/pyci-secrets";
/** Without them runc cannot set podman's defaults for RLIMIT_NOFILE and RLIMIT_NPROC here (above the host's hard limits). */
export const ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];

/** A file of the secrets directory: written from `content`, or copied from the host's path `copy`. */
export type SecretFile = { content: string } | { copy: string };

/**
 * Writes `files` into `dir` (mounted at SECRETS), owned by `image`'s user, each 0600 and the
 * directory 0700: pyci refuses key files that others can read.
 */
export async function writeImageSecrets(image: string, dir: string, files: Record<string, SecretFile>): Promise<void> {
  const { stdout: ids } = await podman([
    "run",
    "--rm",
    "--pull=never",
    "--no-healthcheck",
    ...ULIMITS,
    "--entrypoint",
    "sh",
    image,
    "-c",
    "id -u && id -g",
  ]);
  const [uid, gid] = ids.trim().split("\n").map(Number) as [number, number];
  for (const [file, from] of Object.entries(files)) {
    const path = join(dir, file);
    if ("copy" in from) copyFileSync(from.copy, path);
    else writeFileSync(path, from.content);
    chownSync(path, uid, gid);
    chmodSync(path, 0o600);
  }
  chownSync(dir, uid, gid);
  chmodSync(dir, 0o700);
}

/**
 * `podman run --detach` of `image` named `name` as a user runs it: on the host's network (the fake
 * GitHub, sshd and Redis are on its loopback), ULIMITS, `secrets` read-only at SECRETS, `env`; then
 * the caller's `runOptions`, the image and `command` (default the image's own). No HEALTHCHECK
 * timer: podman runs those through systemd, which is not here.
 */
export async function runImageDetached(o: {
  name: string;
  image: string;
  secrets: string;
  env: Record<string, string>;
  runOptions: string[];
  command?: string[];
}): Promise<void> {
  await podman([
    "run",
    "--detach",
    "--name",
    o.name,
    "--pull=never",
    "--network",
    "host",
    ...ULIMITS,
    "--health-interval",
    "disable",
    "--volume",
    `${o.secrets}:${SECRETS}:ro`,
    ...Object.entries(o.env).flatMap(([key, value]) => ["--env", `${key}=${value}`]),
    ...o.runOptions,
    o.image,
    ...(o.command ?? []),
  ]);
}

/**
 * Delivers the signed pull_request `payload` to the server at `url`, then waits until ci/check and
 * ci/test of `sha` are final; their status bodies, in that order. Throws when the delivery is refused.
 */
export async function deliverUntilFinal(
  fake: FakeGitHub,
  o: { url: string; secret: string; payload: unknown; sha: string; timeoutMs: number },
): Promise<Record<string, unknown>[]> {
  const res = await sendWebhook({
    url: `${o.url}/api/github/webhooks`,
    secret: o.secret,
    event: "pull_request",
    payload: o.payload,
  });
  if (res.status < 200 || res.status >= 300) throw new Error(`the delivery was answered ${res.status}: ${res.body}`);
  return until("ci/check and ci/test are final", o.timeoutMs, async () => {
    const statuses = ["ci/check", "ci/test"].map((context) => latestStatus(fake.statuses, o.sha, context));
    return statuses.every((s) => s && s.body.state !== "pending") ? statuses.map((s) => s!.body) : undefined;
  });
}
