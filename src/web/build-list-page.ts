import { formatDuration } from "../report/summary-markdown.js";
import type { BuildRecord } from "../store/build-store.js";
import { BUILD_STATES } from "../store/build-record.js";
import { escapeHtml as h } from "./escape-html.js";
import type { ListFilters } from "./list-query.js";

export interface BuildListView {
  builds: BuildRecord[];
  filters: ListFilters;
  /** The next (older) page's query string, when there is one. */
  olderHref?: string;
  /** The list without a cursor (the newest page), when this is not it. */
  newestHref?: string;
  /** A build's page. */
  buildHref(id: string): string;
  /** A problem with the query, shown above an empty list. */
  problem?: string;
}

/** Pure: the build list, server-rendered with a GET form for the filters; every value escaped. */
export function buildListPage(view: BuildListView): string {
  const { builds, filters } = view;
  const rows = builds.map((b) => row(b, view.buildHref(b.id))).join("");
  const states = ["", ...BUILD_STATES]
    .map(
      (s) =>
        `<option value="${h(s)}"${s === (filters.state ?? "") ? " selected" : ""}>${s ? h(s) : "any state"}</option>`,
    )
    .join("");
  const paging = [
    view.newestHref !== undefined ? `<a href="${h(view.newestHref)}">Newest</a>` : "",
    view.olderHref !== undefined ? `<a href="${h(view.olderHref)}" rel="next">Older builds</a>` : "",
  ]
    .filter(Boolean)
    .join(" · ");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Builds · pyci</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:80rem;padding:0 1rem;color:#1f2328}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}
form{margin:1rem 0}input,select,button{font:inherit}code{font-size:90%}
.success{color:#1a7f37}.failure,.error{color:#cf222e}.queued,.running{color:#9a6700}.problem{color:#cf222e}
</style></head><body>
<h1>Builds</h1>
<form method="get" action="/builds">
<label>Repository <input name="repository" value="${h(filters.repository ?? "")}" placeholder="owner/repo" size="28"></label>
<label>Branch <input name="branch" value="${h(filters.branch ?? "")}" size="20"></label>
<label>State <select name="state">${states}</select></label>
<button type="submit">Filter</button>
</form>
${view.problem ? `<p class="problem">${h(view.problem)}</p>` : ""}
${
  builds.length === 0
    ? "<p>No builds match.</p>"
    : `<table><thead><tr><th>State</th><th>Repository</th><th>Pull request</th><th>Branch</th><th>Commit</th><th>Event</th><th>Created</th><th>Took</th></tr></thead><tbody>${rows}</tbody></table>`
}
${paging ? `<p>${paging}</p>` : ""}
</body></html>`;
}

function row(b: BuildRecord, href: string): string {
  const pr = b.prNumber !== undefined ? `#${h(b.prNumber)} ${h(b.prTitle ?? "")}` : "";
  const took = b.startedAt && b.finishedAt ? formatDuration(Date.parse(b.finishedAt) - Date.parse(b.startedAt)) : "";
  return `<tr><td class="${h(b.state)}"><a href="${h(href)}">${h(b.state)}</a></td><td>${h(b.owner)}/${h(b.repo)}</td><td>${pr}</td><td>${h(b.branch ?? "")}</td><td><a href="${h(href)}"><code>${h(b.sha.slice(0, 7))}</code></a></td><td>${h(b.event)}</td><td><time datetime="${h(b.createdAt)}">${h(b.createdAt.replace("T", " ").slice(0, 19))}</time></td><td>${h(took)}</td></tr>`;
}
