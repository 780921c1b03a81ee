import { constants, generateKeyPair, privateDecrypt, publicEncrypt } from "node:crypto";
import { promisify } from "node:util";
import type { Redis } from "ioredis";

/**
 * How a worker gets a clone token from the server without the token ever being readable in
 * Redis: the worker makes a key pair for this one request and sends its public key on the
 * build's stream (`token-request`); the server encrypts the token to it (RSA-OAEP, SHA-256) and
 * pushes the ciphertext to the build's reply list, which expires in a minute.
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
    return privateDecrypt({ key: privateKey, ...OAEP }, Buffer.from(reply[1], "base64")).toString("utf8");
  } finally {
    waiting.disconnect();
  }
}

/** The server's side: the token, encrypted to the worker's public key, in the build's reply list. */
export async function sendCloneToken(redis: Redis, buildId: string, publicKey: string, token: string): Promise<void> {
  const sealed = publicEncrypt({ key: publicKey, ...OAEP }, Buffer.from(token, "utf8")).toString("base64");
  await redis.multi().lpush(tokenReplyKey(buildId), sealed).expire(tokenReplyKey(buildId), REPLY_TTL_SECONDS).exec();
}
