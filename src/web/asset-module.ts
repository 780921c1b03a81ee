import { pathToFileURL } from "node:url";
import { packageFile } from "../package-files.js";

/**
 * A module of the page's script (src/web/assets), imported by the server so
 * that both run the same code. tsc does not copy the assets into dist/: the
 * module is imported from where the package keeps them, which is the same
 * file from src/ (vitest) and from dist/ (node). Its types are the .d.ts
 * beside it: assetModule<typeof import("./assets/render-ansi.js")>(…).
 */
export async function assetModule<T>(name: string): Promise<T> {
  return (await import(pathToFileURL(packageFile("src", "web", "assets", name)).href)) as T;
}
