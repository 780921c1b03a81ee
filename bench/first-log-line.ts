/**
 * Opens the build's live events (GET /builds/<id>/events, as the build page does) and resolves
 * with performance.now() when the first `log` event of `step` arrives, and when the stream opened:
 * a line that arrives in the same moment as the opening may have been written before it, so its
 * time says only "no later than". Rejects after timeoutMs or when the stream ends without one.
 */
export async function firstLogLine(
  buildUrl: string,
  step: string,
  timeoutMs = 120_000,
): Promise<{ at: number; openedAt: number }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const res = await fetch(`${buildUrl}/events`, { signal: abort.signal });
    const openedAt = performance.now();
    if (!res.ok || !res.body) throw new Error(`${buildUrl}/events answered ${res.status}`);
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const at = performance.now();
      buffered += decoder.decode(chunk, { stream: true });
      const events = buffered.split("\n\n");
      buffered = events.pop() ?? "";
      for (const event of events) {
        const name = /^event: (.+)$/m.exec(event)?.[1];
        const data = /^data: (.+)$/m.exec(event)?.[1];
        if (name === "log" && data && (JSON.parse(data) as { step: string }).step === step) return { at, openedAt };
        if (name === "end") throw new Error(`the build ended without ${step} output`);
      }
    }
    throw new Error(`the live events of ${buildUrl} ended without ${step} output`);
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}
