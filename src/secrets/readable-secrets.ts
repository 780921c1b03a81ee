import { realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";

export interface ReadableSecret {
  /** The path as given. */
  path: string;
  /** The command that makes it unreadable to other users, e.g. `chmod o-rwx /srv/pyci/app.pem`. */
  fix: string;
}

/**
 * Which of `paths` another user of this machine could read: one who is
 * neither the owner nor in the group (the sandbox user, whose supplementary
 * groups setpriv clears). That is: a file that is other-readable (`o+r`), or
 * a directory that is other-listable (`o+r`), whose every directory above
 * it, from `/`, is other-searchable (`o+x`); symbolic links are followed, so
 * the directories above the real file count. A path that does not exist is
 * not readable. ACLs are not read.
 *
 * Pure but for the file system (it is read as it is now); synchronous, for
 * start-up. The fix always names the path itself, which is enough whatever
 * the directories above it allow.
 */
export function readableSecrets(paths: string[]): ReadableSecret[] {
  return paths.filter(readableByOthers).map((path) => ({ path, fix: `chmod o-rwx ${shellWord(path)}` }));
}

function readableByOthers(path: string): boolean {
  try {
    const real = realpathSync(path);
    if ((statSync(real).mode & 0o004) === 0) return false;
    for (let dir = dirname(real); ; dir = dirname(dir)) {
      if ((statSync(dir).mode & 0o001) === 0) return false;
      if (dir === dirname(dir)) return true;
    }
  } catch {
    return false;
  }
}

/** `path` as one word of a shell command line. */
function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}
