// Every property test draws from one seed, so that a run of the suite is reproducible and CI
// cannot fail by chance; `FC_SEED=<n> npm test` explores other cases (`FC_SEED=random`: a
// new seed each run, printed by fast-check with any failure).
import fc from 'fast-check';

const seed = process.env.FC_SEED;
if (seed !== undefined && seed !== 'random' && !/^-?\d+$/.test(seed)) throw new Error(`FC_SEED must be an integer or \`random\`, got ${JSON.stringify(seed)}`);
if (seed !== 'random') fc.configureGlobal({ seed: seed === undefined ? 20261205 : Number(seed) });
