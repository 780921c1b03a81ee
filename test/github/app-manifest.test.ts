import { describe, expect, it } from "vitest";
import { appManifest, createAppUrl } from "../../src/github/app-manifest.js";

describe("appManifest", () => {
  it("takes name, events and permissions from app.yml and pyci's own URLs for the webhook and the way back", () => {
    const manifest = appManifest({ webhookUrl: "https://smee.io/abc", publicUrl: "https://ci.example.com" });
    expect(manifest).toMatchObject({
      name: "pyci",
      hook_attributes: { url: "https://smee.io/abc", active: true },
      redirect_url: "https://ci.example.com/probot/setup",
      default_events: ["pull_request", "check_run", "check_suite"],
    });
    expect(manifest.default_permissions).toMatchObject({ checks: "write", statuses: "write" });
  });
});

describe("createAppUrl", () => {
  it("is the user's new-App page on github.com, an organization's with GH_ORG, GHE_HOST's on Enterprise", () => {
    expect(createAppUrl({})).toBe("https://github.com/settings/apps/new");
    expect(createAppUrl({ GH_ORG: "acme" })).toBe("https://github.com/organizations/acme/settings/apps/new");
    expect(createAppUrl({ GHE_HOST: "ghe.example.com", GH_ORG: "a b" })).toBe(
      "https://ghe.example.com/organizations/a%20b/settings/apps/new",
    );
  });
});
