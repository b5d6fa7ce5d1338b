import azureFunctions from '@azure/functions';

/**
 * `@azure/functions` is a CommonJS bundle whose classes Node's ESM loader
 * cannot see as named exports (`import { HttpRequest }` fails under plain
 * `node`, though bundlers and vitest accept it). They are taken from the
 * default export instead, which is the bundle's `module.exports`.
 */
export const { HttpRequest, HttpResponse, InvocationContext } = azureFunctions;
