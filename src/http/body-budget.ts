/** Bytes one reader holds against a BodyBudget. */
export interface BodyHold {
  /** What this hold has now. */
  readonly bytes: number;
  /**
   * Holds `bytes` in all from now on (more or fewer than before). False, and nothing changes, when the
   * growth does not fit in what the budget has left; shrinking always succeeds. After release(): false.
   */
  resize(bytes: number): boolean;
  /** Gives back everything held; later calls (and resizes) do nothing. Every path of a reader calls it. */
  release(): void;
}

/**
 * The process-wide cap on bytes held for request bodies nobody has vouched for yet (webhook
 * deliveries before their signature is checked: HMAC needs the whole body). Readers take a hold,
 * grow it before they allocate, and release it once the body is verified, refused or abandoned.
 * `limit` (CI_WEBHOOK_BUFFER) is shared by every connection at once, so memory before
 * authentication is bounded however many clients send.
 */
export class BodyBudget {
  #held = 0;

  constructor(readonly limit: number) {}

  /** Bytes all holds have together. */
  get held(): number {
    return this.#held;
  }

  /** A hold of nothing yet. */
  hold(): BodyHold {
    let bytes = 0;
    let released = false;
    const resize = (wanted: number): boolean => {
      if (released) return false;
      if (wanted > bytes && this.#held + (wanted - bytes) > this.limit) return false;
      this.#held += wanted - bytes;
      bytes = wanted;
      return true;
    };
    return {
      get bytes() {
        return bytes;
      },
      resize,
      release: () => {
        if (released) return;
        resize(0);
        released = true;
      },
    };
  }
}
