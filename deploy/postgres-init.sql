-- The two databases of the production profile (docker-compose.yml): Rasa's conversations and
-- the assistant's own (migrated by alembic when the assistant starts).
CREATE DATABASE assistant_tracker;
CREATE DATABASE assistant;
