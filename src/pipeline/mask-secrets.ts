/**
 * Returns a function that replaces every known secret value, and its
 * URL-encoded and base64 forms, with "***". Secrets shorter than 6
 * characters are ignored: masking them would garble ordinary output.
 */
export function maskSecrets(secrets: Iterable<string | undefined>): (text: string) => string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (!secret || secret.length < 6) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    for (const encoded of [Buffer.from(secret).toString("base64"), Buffer.from(`x-access-token:${secret}`).toString("base64")]) {
      forms.add(encoded);
      forms.add(encoded.replace(/=+$/, ""));
    }
  }
  if (forms.size === 0) return (text) => text;
  const pattern = new RegExp([...forms].sort((a, b) => b.length - a.length).map(escapeRegExp).join("|"), "g");
  return (text) => text.replace(pattern, "***");
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
