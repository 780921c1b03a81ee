// Types of format-bytes.js (plain browser code beside this file), for the server.

/** "512 B", "12.3 KiB", "4.0 MiB". */
export function formatBytes(n: number): string;
