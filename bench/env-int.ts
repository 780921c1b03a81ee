/** A positive whole number from the environment (BENCH_REPS and the like), else `fallback`. */
export function envInt(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}
