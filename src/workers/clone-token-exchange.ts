import { constants, generateKeyPair, privateDecrypt, publicEncrypt } from "node:crypto";
import { promisify } from "node:util";
import type { Redis } from "ioredis";

/**
 * How a worker gets a clone token from the server without the token ever being readable in
 * Redis: the worker makes a key pair for this one request and sends its public key on the
 * build's stream (`token-request`); the server encrypts the token to it (RSA-OAEP, SHA-256) and
 * pushes the ciphertext (or why it has no token) to the build's reply list, which expires in a minute.
 */
export function tokenReplyKey(buildId: string): string {
  return `pyci:build-token:${buildId}`;
}

const REPLY_TTL_SECONDS = 60;
const OAEP = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" };

/** The worker's side: asks with `send` and waits (on a connection of its own: BLPOP blocks it) for the token. */
export async function requestCloneToken(
  redis: Redis,
  buildId: string,
  send: (publicKey: string) => void,
  timeoutSeconds = 60,
): Promise<string> {
  const { publicKey, privateKey } = await promisify(generateKeyPair)("rsa", { modulusLength: 2048 });
  send(publicKey.export({ type: "spki", format: "pem" }).toString());
  const waiting = redis.duplicate();
  waiting.on("error", () => undefined);
  try {
    const reply = await waiting.blpop(tokenReplyKey(buildId), timeoutSeconds);
    if (!reply) throw new Error(`the server sent no clone token within ${timeoutSeconds} s`);
    const answer = JSON.parse(reply[1]) as TokenReply;
    if ("error" in answer) throw new Error(answer.error);
    return privateDecrypt({ key: privateKey, ...OAEP }, Buffer.from(answer.sealed, "base64")).toString("utf8");
  } finally {
    waiting.disconnect();
  }
}

/** The reply, as JSON in the list: the token sealed to the worker's key (base64), or why there is none. */
type TokenReply = { sealed: string } | { error: string };

/**
 * The server's side: the token, encrypted to the worker's public key, in the build's reply list;
 * or why it could not be minted (no secret: the worker's clone fails with it at once).
 */
export async function sendCloneToken(
  redis: Redis,
  buildId: string,
  publicKey: string,
  minted: { token: string } | { error: string },
): Promise<void> {
  const reply: TokenReply =
    "token" in minted
      ? { sealed: publicEncrypt({ key: publicKey, ...OAEP }, Buffer.from(minted.token, "utf8")).toString("base64") }
      : { error: minted.error };
  await redis
    .multi()
    .lpush(tokenReplyKey(buildId), JSON.stringify(reply))
    .expire(tokenReplyKey(buildId), REPLY_TTL_SECONDS)
    .exec();
}
