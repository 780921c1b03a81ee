import { getTransformStream } from "@probot/pino";
import { pino, type Logger } from "pino";

/**
 * Request headers that carry credentials. Probot's HTTP access log
 * (pino-http) records every request's headers; with LOG_FORMAT=json (the
 * default in production) CI_ADMIN_TOKEN would reach the log with each
 * authenticated request.
 */
export const REDACTED = ["req.headers.authorization", 'req.headers["proxy-authorization"]', "req.headers.cookie"];

/**
 * The logger Probot would make from the same variables (LOG_LEVEL,
 * LOG_FORMAT with its production default of json, LOG_LEVEL_IN_STRING,
 * LOG_MESSAGE_KEY, SENTRY_DSN), with credentials in request headers
 * replaced by "[redacted]". Pass it to Probot's run() as `log`.
 */
export async function createServerLog(env: NodeJS.ProcessEnv = process.env): Promise<Logger> {
  const logFormat = env.LOG_FORMAT
    ? env.LOG_FORMAT === "pretty"
      ? "pretty"
      : "json"
    : env.NODE_ENV === "production"
      ? "json"
      : "pretty";
  const options = {
    level: env.LOG_LEVEL || "info",
    name: "probot",
    messageKey: env.LOG_MESSAGE_KEY || "msg",
    redact: { paths: REDACTED, censor: "[redacted]" },
  };
  const logLevelInString = env.LOG_LEVEL_IN_STRING === "true";
  // json lines as pino writes them, without Sentry: Probot's transform would pass them through unchanged,
  // at a cost per line (an object-mode stream between pino and stdout); they go to stdout directly
  if (logFormat === "json" && !logLevelInString && !env.SENTRY_DSN) return pino(options, pino.destination(1));
  const transform = await getTransformStream({
    logFormat,
    logLevelInString,
    ...(env.SENTRY_DSN ? { sentryDsn: env.SENTRY_DSN } : {}),
  });
  // as Probot does: pino writes to its transform, which formats (and reports to Sentry) onto stdout
  transform.pipe(pino.destination(1) as unknown as NodeJS.WritableStream);
  return pino(options, transform);
}
