// The bundler resolves `implc-browser-model` to the generated module of
// samples/deq_classifier.impl (demos/browser/bundle.ts); its class, as the page uses it.
declare module 'implc-browser-model' {
  import type { InputValue, ModelInstance } from 'implc/runtime';
  export class DeqClassifier {
    constructor(inputs: Record<string, InputValue>);
    with(changes: Record<string, InputValue>): ModelInstance;
  }
}
