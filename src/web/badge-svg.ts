import { makeBadge } from "badge-maker";
import { escapeHtml as x } from "./escape-html.js";

export interface Badge {
  label: string;
  message: string;
  /** The message's background, e.g. "#4c1". */
  color: string;
  /** The tooltip and accessible name's detail, e.g. "acme/widgets on main". */
  title: string;
}

/** badge-maker's one <title>: "label: message", escaped (no "<" inside). */
const TITLE = /<title>[^<]*<\/title>/;

/**
 * Pure: a shields.io "flat" badge, "label | message", as SVG, drawn by
 * badge-maker (shields.io's own renderer, which escapes every text it draws).
 * Its tooltip says "label: message" only; pyci's adds the detail (owner,
 * repository and branch names), escaped here.
 */
export function badgeSvg(badge: Badge): string {
  const svg = makeBadge({ label: badge.label, message: badge.message, color: badge.color, style: "flat" });
  const title = `<title>${x(`${badge.label}: ${badge.message} (${badge.title})`)}</title>`;
  return `${svg.replace(TITLE, () => title)}\n`;
}
