/** placeholder */
export const lemonldap = { name: 'lemonldap', packages: [], async start() { throw new Error('not written yet'); } };
