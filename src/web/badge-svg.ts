import { escapeHtml as x } from "./escape-html.js";

export interface Badge {
  label: string;
  message: string;
  /** The message's background, e.g. "#4c1". */
  color: string;
  /** The tooltip and accessible name's detail, e.g. "acme/widgets on main". */
  title: string;
}

const HEIGHT = 20;
const PADDING = 6;

/**
 * Pure: a shields.io-style "flat" badge, "label | message", as SVG. Every
 * text is escaped (the title carries owner, repository and branch names).
 */
export function badgeSvg(badge: Badge): string {
  const labelWidth = textWidth(badge.label) + 2 * PADDING;
  const messageWidth = textWidth(badge.message) + 2 * PADDING;
  const width = labelWidth + messageWidth;
  const name = `${badge.label}: ${badge.message}`;
  const text = (value: string, x: number) =>
    `<text x="${x}" y="15" fill="#010101" fill-opacity=".3">${value}</text><text x="${x}" y="14">${value}</text>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${HEIGHT}" role="img" aria-label="${x(name)}">` +
    `<title>${x(`${name} (${badge.title})`)}</title>` +
    `<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>` +
    `<clipPath id="r"><rect width="${width}" height="${HEIGHT}" rx="3" fill="#fff"/></clipPath>` +
    `<g clip-path="url(#r)"><rect width="${labelWidth}" height="${HEIGHT}" fill="#555"/><rect x="${labelWidth}" width="${messageWidth}" height="${HEIGHT}" fill="${x(badge.color)}"/><rect width="${width}" height="${HEIGHT}" fill="url(#s)"/></g>` +
    `<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">` +
    text(x(badge.label), labelWidth / 2) +
    text(x(badge.message), labelWidth + messageWidth / 2) +
    `</g></svg>\n`
  );
}

/** Approximate widths of Verdana 11px, as shields.io lays badges out: narrow, wide, and the rest. */
function textWidth(text: string): number {
  let width = 0;
  for (const c of text) {
    if ("ijlI|.,:;!'` ".includes(c)) width += 3.5;
    else if ("mwMW@".includes(c)) width += 10.5;
    else if (c >= "A" && c <= "Z") width += 8;
    else width += 7;
  }
  return Math.ceil(width);
}
