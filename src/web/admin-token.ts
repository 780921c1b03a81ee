import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendText } from "./send-response.js";

/** Both schemes are offered: a browser asks for Basic credentials, scripts send Bearer. */
const CHALLENGES = ['Basic realm="pyci", charset="UTF-8"', 'Bearer realm="pyci"'];

/**
 * Whether `authorization` carries `token`: `Bearer <token>`, or Basic with
 * any user name and the token as the password. The comparison takes the
 * same time wherever the first difference is.
 */
export function carriesAdminToken(authorization: string | undefined, token: string): boolean {
  const offered = offeredToken(authorization);
  if (offered === undefined) return false;
  return timingSafeEqual(digest(offered), digest(token));
}

/**
 * Answers 401 with the challenges and returns false unless the request
 * carries `token`. Neither the header nor the token is ever logged.
 */
export function requireAdminToken(req: IncomingMessage, res: ServerResponse, token: string): boolean {
  if (carriesAdminToken(req.headers.authorization, token)) return true;
  const why = req.headers.authorization ? "The token is wrong" : "A token is required";
  sendText(
    res,
    401,
    `${why}: send CI_ADMIN_TOKEN as "Authorization: Bearer <token>", or as the password of Basic auth.`,
    {
      "www-authenticate": CHALLENGES,
    },
  );
  return false;
}

function offeredToken(authorization: string | undefined): string | undefined {
  const match = /^(\S+)\s+(\S+)\s*$/.exec(authorization ?? "");
  if (!match) return undefined;
  const [, scheme, credentials] = match as unknown as [string, string, string];
  if (scheme.toLowerCase() === "bearer") return credentials;
  if (scheme.toLowerCase() !== "basic") return undefined;
  const decoded = Buffer.from(credentials, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/** Equal-length inputs for timingSafeEqual, whatever the lengths of the tokens. */
function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}
