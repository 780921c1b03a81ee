/** Receives a step's console output, already masked, as it is produced. */
export interface LogSink {
  write(text: string): void;
}
