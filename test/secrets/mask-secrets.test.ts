import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { maskSecrets } from "../../src/secrets/mask-secrets.js";

/** Printable secrets of realistic length, with the characters URL-encoding and base64 care about. */
const secretArb = fc.string({ unit: fc.constantFrom(..."abcXYZ019+/=_-.:~%& @!é€"), minLength: 6, maxLength: 48 });
const bytesArb = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));

/** Whether any run of base64 characters in `text`, decoded at any of its 4 character alignments, holds `secret`. */
function base64Reveals(text: string, secret: Buffer): boolean {
  for (const run of text.split(/[^A-Za-z0-9+/_-]+/)) {
    const standard = run.replace(/-/g, "+").replace(/_/g, "/");
    for (let shift = 0; shift < 4; shift++) {
      const body = standard.slice(shift);
      const decoded = Buffer.from(body.slice(0, body.length - (body.length % 4)), "base64");
      if (decoded.includes(secret)) return true;
    }
  }
  return false;
}

describe("maskSecrets", () => {
  it("masks a secret inside a longer base64 text at every byte offset, in both alphabets", () => {
    fc.assert(
      fc.property(secretArb, bytesArb, bytesArb, fc.boolean(), (secret, before, after, urlSafe) => {
        const whole = Buffer.concat([before, Buffer.from(secret), after]).toString(urlSafe ? "base64url" : "base64");
        const masked = maskSecrets([secret])(`data: ${whole}\n`);
        expect(base64Reveals(masked, Buffer.from(secret))).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it("masks a secret as it is and URL-encoded with either case of hex digits", () => {
    fc.assert(
      fc.property(secretArb, fc.string(), fc.string(), fc.boolean(), (secret, before, after, lower) => {
        const encoded = encodeURIComponent(secret);
        const url = lower ? encoded.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()) : encoded;
        const masked = maskSecrets([secret])(`${before}${secret} https://u:${url}@host/${after}`);
        expect(masked).not.toContain(secret);
        expect(masked.toLowerCase()).not.toContain(encoded.toLowerCase());
      }),
      { numRuns: 300 },
    );
  });

  it("masks the base64 forms that a known offset gives (a Basic header), and leaves short values alone", () => {
    const mask = maskSecrets(["ghs_S3cr3tToken", "short"]);
    const basic = Buffer.from("x-access-token:ghs_S3cr3tToken").toString("base64");
    expect(mask(`Authorization: Basic ${basic}`)).toBe("Authorization: Basic ***");
    expect(mask(`user:${Buffer.from("ab:ghs_S3cr3tToken!").toString("base64")}`)).not.toMatch(/M3Ny|UzNj|TM2Nl/);
    expect(mask("a short word")).toBe("a short word");
  });

  it("makes one mask per set of secrets and reuses it (a build's mask is not rebuilt), while each set masks only its own", () => {
    const server = ["webhook-secret-1", undefined, "-----BEGIN", "MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn"];
    const mask = maskSecrets(server);
    expect(maskSecrets([...server])).toBe(mask);
    const withToken = maskSecrets([...server, "ghs_tokenOfTheHour1"]);
    expect(withToken).not.toBe(mask);
    expect(withToken("ghs_tokenOfTheHour1 webhook-secret-1")).toBe("*** ***");
    expect(mask("ghs_tokenOfTheHour1 webhook-secret-1")).toBe("ghs_tokenOfTheHour1 ***");
    // many other sets later (other installations' tokens), the first is made anew and still right
    for (let k = 0; k < 40; k++) maskSecrets([`ghs_other_token_${k}`]);
    expect(maskSecrets(server)("MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn")).toBe("***");
  });
});
