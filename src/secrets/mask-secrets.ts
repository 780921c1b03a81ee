/** Secrets shorter than this are not masked: masking them would garble ordinary output. */
const MIN_SECRET_LENGTH = 6;

/**
 * Returns a function that replaces every known secret value with "***", in
 * the forms a log can carry it: as it is, URL-encoded (either case of hex
 * digits), and base64 (standard and URL-safe alphabets). A secret inside a
 * longer base64 text (an HTTP Basic header, a JSON blob encoded whole) is
 * encoded differently at each of the 3 byte offsets it can start at, so each
 * offset's stable characters are masked: those that depend on the secret's
 * bytes alone.
 */
export function maskSecrets(secrets: Iterable<string | undefined>): (text: string) => string {
  // every build asks for the same few sets (the server's secrets, and its installation's token of the hour):
  // the hundreds of forms of the key's lines are made once per set, not once per build
  const list = [...secrets].filter((secret): secret is string => !!secret && secret.length >= MIN_SECRET_LENGTH);
  const key = list.join("\0");
  const known = masks.get(key);
  if (known) {
    masks.delete(key);
    masks.set(key, known);
    return known;
  }
  const mask = makeMask(list);
  masks.set(key, mask);
  if (masks.size > MAX_MASKS) masks.delete(masks.keys().next().value!);
  return mask;
}

/** Masks made, most recently used last. */
const masks = new Map<string, (text: string) => string>();
const MAX_MASKS = 16;

function makeMask(secrets: string[]): (text: string) => string {
  const patterns = new Map<string, string>();
  const add = (form: string, pattern = escapeRegExp(form)) => {
    if (form.length >= MIN_SECRET_LENGTH) patterns.set(form, pattern);
  };
  for (const secret of secrets) {
    add(secret);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret)
      add(
        encoded,
        escapeRegExp(encoded).replace(
          /%([0-9A-F])([0-9A-F])/g,
          (_, a: string, b: string) => `%${hexClass(a)}${hexClass(b)}`,
        ),
      );
    const bytes = Buffer.from(secret);
    add(Buffer.from(`x-access-token:${secret}`).toString("base64"));
    for (const form of base64Forms(bytes)) {
      add(form);
      add(form.replace(/\+/g, "-").replace(/\//g, "_"));
    }
  }
  if (patterns.size === 0) return (text) => text;
  const sources = [...patterns.entries()].sort(([a], [b]) => b.length - a.length).map(([, pattern]) => pattern);
  const pattern = new RegExp(sources.join("|"), "g");
  return (text) => text.replace(pattern, "***");
}

/**
 * The base64 characters that encode `bytes` whatever surrounds them, at
 * each of the 3 offsets (mod 3) the bytes can start at in a longer text:
 * character k holds bits [6k, 6k+6) of the whole, so it is the secret's
 * alone when those bits all fall inside the secret. Offset 0 also yields
 * the whole padded encoding.
 */
export function base64Forms(bytes: Buffer): string[] {
  const forms = [bytes.toString("base64")];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64");
    const start = Math.ceil((8 * offset) / 6);
    const end = Math.floor((8 * (offset + bytes.length)) / 6);
    forms.push(encoded.slice(start, end));
  }
  return forms;
}

function hexClass(digit: string): string {
  return /[A-F]/.test(digit) ? `[${digit}${digit.toLowerCase()}]` : digit;
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
