import type { RepoConfig } from "../pipeline/types.js";
import type { BuildExecutor } from "./build-executor.js";

/** The note a build's log gets where `runs_on` means nothing: one machine builds everything. */
export function runsOnIgnoredNote(labels: readonly string[]): string {
  return `pyci: runs_on (${labels.join(", ")}) is ignored: this server has no workers (CI_REDIS_URL is not set) and builds everything itself.\n`;
}

/**
 * An executor for a server without workers: as `executor`, and a build whose config asks for
 * worker labels (`runs_on`) says in its first step's log after the config was read that they are
 * ignored. (The pipeline reads the config before it opens the logs of the steps after the checkout.)
 */
export function runsOnIgnored(executor: BuildExecutor): BuildExecutor {
  return {
    execute(build, sinks) {
      let config: RepoConfig | undefined;
      build.repoConfig.then(
        (read) => {
          config = read;
        },
        () => undefined,
      );
      let noted = false;
      return executor.execute(build, {
        ...sinks,
        openLog(step, mask) {
          const log = sinks.openLog(step, mask);
          if (!noted && config?.runsOn?.length) {
            noted = true;
            log.write(runsOnIgnoredNote(config.runsOn));
          }
          return log;
        },
      });
    },
  };
}
