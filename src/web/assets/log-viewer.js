// The build page's script: loads earlier output in place, and while the build
// runs follows its Server-Sent Events (new log lines, step states, the end).
// The page is whole without it. Plain browser code, served as it is (see
// src/web/web-asset.ts); importable in Node for tests (it starts only where
// there is a document).
//
// The server renders a log's first view and this script the rest, with the
// same modules (render-ansi.js, format-bytes.js, log-lines.js). lineHtml mirrors
// src/web/render-log-window.ts: keep the markup in step.

import { formatBytes } from "./format-bytes.js";
import { lastLinesStart, WINDOW_BYTES, WINDOW_LINES } from "./log-lines.js";
import { escapeHtml, parseSgrParams, renderAnsi } from "./render-ansi.js";

/** Lines that arrive live go into chunks of this many… */
const LIVE_CHUNK_LINES = 500;
/** …and while the reader follows the end, a step keeps at most this many lines in the page (older chunks leave it). */
const MAX_FOLLOWED_LINES = 10000;

export function lineHtml(step, n, html) {
  const id = escapeHtml(`L${step}-${n}`);
  return `<div class="l" id="${id}"><a href="#${id}">${n}</a>${html}</div>`;
}

const encoder = new TextEncoder();
const utf8Length = (text) => encoder.encode(text).length;

/** The page as it is, and how to keep it current. */
class BuildView {
  constructor(main) {
    this.main = main;
    this.id = main.dataset.build;
    this.steps = new Map();
    for (const section of document.querySelectorAll("section.step"))
      this.steps.set(section.dataset.step, new StepView(this, section));
  }

  /** The step's view, with a new section (and a row in the steps table) for a step that just started. */
  step(name) {
    let view = this.steps.get(name);
    if (view) return view;
    const step = escapeHtml(name);
    document.getElementById("no-output")?.remove();
    document
      .getElementById("logs")
      .insertAdjacentHTML(
        "beforeend",
        `<section class="step" id="log-${step}" data-step="${step}" data-end="0" data-next-line="1" data-sgr="">` +
          `<h3><a href="#log-${step}">${step}</a> <span class="state s-running">running</span> <span class="dur"></span> <a class="raw" href="/builds/${escapeHtml(this.id)}/${step}.log">raw log</a></h3>` +
          `<div class="log"></div></section>`,
      );
    view = new StepView(this, document.getElementById(`log-${name}`));
    this.steps.set(name, view);
    this.row(name);
    return view;
  }

  row(name) {
    const rows = document.querySelector("#steps tbody");
    let row = [...rows.rows].find((r) => r.dataset.step === name);
    if (!row) {
      const step = escapeHtml(name);
      rows.insertAdjacentHTML(
        "beforeend",
        `<tr data-step="${step}"><td><a href="#log-${step}">${step}</a></td><td><span class="state s-running">running</span></td><td class="dur"></td><td></td></tr>`,
      );
      row = rows.rows[rows.rows.length - 1];
    }
    return row;
  }

  /** A `build` event: the build's state, and each finished step's state, duration and summary. */
  update(summary) {
    setState(document.getElementById("build-state"), summary.state);
    document.title = document.title.replace(/: \w+ · pyci$/, `: ${summary.state} · pyci`);
    const finished = new Set();
    for (const step of summary.steps) {
      finished.add(step.name);
      const row = this.row(step.name);
      setState(row.querySelector(".state"), step.state);
      row.cells[2].textContent = step.duration;
      row.cells[3].textContent = step.summary;
      const section = this.steps.get(step.name)?.section;
      if (section) {
        setState(section.querySelector("h3 .state"), step.state);
        section.querySelector("h3 .dur").textContent = step.duration;
      }
    }
    // the steps table keeps the order the steps ran in
    const rows = document.querySelector("#steps tbody");
    for (const step of summary.steps) rows.append(this.row(step.name));
    for (const row of [...rows.rows]) if (!finished.has(row.dataset.step)) rows.append(row);
  }

  /** The end: what only a finished build has (test results, diagnostics, times) comes from the page as it is now. */
  async finish() {
    this.main.removeAttribute("data-live");
    const response = await fetch(location.pathname, { headers: { accept: "text/html" } });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const id of ["summary", "steps", "results"]) {
      const next = fresh.getElementById(id);
      if (next) document.getElementById(id)?.replaceWith(document.adoptNode(next));
    }
    // each step's log stays as it was followed (and loaded); its heading takes the final state, in the final order
    const logs = document.getElementById("logs");
    for (const section of fresh.querySelectorAll("section.step")) {
      const state = section.querySelector("h3 .state");
      const view = this.steps.get(section.dataset.step);
      if (!view || !state) continue;
      setState(view.section.querySelector("h3 .state"), state.textContent);
      view.section.querySelector("h3 .dur").textContent = section.querySelector("h3 .dur")?.textContent ?? "";
      logs.append(view.section);
    }
    document.title = fresh.title;
    this.main.dataset.finished = "";
  }

  follow() {
    const at = [...this.steps.values()].map((v) => `${v.name}:${v.end}`).join(",");
    const source = new EventSource(`/builds/${encodeURIComponent(this.id)}/events?at=${encodeURIComponent(at)}`);
    source.addEventListener("log", (event) => {
      // output: the build is no longer waiting for a worker
      document.getElementById("waiting")?.remove();
      const { step, start, end, text } = JSON.parse(event.data);
      this.step(step).append(start, end, text);
    });
    source.addEventListener("build", (event) => this.update(JSON.parse(event.data)));
    source.addEventListener("end", () => {
      source.close();
      void this.finish();
    });
  }
}

/** One step's section: its log's chunks, where the log ends, and how to continue it. */
class StepView {
  constructor(build, section) {
    this.build = build;
    this.section = section;
    this.name = section.dataset.step;
    this.log = section.querySelector(".log");
    this.end = Number(section.dataset.end);
    this.nextLine = Number(section.dataset.nextLine);
    this.open = section.hasAttribute("data-open");
    this.ansi = parseSgrParams(section.dataset.sgr ?? "");
    this.lines = this.log.querySelectorAll(".l").length;
    this.loading = false;
  }

  /** Bytes [start, end) of the log, as they arrive live. */
  append(start, end, text) {
    if (end <= this.end) return;
    if (start < this.end) text = new TextDecoder().decode(encoder.encode(text).subarray(this.end - start));
    const following = window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 48;
    const rendered = renderAnsi(text, this.ansi);
    let lines = rendered.lines;
    if (this.open && lines.length > 0) {
      this.log.querySelector(".chunk:last-child > .l:last-child")?.insertAdjacentHTML("beforeend", lines[0]);
      lines = lines.slice(1);
    }
    let chunk = this.log.lastElementChild;
    for (let i = 0; i < lines.length; ) {
      if (!chunk || chunk.childElementCount >= LIVE_CHUNK_LINES) {
        this.log.insertAdjacentHTML(
          "beforeend",
          `<div class="chunk" data-start="${this.end}" data-line="${this.nextLine}"></div>`,
        );
        chunk = this.log.lastElementChild;
      }
      const room = Math.min(lines.length - i, LIVE_CHUNK_LINES - chunk.childElementCount);
      chunk.insertAdjacentHTML(
        "beforeend",
        lines
          .slice(i, i + room)
          .map((html) => lineHtml(this.name, this.nextLine++, html))
          .join(""),
      );
      i += room;
    }
    this.lines += lines.length;
    this.open = rendered.open;
    this.ansi = rendered.state;
    this.end = end;
    if (chunk) chunk.dataset.end = String(end);
    this.section.dataset.end = String(end);
    if (following) {
      this.forget();
      window.scrollTo(0, document.documentElement.scrollHeight);
    }
  }

  /** Keeps a followed log within MAX_FOLLOWED_LINES: its oldest chunks leave the page, to be loaded again on demand. */
  forget() {
    if (this.lines <= MAX_FOLLOWED_LINES) return;
    while (this.lines > MAX_FOLLOWED_LINES && this.log.childElementCount > 1) {
      const oldest = this.log.firstElementChild;
      this.lines -= oldest.childElementCount;
      oldest.remove();
    }
    this.showEarlier();
  }

  /** The "load earlier output" link, for the bytes before the first chunk; none at the log's start. */
  showEarlier() {
    const first = this.log.firstElementChild;
    const start = first ? Number(first.dataset.start) : 0;
    let earlier = this.section.querySelector(".earlier");
    if (start === 0) return earlier?.remove();
    if (!earlier) {
      this.log.insertAdjacentHTML("beforebegin", `<p class="earlier"><a href="#"></a> <small></small></p>`);
      earlier = this.section.querySelector(".earlier");
    }
    earlier.dataset.start = String(start);
    const link = earlier.querySelector("a");
    link.href = `/builds/${encodeURIComponent(this.build.id)}?step=${encodeURIComponent(this.name)}&before=${start}#log-${this.name}`;
    link.textContent = "Load earlier output";
    earlier.querySelector("small").textContent = `(${formatBytes(start)} before line ${first.dataset.line})`;
  }

  /** The window of lines before the first chunk, as the server would render it (src/web/log-window.ts). */
  async loadEarlier() {
    const first = this.log.firstElementChild;
    if (this.loading || !first) return;
    const end = Number(first.dataset.start);
    const firstLine = Number(first.dataset.line);
    this.loading = true;
    this.section.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(
        `/builds/${encodeURIComponent(this.build.id)}/${encodeURIComponent(this.name)}.log?start=${Math.max(0, end - WINDOW_BYTES)}&end=${end}`,
      );
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
      let text = await response.text();
      let start = Number(response.headers.get("x-log-start"));
      if (start > 0) {
        const newline = text.indexOf("\n");
        if (newline >= 0 && newline < text.length - 1) {
          start += utf8Length(text.slice(0, newline + 1));
          text = text.slice(newline + 1);
        }
      }
      const cut = lastLinesStart(text, WINDOW_LINES);
      if (cut > 0) {
        start += utf8Length(text.slice(0, cut));
        text = text.slice(cut);
      }
      const rendered = renderAnsi(text);
      // an unterminated last line is the start of the first chunk's first line
      const number = firstLine - rendered.lines.length + (rendered.open ? 1 : 0);
      const html = rendered.lines.map((line, i) => lineHtml(this.name, number + i, line)).join("");
      first.insertAdjacentHTML(
        "beforebegin",
        `<div class="chunk" data-start="${start}" data-end="${end}" data-line="${number}">${html}</div>`,
      );
      if (rendered.open) {
        const head = first.previousElementSibling.lastElementChild;
        const rest = first.firstElementChild;
        rest.firstElementChild.remove();
        head.append(...rest.childNodes);
        rest.remove();
      }
      this.lines += rendered.lines.length - (rendered.open ? 1 : 0);
      this.showEarlier();
    } catch (error) {
      this.section.querySelector(".earlier small").textContent =
        `(could not load: ${error.message}; try the link again)`;
    } finally {
      this.loading = false;
      this.section.removeAttribute("aria-busy");
    }
  }
}

function setState(element, state) {
  if (!element) return;
  element.className = `state s-${state}`;
  element.textContent = state;
}

function start() {
  const main = document.getElementById("build");
  if (!main) return;
  const build = new BuildView(main);
  document.addEventListener("click", (event) => {
    const link = event.target.closest?.(".earlier a");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    const view = build.steps.get(link.closest("section.step")?.dataset.step);
    if (!view) return;
    event.preventDefault();
    void view.loadEarlier();
  });
  if (main.hasAttribute("data-live")) build.follow();
  main.dataset.ready = "";
}

if (typeof document !== "undefined") start();
