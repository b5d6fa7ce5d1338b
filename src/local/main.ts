/**
 * `npm start`: the local stack. Until the emulators and the local host land it
 * says what exists and what does not, rather than pretending to run.
 */
const lines = [
  'Rotor local stack',
  '',
  'Not runnable yet: the Key Vault, Service Bus and Event Grid emulators and the',
  'local Functions host are still being built (see the README "Status" section).',
  '',
  'What works today:',
  '  npm test            typecheck, lint and every test suite',
  '  npm run build       compile functions/, src/ and emulators/ to dist/',
];
console.log(lines.join('\n'));
