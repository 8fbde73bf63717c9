-- 0015, PostgreSQL flavour. Keep in step with migrations/sqlite/0015_fleet_revisions.sql.
--
-- The fleet revision of each organization (issue #13's fleet view at 10,000 organizations): a
-- number that moves whenever anything the organization's fleet record is read from is written —
-- the organization's row, its certificates, its renewal row, its backup runs — so a reader can
-- keep the records it read and ask again for only those whose revision moved.
--
-- The counter row is a lock that every writer of one organization takes. Taken in the middle
-- of a transaction, it could deadlock two transactions that write the organization's tables in
-- different orders (one holds the counter and waits for a certificate row the other holds).
-- So the bumps are constraint triggers deferred to commit: a transaction takes the counter last,
-- when it holds every row it will write, and releases it a moment later with its commit.
-- (An earlier draft read a digest of the rows' `xmin` instead: no writes at all, but the joins
-- it needs cost 100 ms at 10,000 organizations, as much as the reads it was meant to save.)

CREATE TABLE fleet_revisions (
    organization_id  TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    revision         BIGINT NOT NULL
);
INSERT INTO fleet_revisions (organization_id, revision) SELECT id, 1 FROM organizations;

CREATE FUNCTION fleet_revision_of_organization() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fleet_revisions (organization_id, revision) VALUES (NEW.id, 1)
        ON CONFLICT (organization_id)
        DO UPDATE SET revision = fleet_revisions.revision + 1;
    RETURN NULL;
END;
$$;

CREATE FUNCTION fleet_revision_of_child() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE fleet_revisions SET revision = revision + 1
            WHERE organization_id = OLD.organization_id;
    ELSE
        UPDATE fleet_revisions SET revision = revision + 1
            WHERE organization_id = NEW.organization_id;
    END IF;
    RETURN NULL;
END;
$$;

-- A deleted organization's row goes with it (the foreign key); its own delete needs no bump.
CREATE CONSTRAINT TRIGGER organizations_fleet_revision
    AFTER INSERT OR UPDATE ON organizations
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION fleet_revision_of_organization();
CREATE CONSTRAINT TRIGGER certificates_fleet_revision
    AFTER INSERT OR UPDATE OR DELETE ON certificates
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION fleet_revision_of_child();
CREATE CONSTRAINT TRIGGER organization_renewal_fleet_revision
    AFTER INSERT OR UPDATE OR DELETE ON organization_renewal
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION fleet_revision_of_child();
CREATE CONSTRAINT TRIGGER backup_runs_fleet_revision
    AFTER INSERT OR UPDATE OR DELETE ON backup_runs
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION fleet_revision_of_child();
