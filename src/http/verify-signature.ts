import { isUtf8 } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/**
 * Whether `header` (X-Hub-Signature-256) is `sha256=<hex HMAC-SHA256 of the
 * raw body keyed by the webhook secret>`, compared in constant time. The HMAC
 * is taken over the body's bytes as they arrived, with no copy of them: the
 * body is unauthenticated and up to 25 MiB. (@octokit/webhooks-methods'
 * `verify`, used before, takes the body as text: a decoded copy and an
 * encoded one per check, which on Node 24 grew the server by up to 264 MiB
 * under the unauthenticated-memory test's flood, against 134–174 MiB this way.)
 * Not signed: a header that is not 64 hex digits (GitHub's are lower case;
 * upper case is accepted), an empty body, one that is not UTF-8 (it cannot be
 * the JSON GitHub signed; a leading BOM is kept, as it was signed), and an
 * empty secret (the server's is never empty: "development" by default).
 */
export function verifySignature(secret: string, body: Buffer, header: string | undefined): boolean {
  const match = header === undefined ? null : SIGNATURE.exec(header);
  if (!match || body.length === 0 || secret === "" || !isUtf8(body)) return false;
  const expected = createHmac("sha256", secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(match[1]!, "hex"));
}
