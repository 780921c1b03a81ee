/**
 * Whether a process with this pid exists (EPERM: it does, as another user's).
 * Only a positive whole pid names one process: kill(0) and kill(-1) would
 * signal a group or everything, and always succeed.
 */
export function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
