-- 0015, SQLite flavour. Keep in step with migrations/postgres/0015_fleet_revisions.sql.
--
-- The fleet revision of each organization (issue #13's fleet view at 10,000 organizations): a
-- number that moves whenever anything the organization's fleet record is read from is written —
-- the organization's row, its certificates, its renewal row, its backup runs — so a reader can
-- keep the records it read and ask again for only those whose revision moved. Triggers keep a
-- counter per organization. SQLite admits one writer at a time, so the counter row cannot make
-- two transactions wait on each other (PostgreSQL defers its bumps to commit for that).

CREATE TABLE fleet_revisions (
    organization_id  TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    revision         BIGINT NOT NULL
);
INSERT INTO fleet_revisions (organization_id, revision) SELECT id, 1 FROM organizations;

CREATE TRIGGER organizations_fleet_revision_insert AFTER INSERT ON organizations BEGIN
    INSERT OR IGNORE INTO fleet_revisions (organization_id, revision) VALUES (NEW.id, 0);
    UPDATE fleet_revisions SET revision = revision + 1 WHERE organization_id = NEW.id;
END;
CREATE TRIGGER organizations_fleet_revision_update AFTER UPDATE ON organizations BEGIN
    UPDATE fleet_revisions SET revision = revision + 1 WHERE organization_id = NEW.id;
END;

CREATE TRIGGER certificates_fleet_revision_insert AFTER INSERT ON certificates BEGIN
    UPDATE fleet_revisions SET revision = revision + 1 WHERE organization_id = NEW.organization_id;
END;
CREATE TRIGGER certificates_fleet_revision_update AFTER UPDATE ON certificates BEGIN
    UPDATE fleet_revisions SET revision = revision + 1 WHERE organization_id = NEW.organization_id;
END;
CREATE TRIGGER certificates_fleet_revision_delete AFTER DELETE ON certificates BEGIN
    UPDATE fleet_revisions SET revision = revision + 1 WHERE organization_id = OLD.organization_id;
END;

CREATE TRIGGER organization_renewal_fleet_revision_insert AFTER INSERT ON organization_renewal BEGIN
    UPDATE fleet_revisions SET revision = revision + 1 WHERE organization_id = NEW.organization_id;
END;
CREATE TRIGGER organization_renewal_fleet_revision_update AFTER UPDATE ON organization_renewal BEGIN
    UPDATE fleet_revisions SET revision = revision + 1 WHERE organization_id = NEW.organization_id;
END;
CREATE TRIGGER organization_renewal_fleet_revision_delete AFTER DELETE ON organization_renewal BEGIN
    UPDATE fleet_revisions SET revision = revision + 1 WHERE organization_id = OLD.organization_id;
END;

CREATE TRIGGER backup_runs_fleet_revision_insert AFTER INSERT ON backup_runs BEGIN
    UPDATE fleet_revisions SET revision = revision + 1 WHERE organization_id = NEW.organization_id;
END;
CREATE TRIGGER backup_runs_fleet_revision_update AFTER UPDATE ON backup_runs BEGIN
    UPDATE fleet_revisions SET revision = revision + 1 WHERE organization_id = NEW.organization_id;
END;
CREATE TRIGGER backup_runs_fleet_revision_delete AFTER DELETE ON backup_runs BEGIN
    UPDATE fleet_revisions SET revision = revision + 1 WHERE organization_id = OLD.organization_id;
END;
