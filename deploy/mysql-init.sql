-- The CDC user, as the local stack creates it (deploy/local/mariadb.ts).
CREATE USER IF NOT EXISTS 'cdc'@'%' IDENTIFIED BY 'cdc';
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'cdc'@'%';
GRANT ALL PRIVILEGES ON *.* TO 'mesh'@'%' WITH GRANT OPTION;
