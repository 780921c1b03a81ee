import { generateKeyPairSync } from "node:crypto";

/**
 * A fresh RSA-2048 GitHub App private key as PKCS#8 PEM ("BEGIN PRIVATE KEY").
 * universal-github-app-jwt signs with WebCrypto, which imports PKCS#8 only; on Node it converts
 * PKCS#1 ("BEGIN RSA PRIVATE KEY", what GitHub hands out) first, so both work — PKCS#8 needs no conversion.
 */
export function generateAppKey(): string {
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return privateKey;
}
