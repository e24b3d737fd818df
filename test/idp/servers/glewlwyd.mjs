/** placeholder */
export const glewlwyd = { name: 'glewlwyd', packages: [], async start() { throw new Error('not written yet'); } };
