import { codeBlock } from "./code-block.js";
import { MAX_OUTPUT_CHARS } from "./summary-markdown.js";
import { tail } from "../text/truncate.js";

const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]/g;

/**
 * The check run's `text`: the end of each step's log, within GitHub's
 * 65535 characters, giving every step an equal share; each in a code block
 * no line of the log can close (codeBlock).
 */
export function logTailText(logs: { step: string; text: string }[], limit = MAX_OUTPUT_CHARS): string {
  if (logs.length === 0) return "";
  const overhead = 40;
  const share = Math.floor(limit / logs.length) - overhead;
  return logs
    .map(({ step, text }) => {
      const clean = text.replace(ANSI, "");
      const fences = codeBlock(clean).length - clean.length;
      return `#### ${step}\n${codeBlock(tail(clean, Math.max(share - fences, 100)).trimEnd())}`;
    })
    .join("\n\n")
    .slice(0, limit);
}
