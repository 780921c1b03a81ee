import { spawn, type ChildProcess } from "node:child_process";
import { StringDecoder } from "node:string_decoder";
import type { ChildListeners, ChildOutcome, ChildRequest, StartedChild } from "./child.js";
import { packageFile } from "../package-files.js";

const HELPER_SCRIPT = packageFile("python", "pyci_spawner.py");
const HELPER_START_MS = 10_000;
const HEADER_BYTES = 9;

let helper: Promise<SpawnHelper | undefined> | undefined;

/** The running helper (started now if need be), or undefined when children are started directly. */
export function spawnHelper(): Promise<SpawnHelper | undefined> {
  if (process.env.PYCI_SPAWN_HELPER === "0") return Promise.resolve(undefined);
  helper ??= SpawnHelper.start().then((started) => {
    // a helper that died is replaced at the next start
    started?.onGone(() => (helper = undefined));
    return started;
  });
  return helper;
}

/**
 * Ends the helper, if one runs, and resolves once it has exited (its stdin closed: it kills the
 * process groups it still runs and exits; SIGKILL after `timeoutMs`). The server calls it last when
 * it shuts down, so that it leaves no process behind it: systemd's KillMode=mixed, which waits for
 * every process of the service, then sees the service end with the server.
 */
export async function stopSpawnHelper(timeoutMs = 5000): Promise<void> {
  const running = await helper;
  await running?.stop(timeoutMs);
}

interface Waiting {
  listeners: ChildListeners;
  started(pid: number | undefined): void;
  exit?: { exitCode: number | null; signal: string | null };
  done(outcome: ChildOutcome): void;
  stdout: StringDecoder;
  stderr: StringDecoder;
}

/** The helper process: spawn requests go to its stdin, its answers come back as frames on its stdout. */
export class SpawnHelper {
  private buffered: Buffer = Buffer.alloc(0);
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  private gone = false;
  private readonly goneListeners: (() => void)[] = [];
  /** Told once whether the helper said it is ready (its H frame) or ended before. */
  private ready: ((ready: boolean) => void) | undefined;

  private constructor(private readonly child: ChildProcess) {}

  /** Undefined when no helper can run here. */
  static start(): Promise<SpawnHelper | undefined> {
    let child: ChildProcess;
    try {
      child = spawn("python3", ["-I", HELPER_SCRIPT], {
        stdio: ["pipe", "pipe", "inherit"],
        // its own session: a Ctrl-C meant for the server's terminal does not reach it (it ends when the server does)
        detached: true,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8" },
      });
    } catch {
      return Promise.resolve(undefined);
    }
    const created = new SpawnHelper(child);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        resolve(undefined);
      }, HELPER_START_MS);
      created.ready = (ready) => {
        clearTimeout(timer);
        resolve(ready ? created : undefined);
      };
      child.once("error", () => created.lost());
      child.once("exit", () => created.lost());
      child.stdin!.on("error", () => created.lost());
      child.stdout!.on("data", (chunk: Buffer) => created.receive(chunk));
    });
  }

  /** See stopSpawnHelper. */
  stop(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.child.kill("SIGKILL");
        resolve();
      }, timeoutMs);
      this.onGone(() => {
        clearTimeout(timer);
        resolve();
      });
      this.child.stdin?.end();
    });
  }

  onGone(listener: () => void): void {
    if (this.gone) listener();
    else this.goneListeners.push(listener);
  }

  /**
   * Resolves once the process is started (with its pid) or could not be (no pid); undefined when
   * the helper is gone meanwhile (the caller starts it another way).
   */
  start(request: ChildRequest, listeners: ChildListeners): Promise<StartedChild | undefined> {
    if (this.gone) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise((resolveStarted) => {
      let resolveDone!: (outcome: ChildOutcome) => void;
      const done = new Promise<ChildOutcome>((resolve) => (resolveDone = resolve));
      this.waiting.set(id, {
        listeners,
        started: (pid) => {
          if (pid !== undefined) listeners.started(pid);
          resolveStarted({ pid, done });
        },
        done: (outcome) => {
          this.waiting.delete(id);
          this.idle();
          resolveDone(outcome);
        },
        stdout: new StringDecoder("utf8"),
        stderr: new StringDecoder("utf8"),
      });
      this.busy();
      this.child.stdin!.write(
        `${JSON.stringify({ id, argv: [request.cmd, ...request.args], cwd: request.cwd, env: request.env })}\n`,
      );
    });
  }

  /** Someone waits for an answer: the helper's output keeps this process alive. */
  private busy(): void {
    this.child.ref();
    (this.child.stdout as { ref?: () => void }).ref?.();
  }

  /** Nobody waits: the helper never keeps this process from exiting (it exits when its stdin closes). */
  private idle(): void {
    if (this.waiting.size > 0) return;
    this.child.unref();
    (this.child.stdout as { unref?: () => void }).unref?.();
    (this.child.stdin as { unref?: () => void }).unref?.();
  }

  private receive(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    let at = 0;
    while (this.buffered.length - at >= HEADER_BYTES) {
      const length = this.buffered.readUInt32BE(at + 5);
      if (this.buffered.length - at < HEADER_BYTES + length) break;
      const kind = String.fromCharCode(this.buffered[at]!);
      const id = this.buffered.readUInt32BE(at + 1);
      const payload = this.buffered.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length);
      at += HEADER_BYTES + length;
      this.dispatch(kind, id, payload);
    }
    this.buffered = this.buffered.subarray(at);
  }

  private dispatch(kind: string, id: number, payload: Buffer): void {
    if (kind === "H") return this.settleReady(true);
    const child = this.waiting.get(id);
    if (!child) return;
    switch (kind) {
      case "P":
        return child.started(Number(payload.toString("latin1")));
      case "E":
        child.started(undefined);
        return child.done({ exitCode: null, signal: null, spawnError: payload.toString("utf8") });
      case "O":
        return emit(child.listeners.stdout, child.stdout.write(payload));
      case "R":
        return emit(child.listeners.stderr, child.stderr.write(payload));
      case "X": {
        const { code, signal } = JSON.parse(payload.toString("utf8")) as { code: number | null; signal: string | null };
        child.exit = { exitCode: code, signal };
        return child.listeners.exit();
      }
      case "C":
        emit(child.listeners.stdout, child.stdout.end());
        emit(child.listeners.stderr, child.stderr.end());
        return child.done(child.exit ?? { exitCode: null, signal: null });
    }
  }

  private settleReady(ready: boolean): void {
    this.ready?.(ready);
    this.ready = undefined;
    if (ready) this.idle();
  }

  /** The helper died (or never ran): whoever waits hears so; their processes' groups are the caller's to kill. */
  private lost(): void {
    if (this.gone) return;
    this.gone = true;
    this.settleReady(false);
    for (const [id, child] of [...this.waiting]) {
      this.waiting.delete(id);
      child.started(undefined); // no-op for a child that had started
      // one still running is no longer watched: the caller kills what it left, as after an exit
      if (!child.exit) child.listeners.exit();
      child.done(
        child.exit ?? { exitCode: null, signal: null, spawnError: "the spawn helper (python/pyci_spawner.py) exited" },
      );
    }
    for (const listener of this.goneListeners.splice(0)) listener();
  }
}

function emit(listener: (text: string) => void, text: string): void {
  if (text) listener(text);
}
