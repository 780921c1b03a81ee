import { Agent } from "node:http";
import { postDeliveryLight, type Delivery } from "./deliver.js";

/** A batch to send at once, from the benchmark's process. */
export interface AckRequest {
  seq: number;
  url: string;
  deliveries: Delivery[];
}

/** The batch's answers, in the order of its deliveries; `ms` is request → whole response, timed here. */
export interface AckReply {
  seq: number;
  results: { status: number; ms: number }[];
}

/** Clients at once, at most (as the old in-process client: two rounds' worth of sockets). */
const MAX_SOCKETS = 100;

/**
 * The acknowledgement figure's client, in a process of its own (started by measure-ack.ts with an IPC
 * channel): the benchmark's process also serves the fake GitHub API, whose answers to the server's
 * writes would otherwise run between a request and the reading of its response, and be timed with it.
 * Each message is a batch of prepared (serialized, signed) deliveries; they are all sent at once through
 * one keep-alive agent (postDeliveryLight), and their times go back when the last has answered.
 */
function main(): void {
  if (!process.send) throw new Error("ack-client.ts runs as a child of measure-ack.ts, with an IPC channel");
  const agent = new Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  process.on("message", (message: AckRequest) => {
    void Promise.all(message.deliveries.map((d) => postDeliveryLight(agent, message.url, d))).then(
      (results) => process.send!({ seq: message.seq, results } satisfies AckReply),
      (error: unknown) => process.send!({ seq: message.seq, error: String(error) }),
    );
  });
  process.once("disconnect", () => {
    agent.destroy();
    process.exit(0);
  });
  process.send({ ready: true });
}

main();
