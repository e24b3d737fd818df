const { Scopeguard } = require('@scopeguard/core');
const { createTestIssuer } = require('@scopeguard/testing');
(async () => {
  const issuer = await createTestIssuer();
  const engine = new Scopeguard({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, tokenCache: false });
  const tokens = []; for (let i = 0; i < 3000; i++) tokens.push(await issuer.mint({ clientId: `c${i % 50}`, scope: 'orders.read' }));
  for (let k = 0; k < 10; k++) for (const t of tokens) await engine.verify(t);
  await issuer.close();
})();
