import type { Context } from "probot";

/** The event names Probot's app.on() takes (`pull_request`, `pull_request.opened`, …). */
export type EventName = Extract<Parameters<import("probot").Probot["on"]>[0], string>;

/**
 * What a handler reads of a delivery: Probot's Context without its Octokit
 * (handlers that ask GitHub use the installation's, `deps.octokitFor`). A
 * Context is one; so is what the server makes of a delivery itself, without
 * building an authenticated Octokit per delivery (see registerHandlers).
 * `log` is bound to the delivery id.
 */
export type Delivery<E extends EventName = EventName> = Pick<Context<E>, "id" | "name" | "payload" | "log">;
