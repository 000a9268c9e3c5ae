export { compileModel as generatedClass } from '../../src/compile-model.ts';
export { readCsv, standardize } from '../../demos/data.ts';
