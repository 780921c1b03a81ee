import { readFileSync } from "node:fs";
import { ProbotOctokit } from "probot";
import YAML from "yaml";
import { packageFile } from "../package-files.js";

/** Where the App that a manifest registers sends what. */
export interface ManifestUrls {
  /** Where GitHub sends deliveries: WEBHOOK_PROXY_URL when set, else CI_PUBLIC_URL + WEBHOOK_PATH. */
  webhookUrl: string;
  /** CI_PUBLIC_URL: GitHub sends the browser back to <publicUrl>/probot/setup with the code. */
  publicUrl: string;
}

/**
 * pyci's GitHub App manifest: name, events and permissions from the
 * package's app.yml, the URLs from pyci's own settings. (Probot's manifest
 * sends deliveries to the root of the URL the page was asked at, and lets
 * app.yml override that; it knows nothing of CI_PUBLIC_URL or WEBHOOK_PATH.)
 */
export function appManifest(urls: ManifestUrls): Record<string, unknown> {
  const app = YAML.parse(readFileSync(packageFile("app.yml"), "utf8")) as Record<string, unknown>;
  return {
    ...app,
    hook_attributes: { url: urls.webhookUrl, active: true },
    redirect_url: `${urls.publicUrl}/probot/setup`,
  };
}

/** GitHub's page where a manifest is turned into an App: the user's, or GH_ORG's (GHE_HOST for GitHub Enterprise). */
export function createAppUrl(env: NodeJS.ProcessEnv = process.env): string {
  const site = `${env.GHE_PROTOCOL || "https"}://${env.GHE_HOST || "github.com"}`;
  const org = env.GH_ORG?.trim();
  return `${site}${org ? `/organizations/${encodeURIComponent(org)}` : ""}/settings/apps/new`;
}

/** What GitHub answers for a manifest's code: the new App and its credentials. */
export interface RegisteredApp {
  id: number;
  slug: string;
  /** The App's page on GitHub: installing it is `<htmlUrl>/installations/new`. */
  htmlUrl: string;
  pem: string;
  webhookSecret: string;
  clientId: string;
  clientSecret: string;
}

/** Exchanges the code GitHub sent the browser back with for the App's credentials (valid for one hour, once). */
export async function convertManifestCode(baseUrl: string, code: string): Promise<RegisteredApp> {
  const octokit = new ProbotOctokit({ baseUrl, request: { retries: 0 } });
  const { data } = await octokit.request("POST /app-manifests/{code}/conversions", { code });
  const app = data as typeof data & { pem: string; webhook_secret: string | null; client_secret: string };
  if (!app.webhook_secret) throw new Error("GitHub registered the App without a webhook secret");
  return {
    id: app.id,
    slug: app.slug ?? "",
    htmlUrl: app.html_url,
    pem: app.pem,
    webhookSecret: app.webhook_secret,
    clientId: app.client_id ?? "",
    clientSecret: app.client_secret,
  };
}
