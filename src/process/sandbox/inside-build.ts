/**
 * A path in the build's own checkout or scratch dir (a virtualenv the
 * install step made, say): what is there belongs to this build alone, so
 * nothing learnt about it may be kept for the next build.
 */
export function insideBuild(path: string, build: { dir: string; scratchDir: string }): boolean {
  return [build.dir, build.scratchDir].some((dir) => path.startsWith(`${dir}/`));
}
