import { describe, expect, it } from "vitest";
import { formatBytes } from "../../src/web/assets/format-bytes.js";

describe("formatBytes", () => {
  it("words a size in B, KiB or MiB", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1024)).toBe("1.0 KiB");
    expect(formatBytes(12.5 * 1024)).toBe("12.5 KiB");
    expect(formatBytes(20 * 1024 * 1024)).toBe("20.0 MiB");
  });
});
