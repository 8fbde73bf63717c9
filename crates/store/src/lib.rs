//! tenantlink-store
