import fc from 'fast-check';
import { deepFreeze, hasDuplicateMembers } from '../src/token/json';

const check = (text: string) => hasDuplicateMembers(text, JSON.parse(text));

/** JSON objects with at least one member; strings full of `:`, `"`, `\`, braces and non-ASCII. */
const objects = fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { minKeys: 1, maxKeys: 6 });

/** `text` (an object's JSON) with one more member named as its `index`-th member. */
function withDuplicate(text: string, index: number, escape: boolean): string {
  const names = Object.keys(JSON.parse(text) as object);
  const name = names[index % names.length]!;
  // The same name spelled with \u escapes of its UTF-16 units: JSON.parse reads it as the same member.
  const spelled = escape ? `"${name.split('').map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"` : JSON.stringify(name);
  return `${text.slice(0, -1)},${spelled}:null}`;
}

describe('hasDuplicateMembers', () => {
  it('finds no duplicate in any JSON that has none, whatever its strings hold', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => !check(JSON.stringify(value))), { numRuns: 2000 });
  });

  it('finds a duplicate member at any depth, however its name is spelled', () => {
    fc.assert(
      fc.property(objects, fc.nat(), fc.boolean(), fc.jsonValue({ maxDepth: 2 }), fc.nat(3), (value, index, escape, sibling, depth) => {
        let text = withDuplicate(JSON.stringify(value), index, escape);
        // Bury it: inside arrays and objects, beside other values.
        for (let level = 0; level < depth; level++) text = level % 2 ? `[${JSON.stringify(sibling)},${text}]` : `{"a":${JSON.stringify(sibling)},"b":${text}}`;
        return check(text);
      }),
      { numRuns: 2000 },
    );
  });

  it('tells same-named members of sibling objects apart from duplicates, and copes with deep nesting', () => {
    expect(check('{"x":{"a":1},"y":{"a":2},"z":[{"a":1},{"a":1}]}')).toBe(false);
    expect(check('{"a":"\\"a\\":1","b":"\\\\","c":{"\\u0061":1,"a":2}}')).toBe(true);
    expect(check('{"__proto__":1,"__proto__":2}')).toBe(true);
    const deep = `${'['.repeat(50_000)}{"a":1,"a":2}${']'.repeat(50_000)}`;
    expect(check(deep)).toBe(true);
  });

  it('counts colons in names and string values alike when the text has no backslash, and walks the text when it has one', () => {
    // No backslash: the count by colons. Colons in names, values and array items are not members.
    expect(check('{"a:":"b:c","d":["e:","f",{"g::":1}],"h":{"i":"::"}}')).toBe(false);
    expect(check('{"a:":1,"a:":2}')).toBe(true);
    expect(check('{"x":"a:b","x":"c"}')).toBe(true);
    expect(check('{"x":["::"],"y":{"z":1,"z":":"}}')).toBe(true);
    expect(check('{ "a" : "b:c" ,\n "b" : [ ":" ] }')).toBe(false);
    // A backslash anywhere: an escaped colon is no colon of the text, so the strings are walked.
    expect(check('{"a":"\\u003a","a":1}')).toBe(true);
    expect(check('{"a":"\\u003a","b":1}')).toBe(false);
    expect(check('{"a\\u003a":1,"a:":2}')).toBe(true);
  });

  it('finds duplicates, and only them, in text made of colons and brackets in its strings (no backslash)', () => {
    const names = fc.string({ unit: fc.constantFrom(':', 'a', 'b', ' ', '{', '[', ','), maxLength: 4 });
    const plain = fc.dictionary(names, fc.oneof(names, fc.integer(), fc.array(names, { maxLength: 3 })), { minKeys: 1, maxKeys: 5 });
    fc.assert(
      fc.property(plain, fc.nat(), (value, index) => {
        const text = JSON.stringify(value);
        return !text.includes('\\') && !check(text) && check(withDuplicate(text, index, false));
      }),
      { numRuns: 2000 },
    );
  });

  it('is not misled by an enumerable property on Object.prototype (pollution elsewhere in the app)', () => {
    Object.defineProperty(Object.prototype, 'polluted', { value: 1, enumerable: true, configurable: true });
    try {
      expect(check('{"a":1,"b":{"c":2}}')).toBe(false);
      expect(check('{"a":1,"a":{"c":2}}')).toBe(true);
    } finally {
      delete (Object.prototype as { polluted?: unknown }).polluted;
    }
  });
});

describe('deepFreeze', () => {
  it('freezes everything in a value, however deep, without running out of stack', () => {
    const value = JSON.parse(`{"a":${'['.repeat(100_000)}{"b":1}${']'.repeat(100_000)},"c":{"d":[1,{"e":2}]}}`) as Record<string, unknown>;
    expect(() => deepFreeze(value)).not.toThrow();
    let inner: unknown = value.a;
    while (Array.isArray(inner)) {
      expect(Object.isFrozen(inner)).toBe(true);
      inner = inner[0];
    }
    expect(Object.isFrozen(inner)).toBe(true);
    expect(Object.isFrozen(((value.c as { d: unknown[] }).d[1]))).toBe(true);
  });
});
