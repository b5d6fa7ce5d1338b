-- Rotor, PostgreSQL rotator, single strategy: setup for PostgreSQL 16 and later
-- (Azure Database for PostgreSQL flexible server included).
-- Run as a superuser or, on Azure, as the server admin, connected to the
-- application's database. The test suite runs this file as written.

-- Rotor's admin role (see postgres-alternating.sql for how to give it a password).
CREATE ROLE rotor_admin LOGIN CREATEROLE;

-- The application's login role; grant what the application needs.
CREATE ROLE app_user LOGIN;
GRANT USAGE ON SCHEMA public TO app_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO app_user;

-- PostgreSQL 16+: CREATEROLE only reaches roles held WITH ADMIN OPTION.
GRANT app_user TO rotor_admin WITH ADMIN OPTION, INHERIT FALSE, SET FALSE;
