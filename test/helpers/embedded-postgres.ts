// The local stack runs the same embedded PostgreSQL the tests do; one implementation, in src/local.
export { startTestPostgres, type TestPostgres, type TestPostgresOptions } from '../../src/local/scenarios/embedded-postgres.js';
