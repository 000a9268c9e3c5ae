// The grammar, compiled ahead of time from grammar/impl.ohm by `npm run grammar`
// (@ohm-js/cli generateBundles): loading the recipe skips parsing the grammar text at
// every start. test/syntax/grammar-bundle.test.ts fails when the bundle is stale.
import grammar from '../../grammar/impl.ohm-bundle.js';

export { grammar };
