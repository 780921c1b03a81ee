import { assetModule } from "./asset-module.js";
import type * as Renderer from "./assets/render-ansi.js";

export type { AnsiState, RenderedLines } from "./assets/render-ansi.js";

/**
 * The ANSI renderer of the page's script (assets/render-ansi.js), for the
 * server's first view of a log: the browser renders the output that follows
 * with the same module, so the two cannot disagree.
 */
export const { PLAIN, renderAnsi, sgrParams, parseSgrParams } = await assetModule<typeof Renderer>("render-ansi.js");
