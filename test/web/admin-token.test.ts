import { describe, expect, it } from "vitest";
import { carriesAdminToken } from "../../src/web/admin-token.js";

const TOKEN = "0123456789abcdef-token";
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("carriesAdminToken", () => {
  it("accepts the token as a bearer token, or as Basic auth's password with any user", () => {
    expect(carriesAdminToken(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(carriesAdminToken(`bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(carriesAdminToken(basic("admin", TOKEN), TOKEN)).toBe(true);
    expect(carriesAdminToken(basic("", TOKEN), TOKEN)).toBe(true);
    expect(carriesAdminToken(basic("me:too", TOKEN), TOKEN)).toBe(false); // the user name ends at the first colon
  });

  it("refuses anything else", () => {
    for (const header of [
      undefined,
      "",
      "Bearer",
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Token ${TOKEN}`,
      basic(TOKEN, ""),
      basic("admin", "wrong"),
      "Basic !!!",
      `Bearer ${TOKEN} extra`,
    ]) {
      expect(carriesAdminToken(header, TOKEN), String(header)).toBe(false);
    }
  });
});
