import { execFileSync } from "node:child_process";

const SCRIPT = `
import base64, hashlib, os, sys, zipfile
out, module, dist, source = sys.argv[1:5]
os.makedirs(out, exist_ok=True)
info = "%s-0.1.dist-info" % module
files = {
    "%s/__init__.py" % module: source,
    info + "/METADATA": "Metadata-Version: 2.1\\nName: %s\\nVersion: 0.1\\n" % dist,
    info + "/WHEEL": "Wheel-Version: 1.0\\nGenerator: pyci-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
record = []
for name, text in files.items():
    data = text.encode()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record.append("%s,sha256=%s,%d" % (name, digest, len(data)))
record.append(info + "/RECORD,,")
with zipfile.ZipFile(os.path.join(out, "%s-0.1-py3-none-any.whl" % module), "w", zipfile.ZIP_DEFLATED) as whl:
    for name, text in files.items():
        whl.writestr(name, text)
    whl.writestr(info + "/RECORD", "\\n".join(record) + "\\n")
`;

/**
 * Writes `<module>-0.1-py3-none-any.whl`, a pure-Python package whose
 * `__init__.py` is `source`, into `dir` with Python's zipfile: no build
 * backend, no network (pip installs it with --no-index --find-links).
 */
export function writeWheel(python: string, dir: string, wheel: { module: string; dist: string; source: string }): void {
  execFileSync(python, ["-c", SCRIPT, dir, wheel.module, wheel.dist, wheel.source]);
}
