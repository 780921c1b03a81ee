# pyci's server image. Build it with `docker build -t pyci .` (podman: add `--format docker`, or the
# HEALTHCHECK is dropped); docs/deploy.md#container says how to run it and which options its sandbox needs.
# The base is an official Node image; any Debian bookworm with node and npm in /usr/local
# will do (.ci/container-test passes one it makes with debootstrap: no registry of images there).
ARG BASE=node:24-bookworm-slim

# 1. build: the tarball exactly as `npm pack` makes it for npm (docs/package.md)
FROM ${BASE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# no install scripts: the build (tsc, esbuild) needs no native module; better-sqlite3 is compiled in step 2
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm pack --pack-destination /tmp && mv /tmp/pyci-*.tgz /tmp/pyci.tgz

# 2. install: the tarball as a user installs it, runtime dependencies only. better-sqlite3 takes a
#    prebuilt binary from GitHub where it can reach it, else compiles against the base's Node headers:
#    the toolchain for that stays in this stage.
FROM ${BASE} AS install
RUN apt-get update \
  && apt-get install -y --no-install-recommends build-essential python3 \
  && rm -rf /var/lib/apt/lists/*
COPY --from=build /tmp/pyci.tgz /tmp/pyci.tgz
RUN npm_config_nodedir=/usr/local npm install -g --omit=dev --no-audit --no-fund /tmp/pyci.tgz

# 3. runtime: what builds run (git, ssh, Python with venv, Sphinx for docs, bubblewrap for the
#    sandbox) and tini to reap what builds leave behind (pyci as pid 1 would leave zombies)
FROM ${BASE}
RUN apt-get update \
  && apt-get install -y --no-install-recommends \
    ca-certificates git openssh-client python3 python3-venv python3-sphinx bubblewrap tini \
  && rm -rf /var/lib/apt/lists/*
COPY --from=install /usr/local/lib/node_modules/pyci /usr/local/lib/node_modules/pyci
RUN ln -s ../lib/node_modules/pyci/dist/cli.js /usr/local/bin/pyci \
  && ln -s ../lib/node_modules/pyci/dist/actions.js /usr/local/bin/pyci-actions \
  && useradd --system --uid 10001 --user-group --create-home --home-dir /home/pyci --shell /usr/sbin/nologin pyci \
  && install -d -m 0700 -o pyci -g pyci /var/lib/pyci

# The sandbox of the code under test (docs/security.md#the-code-under-test-sandbox-limits-secrets):
# as this non-root user only bubblewrap in a user namespace of its own can confine builds, and
# only where the container may make one: podman `--security-opt unmask=ALL`; Docker also
# `--security-opt seccomp=unconfined` (or a profile allowing clone/unshare of namespaces) where
# its host allows unprivileged user namespaces. Elsewhere `auto` finds no sandbox and every
# build ends in `error` saying so, until CI_SANDBOX=off says builds may run unconfined, as pyci.
# Run as root instead (`--user 0`) for a uid per build: `user` mode with default options, `bwrap`
# with `--cap-add SYS_ADMIN`. A rootful container shares the host's uids: give each pyci on one
# machine a CI_SANDBOX_UIDS range of its own.
USER pyci
WORKDIR /var/lib/pyci
ENV NODE_ENV=production \
  HOST=0.0.0.0 \
  PORT=3000 \
  CI_DATA_DIR=/var/lib/pyci \
  MALLOC_ARENA_MAX=2
VOLUME /var/lib/pyci
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`, { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# SIGTERM: running builds get CI_SHUTDOWN_GRACE (60 s) to finish. Give the container a longer stop
# timeout, or it is killed before they report: `docker stop -t 90`, compose `stop_grace_period: 90s`.
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--"]
CMD ["pyci", "serve"]
