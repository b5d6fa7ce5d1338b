-- Rotor, PostgreSQL rotator, alternating strategy: setup for PostgreSQL 16 and later
-- (Azure Database for PostgreSQL flexible server included).
-- Run as a superuser or, on Azure, as the server admin (a member of azure_pg_admin),
-- connected to the application's database. Rename app_rw/app_a/app_b/rotor_admin
-- to taste and tag the secret to match. The test suite runs this file as written.

-- Rotor's admin role: it can change the passwords of the two login roles and
-- nothing else. Give it a password with \password rotor_admin and store
-- {"username":"rotor_admin","password":"..."} in the Key Vault secret named by
-- the rotor-pg-admin-secret tag. (On Azure with Entra authentication, use the
-- role of Rotor's managed identity instead; see postgres.md.)
CREATE ROLE rotor_admin LOGIN CREATEROLE;

-- The group role owns the application's privileges, so the two login roles are
-- interchangeable. Grant everything to app_rw, never to app_a or app_b.
CREATE ROLE app_rw NOLOGIN;
GRANT USAGE ON SCHEMA public TO app_rw;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO app_rw;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO app_rw;

-- The two login roles. They inherit from app_rw and own nothing: objects they
-- created would belong to one slot only.
CREATE ROLE app_a LOGIN INHERIT IN ROLE app_rw;
CREATE ROLE app_b LOGIN INHERIT IN ROLE app_rw;

-- PostgreSQL 16+: CREATEROLE only reaches roles held WITH ADMIN OPTION.
-- INHERIT/SET FALSE: rotor_admin can set their passwords but not use their privileges.
GRANT app_a, app_b TO rotor_admin WITH ADMIN OPTION, INHERIT FALSE, SET FALSE;
