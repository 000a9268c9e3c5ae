export { compileModel as generatedClass } from '../../codegen/build.ts';
export { readCsv, standardize } from '../../demos/data.ts';
