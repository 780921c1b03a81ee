import type { ServerResponse } from "node:http";
import { refuseUnread } from "./refuse-unread.js";

/** 413, the body left unread (see refuseUnread). */
export function refuseTooLarge(res: ServerResponse, maxBytes: number): void {
  refuseUnread(res, 413, {
    error: `Payload too large: the limit is ${maxBytes} bytes (GitHub caps webhook payloads at 25 MB)`,
  });
}
