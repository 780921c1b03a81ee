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
  const transform = await getTransformStream({
    logFormat,
    logLevelInString: env.LOG_LEVEL_IN_STRING === "true",
    ...(env.SENTRY_DSN ? { sentryDsn: env.SENTRY_DSN } : {}),
  });
  // as Probot does: pino writes to its transform, which formats (and reports to Sentry) onto stdout
  transform.pipe(pino.destination(1) as unknown as NodeJS.WritableStream);
  return pino(
    {
      level: env.LOG_LEVEL || "info",
      name: "probot",
      messageKey: env.LOG_MESSAGE_KEY || "msg",
      redact: { paths: REDACTED, censor: "[redacted]" },
    },
    transform,
  );
}
