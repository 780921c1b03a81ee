/** One step of the schema's history. Applied in order, each once; never edited after release. */
export interface Migration {
  /** PRAGMA user_version after this migration: 1, 2, 3… without gaps. */
  version: number;
  name: string;
  sql: string;
}
