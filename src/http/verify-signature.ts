import { verify } from "@octokit/webhooks-methods";

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;
/** Strict: a body that is not UTF-8 cannot be the text GitHub signed; a leading BOM is kept, as it was signed. */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Whether `header` (X-Hub-Signature-256) is `sha256=<hex HMAC-SHA256 of the
 * raw body keyed by the webhook secret>`, checked by @octokit/webhooks-methods
 * (`verify`: constant-time). Its `verify` takes the body as text and the header
 * as it compares it, so what it cannot take is answered here first: a header
 * that is not 64 hex digits (GitHub's are lower case; upper case is accepted as
 * before), an empty body, one that is not UTF-8, and an empty secret (the
 * server's is never empty: "development" by default) are not signed.
 */
export function verifySignature(secret: string, body: Buffer, header: string | undefined): Promise<boolean> {
  const match = header === undefined ? null : SIGNATURE.exec(header);
  if (!match || body.length === 0 || secret === "") return Promise.resolve(false);
  const checked = checking.then(async () => {
    let text: string;
    try {
      text = UTF8.decode(body);
    } catch {
      return false;
    }
    return verify(secret, text, `sha256=${match[1]!.toLowerCase()}`);
  });
  checking = checked.then(
    () => undefined,
    () => undefined,
  );
  return checked;
}

/**
 * One check at a time in this process: each makes a text copy of its body (up to
 * 25 MiB, twice that as UTF-16) and hashes it as UTF-8 again, and a flood of
 * unsigned bodies must not hold one such copy per body at once (the
 * unauthenticated-memory test). A check of GitHub's usual few KiB takes microseconds.
 */
let checking: Promise<void> = Promise.resolve();
