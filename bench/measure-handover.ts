import { latestStatus } from "../test/support/fake-github.js";
import type { TestRepo } from "../test/support/git-repo.js";
import { postDelivery, pullRequestDelivery } from "./deliver.js";
import { firstLogLine } from "./first-log-line.js";
import type { Harness } from "./harness.js";

export interface HandoverSample {
  mode: string;
  /** Delivery sent → the first `log` event of the test step on the build's live events. */
  firstTestLineMs: number;
  /** Delivery sent → the live events stream open (after the first pending status named the build). */
  streamOpenMs: number;
}

export interface HandoverTarget {
  /** "in-process" or "worker". */
  mode: string;
  hookUrl: string;
  /** The server's base URL, for its build pages. */
  url: string;
}

/**
 * Delivery → the first line of the test step's output as the build's live page receives it, for
 * each target in turn, one build at a time (the previous one finished), `samples` rounds after
 * one warm-up round; the order of the targets alternates by round so neither always goes first.
 * Each build is a new empty commit of `repo` from an installation of its own, so pyci's pacing of
 * writes per installation never holds one back.
 */
export async function measureHandover(
  h: Harness,
  o: {
    targets: HandoverTarget[];
    repo: TestRepo;
    repoName: string;
    samples: number;
    firstNumber: number;
    progress(msg: string): void;
  },
): Promise<HandoverSample[]> {
  const samples: HandoverSample[] = [];
  let number = o.firstNumber;
  for (let round = 0; round <= o.samples; round++) {
    const order = round % 2 === 0 ? o.targets : [...o.targets].reverse();
    for (const target of order) {
      number++;
      const sha = o.repo.commit({}, `handover ${number}`);
      const delivery = await pullRequestDelivery(h, {
        repo: o.repoName,
        dir: o.repo.dir,
        number,
        sha,
        action: "opened",
        installationId: number,
      });
      const started = performance.now();
      const ack = await postDelivery(target.hookUrl, h.secret, delivery);
      if (ack.status < 200 || ack.status >= 300) throw new Error(`the delivery was answered ${ack.status}`);
      await h.fake.waitFor(() => !!latestStatus(h.fake.statuses, sha, "ci/test"), 60_000);
      const buildUrl = String(latestStatus(h.fake.statuses, sha, "ci/test")!.body.target_url);
      const id = buildUrl.split("/").at(-1)!;
      const line = await firstLogLine(`${target.url}/builds/${id}`, "test");
      if (round > 0)
        samples.push({
          mode: target.mode,
          firstTestLineMs: line.at - started,
          streamOpenMs: line.openedAt - started,
        });
      // the next build starts on an idle server
      await h.fake.waitFor(
        () =>
          ["ci/check", "ci/test"].every((c) => latestStatus(h.fake.statuses, sha, c)?.body.state !== "pending") &&
          h.fake.checkRuns.some((r) => r.fields.head_sha === sha && r.fields.status === "completed"),
        120_000,
      );
    }
    if (round > 0 && round % 5 === 0)
      o.progress(
        `handover round ${round}: ${samples
          .slice(-o.targets.length)
          .map((s) => `${s.mode} ${s.firstTestLineMs.toFixed(0)} ms`)
          .join(", ")}`,
      );
  }
  return samples;
}
