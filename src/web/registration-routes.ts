import { join } from "node:path";
import type { Logger } from "probot";
import { appManifest, convertManifestCode, createAppUrl, type ManifestUrls } from "../github/app-manifest.js";
import type { Route } from "../http/create-http-server.js";
import { escapeHtml } from "./escape-html.js";
import { saveEnvFile } from "./save-env-file.js";

export interface RegistrationOptions extends ManifestUrls {
  /** GitHub's API (GHE_HOST/GHE_PROTOCOL, else api.github.com): where the code is exchanged for credentials. */
  baseUrl: string;
  /** Where `.env` is written (the working directory, read at the next start). */
  cwd: string;
  log: Logger;
}

/**
 * The registration of pyci's GitHub App, served while the server has no App
 * credentials (outside production), as Probot's registration does but with
 * pyci's manifest (github/app-manifest.ts):
 * - `GET /` and `GET /probot`: a page whose button posts the manifest to GitHub;
 * - `GET /probot/setup?code=…`: GitHub sends the browser back with a code,
 *   exchanged for the App's id, key and webhook secret, which go to `.env`;
 *   the browser goes on to install the App. pyci is then restarted to use them.
 */
export function registrationRoutes(options: RegistrationOptions): Route {
  const manifest = JSON.stringify(appManifest(options));
  return async (req, res) => {
    const url = new URL(req.url ?? "/", "http://pyci");
    if (req.method !== "GET") return false;
    if (url.pathname === "/" || url.pathname === "/probot") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", ...NO_STORE }).end(page(manifest));
      return true;
    }
    if (url.pathname !== "/probot/setup") return false;
    const code = url.searchParams.get("code") ?? "";
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(code)) {
      res.writeHead(400, { "content-type": "text/plain; charset=utf-8", ...NO_STORE }).end("code missing or invalid");
      return true;
    }
    let app: Awaited<ReturnType<typeof convertManifestCode>>;
    try {
      app = await convertManifestCode(options.baseUrl, code);
    } catch (error) {
      options.log.error({ err: error }, "GitHub did not turn the manifest's code into an App");
      res
        .writeHead(502, { "content-type": "text/plain; charset=utf-8", ...NO_STORE })
        .end("GitHub did not register the App (the code is good for one hour and once): start again from /probot.");
      return true;
    }
    const env = join(options.cwd, ".env");
    saveEnvFile(env, {
      APP_ID: String(app.id),
      PRIVATE_KEY: app.pem,
      WEBHOOK_SECRET: app.webhookSecret,
      GITHUB_CLIENT_ID: app.clientId,
      GITHUB_CLIENT_SECRET: app.clientSecret,
    });
    options.log.info(
      { appId: app.id, slug: app.slug, env },
      "GitHub App registered; its credentials are in .env: restart pyci to use them",
    );
    const install = `${app.htmlUrl}/installations/new`;
    res.writeHead(302, { location: install, "content-type": "text/plain; charset=utf-8", ...NO_STORE });
    res.end(`Found. Redirecting to ${install}`);
    return true;
  };

  function page(manifestJson: string): string {
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Register pyci's GitHub App</title></head>
<body>
<h1>Register pyci's GitHub App</h1>
<p>GitHub will create the App with the permissions and events pyci needs, sending its webhooks to
<code>${escapeHtml(options.webhookUrl)}</code>. Back here, pyci keeps the App's credentials in <code>.env</code>;
then install the App on your repositories and restart pyci.</p>
<form action="${escapeHtml(createAppUrl())}" method="post">
<input type="hidden" name="manifest" value="${escapeHtml(manifestJson)}">
<button type="submit">Register a GitHub App</button>
</form>
</body></html>
`;
  }
}

const NO_STORE = { "cache-control": "no-store" };
