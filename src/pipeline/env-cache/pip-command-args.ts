/** The ways an install command may start pip: `pip install`, `python -m pip install`, … */
const PIP = [
  ["pip", "install"],
  ["pip3", "install"],
  ["python", "-m", "pip", "install"],
  ["python3", "-m", "pip", "install"],
];
/** Anything a shell would read as more than words: quotes, variables, redirections, pipes, globs, lists. */
const SHELL = /[^A-Za-z0-9_\-.,/:=+@%\s]/;

/**
 * The arguments of an `install:` command that only runs pip install (run
 * with `sh -c`): `pip install -r requirements.txt` → ["-r",
 * "requirements.txt"]; anything else (another program, several commands,
 * shell syntax) is a problem: pyci cannot tell what it reads.
 */
export function pipCommandArgs(command: string): { args: string[] } | { problem: string } {
  const shell = SHELL.exec(command);
  if (shell) return { problem: `"${command}" uses shell syntax (${shell[0]})` };
  const words = command.trim().split(/\s+/);
  const start = PIP.find((prefix) => prefix.every((word, i) => words[i] === word));
  if (!start) return { problem: `"${command}" is not a pip install` };
  return { args: words.slice(start.length) };
}
