/** Metadata keys and injection tokens of the Nest adapter. */

/** Metadata: the scope requirements of a class or handler (a list; class and method both apply). */
export const SCOPES_METADATA = 'scopeguard:scopes';
/** Metadata: whether a class or handler is public (the method's setting wins). */
export const PUBLIC_METADATA = 'scopeguard:public';
/** Metadata: whether a class or handler serves anonymous callers too (`@OptionalAuth()`). */
export const OPTIONAL_METADATA = 'scopeguard:optional';
