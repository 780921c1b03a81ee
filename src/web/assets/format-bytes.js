// How the build page words a size ("12.3 KiB"): the server's page and the
// page's script (log-viewer.js) both use this module. Plain browser code,
// served as it is (see src/web/web-asset.ts); types in format-bytes.d.ts.

/** "512 B", "12.3 KiB", "4.0 MiB". */
export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
