-- The official postgres image runs this once, when it initialises an empty data directory:
-- one database per service (the devstack table: tools/devstack/src/laborcoop/devstack/table.py),
-- owned by the image's user (POSTGRES_USER, laborcoop).
CREATE DATABASE registry;
CREATE DATABASE agreements;
CREATE DATABASE placements;
CREATE DATABASE gateway;
