import { envInt } from "./env-int.js";
import { measureAck } from "./measure-ack.js";
import { runAlone } from "./run-alone.js";

/**
 * Figure 1 alone (`npm run build && npx vite-node bench/run-ack.ts`): the acknowledgement rows of
 * `npm run bench`, measured the same way (measureAck), in a minute instead of the whole run.
 * BENCH_ACK_ROUNDS (6) as there; the raw samples go to stderr as JSON with BENCH_ACK_DETAIL=1.
 */
runAlone("ack", "BENCH_ACK_DETAIL", (h, progress) => measureAck(h, envInt("BENCH_ACK_ROUNDS", 6), progress));
