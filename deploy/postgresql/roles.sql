-- streampanel's database and its two roles, for psql as a PostgreSQL superuser, once:
--
--   psql -v migrator_password="$(openssl rand -hex 24)" \
--        -v app_password="$(openssl rand -hex 24)" -f roles.sql
--
-- streampanel_migrator owns the database and its schema: the one role that may change it
-- (`streampanel migrate`, streampanel-migrate.service).  streampanel_app is every other
-- process (API, worker, collectors): it reads and writes rows, and can create, alter or
-- drop nothing.  Put the passwords in the database URLs of migrate.env and
-- streampanel.env.
\set ON_ERROR_STOP on

CREATE ROLE streampanel_migrator LOGIN PASSWORD :'migrator_password';
CREATE ROLE streampanel_app LOGIN PASSWORD :'app_password';
CREATE DATABASE streampanel OWNER streampanel_migrator;
-- Nobody else may connect.
REVOKE CONNECT, TEMPORARY ON DATABASE streampanel FROM PUBLIC;
GRANT CONNECT ON DATABASE streampanel TO streampanel_migrator, streampanel_app;

\connect streampanel
-- Before PostgreSQL 15 every role could create tables in "public": not here.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO streampanel_migrator;
GRANT USAGE ON SCHEMA public TO streampanel_app;

-- Every table and sequence the migrator creates, now or in a later release, is open to
-- the application role for rows only.
ALTER DEFAULT PRIVILEGES FOR ROLE streampanel_migrator IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO streampanel_app;
ALTER DEFAULT PRIVILEGES FOR ROLE streampanel_migrator IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO streampanel_app;
