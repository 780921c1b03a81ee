import type { Route } from "./create-http-server.js";
import { webhookRoute, type VerifiedDelivery, type WebhookRouteOptions } from "./webhook-route.js";

/** What builds at each endpoint: pull requests to check and test at /build, merges (their docs) at /docs. */
const ENDPOINTS: { path: string; takes(delivery: VerifiedDelivery): boolean; what: string }[] = [
  {
    path: "/build",
    takes: (d) => d.name === "pull_request" && ["opened", "reopened", "synchronize"].includes(String(d.payload.action)),
    what: "pull requests opened, reopened or pushed to",
  },
  {
    path: "/docs",
    takes: (d) => d.name === "pull_request" && d.payload.action === "closed",
    what: "pull requests closed (merged ones publish their docs)",
  },
];

/**
 * The endpoints of the specification pyci started from, for a repository
 * webhook (no GitHub App): `/build` and `/docs`, each signed with
 * WEBHOOK_SECRET like WEBHOOK_PATH, which keeps taking everything. A
 * repository webhook cannot choose actions, so one pointed at an endpoint
 * sends it every pull-request delivery: each endpoint builds only its own
 * and answers the rest (200, logged) without building them twice.
 */
export function specEndpoints(options: Omit<WebhookRouteOptions, "path">): Route[] {
  return ENDPOINTS.map((endpoint) =>
    webhookRoute({
      ...options,
      path: endpoint.path,
      receive: async (delivery) => {
        if (endpoint.takes(delivery)) return options.receive(delivery);
        options.log.info(
          { deliveryId: delivery.id, event: delivery.name, action: delivery.payload.action, endpoint: endpoint.path },
          `delivery ignored: ${endpoint.path} builds ${endpoint.what}`,
        );
      },
    }),
  );
}
