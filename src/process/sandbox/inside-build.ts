/**
 * Where bwrap shows a build's cached environments (env-cache): a path
 * outside the host's own, that names a different directory in each build.
 */
export const BUILD_MOUNTS = "/pyci";

/**
 * A path in the build's own checkout or scratch dir (a virtualenv the
 * install step made, say), or under BUILD_MOUNTS (a cached environment
 * mounted there): what is there belongs to this build alone, so nothing
 * learnt about it may be kept for the next build.
 */
export function insideBuild(path: string, build: { dir: string; scratchDir: string }): boolean {
  return [build.dir, build.scratchDir, BUILD_MOUNTS].some((dir) => path.startsWith(`${dir}/`));
}
