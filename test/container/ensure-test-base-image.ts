import { ensureTestBaseImage } from "../support/test-base-image.js";

/** `npx vite-node test/container/ensure-test-base-image.ts`: makes pyci-test-base unless it is there (.ci/container-test). */
await ensureTestBaseImage((line) => console.log(`container-test: ${line}`));
