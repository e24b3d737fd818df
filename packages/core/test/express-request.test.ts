/** Handing the principal over on Express's request objects (express-request.ts), as the Express and Nest adapters do. */
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { type Principal } from '@scopeguard/core';
import { handOverOnExpress } from '@scopeguard/core/adapter';

const principal = { clientId: 'p' } as unknown as Principal;

/** A request as Express makes one: its prototype swapped to an app's, which inherits from a shared one, then IncomingMessage's. */
function expressLike(shared: object) {
  const app = Object.create(shared) as object;
  const req = Object.setPrototypeOf(new IncomingMessage(new Socket()), app) as IncomingMessage & { auth?: Principal; res?: { locals?: unknown; req?: unknown } };
  const res = { locals: Object.create(null) as object, req };
  req.res = res;
  return { req, res };
}

describe('handOverOnExpress', () => {
  it('never defines auth on Object.prototype for a plain object with res.locals: an own property there', () => {
    const req: { res?: { locals: object; req?: unknown }; auth?: Principal } = {};
    req.res = { locals: {}, req };
    handOverOnExpress(req, principal);
    const leaked = Object.getOwnPropertyDescriptor(Object.prototype, 'auth');
    delete (Object.prototype as { auth?: unknown }).auth;
    expect(leaked).toBeUndefined();
    expect(Object.hasOwn(req, 'auth') && req.auth).toBe(principal);
  });

  it('adds no property to an Express request, and req.auth reads the principal through the accessor', () => {
    const { req } = expressLike(Object.create(IncomingMessage.prototype));
    handOverOnExpress(req, principal);
    expect(req.auth).toBe(principal);
    expect(Object.hasOwn(req, 'auth')).toBe(false);
  });

  it('takes the res.locals its caller found, and null for none: an own property then, without looking again', () => {
    // Found by the caller: the principal goes there, whatever req.res says now.
    const { req } = expressLike(Object.create(IncomingMessage.prototype));
    const found = req.res!.locals as Record<PropertyKey, unknown>;
    req.res = { locals: Object.create(null) as object, req };
    handOverOnExpress(req, principal, undefined, found);
    expect(found[Symbol.for('scopeguard.principal')]).toBe(principal);
    expect(Object.hasOwn(req, 'auth')).toBe(false);
    // null: the caller found none (not Express's), so an own property, even where req.res has locals.
    const other = expressLike(Object.create(IncomingMessage.prototype)).req;
    handOverOnExpress(other, principal, undefined, null);
    expect(Object.hasOwn(other, 'auth') && other.auth).toBe(principal);
    expect(Object.getOwnPropertySymbols(other.res!.locals as object)).toEqual([]);
  });

  it("reads the same slot as another copy of the package's accessor, and sets an own property under a foreign one", () => {
    const shared = Object.create(IncomingMessage.prototype) as object;
    // Another copy of @scopeguard/core defined its accessor first: it reads the registry symbol's slot.
    const get = function (this: { res?: { locals?: Record<symbol, unknown> } }) {
      return this.res?.locals?.[Symbol.for('scopeguard.principal')];
    };
    Object.defineProperty(get, Symbol.for('scopeguard.principal.accessor'), { value: true });
    Object.defineProperty(shared, 'auth', { configurable: true, get, set(value) { Object.defineProperty(this, 'auth', { value, configurable: true, writable: true }); } });
    const ours = expressLike(shared).req;
    handOverOnExpress(ours, principal);
    expect(ours.auth).toBe(principal);
    expect(Object.hasOwn(ours, 'auth')).toBe(false);

    // Someone else's accessor (express-jwt's, a stub's): never relied on, the principal set on the request.
    const foreign = Object.create(IncomingMessage.prototype) as object;
    Object.defineProperty(foreign, 'auth', { configurable: true, get: () => 'not ours', set(value) { Object.defineProperty(this, 'auth', { value, configurable: true, writable: true }); } });
    const theirs = expressLike(foreign).req;
    handOverOnExpress(theirs, principal);
    expect(theirs.auth).toBe(principal);
  });
});
