/** Optional peers (`@nestjs/swagger`, `graphql`): loaded once when first asked for, `null` when not installed. */
const loaded = new Map<string, unknown>();

export function optionalPeer<T>(name: string): T | null {
  if (!loaded.has(name)) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded.set(name, require(name));
    } catch {
      loaded.set(name, null);
    }
  }
  return loaded.get(name) as T | null;
}
