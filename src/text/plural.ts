/** "1 file", "3 files", "2 unexpected successes" (pass the plural when it is not the singular plus "s"). */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : pluralForm}`;
}
