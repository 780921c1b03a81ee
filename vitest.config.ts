import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // vitest's default on 2 cores is one fork at a time; most files wait on real processes
    // (git, sshd, pyright, Sphinx, servers), so two side by side use the machine better
    maxWorkers: 2,
    minWorkers: 1,
  },
});
