/**
 * A writer that puts `prefix` before every line of what it is given, the
 * text arriving in pieces that need not end a line: `pyci run --verbose`
 * shows which step printed each line of steps that run side by side.
 */
export function prefixLines(prefix: string, write: (text: string) => void): (text: string) => void {
  let atLineStart = true;
  return (text) => {
    if (text === "") return;
    const body = text.replace(/\n(?=.)/gs, `\n${prefix}`);
    write(`${atLineStart ? prefix : ""}${body}`);
    atLineStart = text.endsWith("\n");
  };
}
