import { Redis } from "ioredis";

/**
 * A connection to CI_REDIS_URL as BullMQ wants it: commands wait while Redis is away instead of
 * failing after a few retries (maxRetriesPerRequest: null), so a Redis restart only pauses pyci.
 * The URL is a secret: nothing here logs it.
 */
export function connectRedis(url: string, name: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, connectionName: name });
}
