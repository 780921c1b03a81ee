import { randomBytes } from "node:crypto";

const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/** A capability id: 128 random bits, base64url; a build page's URL cannot be guessed or enumerated. */
export function newBuildId(): string {
  return randomBytes(16).toString("base64url");
}

/** True only for the shape newBuildId makes: never a path, never anything with a dot or slash. */
export function isBuildId(value: string): boolean {
  return ID_PATTERN.test(value);
}
