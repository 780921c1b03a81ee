import { redactUrl } from "./git-command.js";

/**
 * Why `git fetch <url> <ref>` failed, in one line, from git's own last
 * lines: a host that does not resolve, a URL or directory that is no git
 * repository, a ref the repository does not have, access refused; else
 * git's last error line. git's words follow in parentheses.
 */
export function fetchFailure(gitLines: string[], url: string, ref: string): string {
  const shown = redactUrl(url);
  const errors = gitLines.map((line) => line.trim()).filter((line) => /^(fatal|error):/.test(line));
  const first = errors[0];
  const cause = first ? ` (git: ${first})` : "";
  const host = /Could not resolve host: ([^\s']+)/.exec(gitLines.join("\n"))?.[1];
  if (host) return `Cannot resolve the host ${host} of ${shown}: offline, or a typo in the URL?${cause}`;
  if (
    errors.some((line) =>
      /does not appear to be a git repository|repository .* not found|not a git repository/i.test(line),
    )
  )
    return `${shown} is not a git repository (or does not exist)${cause}`;
  if (errors.some((line) => /couldn't find remote ref|not our ref|no such remote ref/i.test(line)))
    return `${shown} has no branch, tag or commit ${JSON.stringify(ref)}${cause}`;
  if (errors.some((line) => /permission denied|authentication failed|could not read (username|password)/i.test(line)))
    return `${shown} refused access${cause}`;
  return `Could not fetch ${ref} from ${shown}${cause}`;
}
