//! tenantlink-certificate
