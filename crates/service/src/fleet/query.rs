//! One page of the fleet view from one snapshot: filter by state, search by name or tenant,
//! risk order, counts per state. Pure: the caller passes the snapshot and `now`.

use super::FleetRecord;
use super::risk::{Assessment, FleetRow, FleetState, assess};
use crate::error::ServiceError;
use crate::model::Organization;
use std::cmp::Ordering;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// Rows per page unless the caller asks otherwise.
pub const DEFAULT_PER_PAGE: u32 = 50;
/// The most rows one page holds: enough for a screen, small enough that a page of a large
/// fleet stays cheap to render and send.
pub const MAX_PER_PAGE: u32 = 200;
/// The longest search text accepted (bytes); names and tenants are shorter.
pub const MAX_SEARCH_BYTES: usize = 256;

/// What the caller asks to see. Build it with [`FleetQuery::new`], which refuses what cannot
/// be served, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetQuery {
    pub state: Option<FleetState>,
    /// Lower-case; matched as a substring of the name or the tenant, ignoring case.
    pub search: Option<String>,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl Default for FleetQuery {
    /// The first page of the whole fleet.
    fn default() -> Self {
        Self {
            state: None,
            search: None,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl FleetQuery {
    /// `state` is a [`FleetState`] name; an empty `search` searches nothing; `page` starts at
    /// 1; `per_page` is at most [`MAX_PER_PAGE`].
    pub fn new(
        state: Option<&str>,
        search: Option<&str>,
        page: Option<u32>,
        per_page: Option<u32>,
    ) -> Result<Self, ServiceError> {
        let invalid = |field: &str, message: String| ServiceError::Invalid {
            field: field.to_owned(),
            message,
        };
        let state = state
            .filter(|s| !s.is_empty())
            .map(FleetState::from_input)
            .transpose()?;
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        if search.is_some_and(|s| s.len() > MAX_SEARCH_BYTES) {
            return Err(invalid(
                "q",
                format!("the search is at most {MAX_SEARCH_BYTES} bytes"),
            ));
        }
        let page = page.unwrap_or(1);
        if page == 0 {
            return Err(invalid("page", "pages are numbered from 1".to_owned()));
        }
        let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(invalid(
                "per_page",
                format!("a page holds 1 to {MAX_PER_PAGE} organizations"),
            ));
        }
        Ok(Self {
            state,
            search: search.map(str::to_lowercase),
            page,
            per_page,
        })
    }

    fn matches(&self, organization: &Organization, state: FleetState) -> bool {
        self.state.is_none_or(|wanted| wanted == state)
            && self.search.as_deref().is_none_or(|text| {
                organization.name.to_lowercase().contains(text)
                    || organization.tenant.to_lowercase().contains(text)
            })
    }
}

/// How many organizations of the whole fleet are in each state (filter and search aside).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FleetCounts([usize; FleetState::ALL.len()]);

impl FleetCounts {
    pub fn get(&self, state: FleetState) -> usize {
        self.0[state as usize]
    }

    /// Every state with its count, in risk order (zeros included).
    pub fn iter(&self) -> impl Iterator<Item = (FleetState, usize)> + '_ {
        FleetState::ALL
            .into_iter()
            .map(|state| (state, self.get(state)))
    }

    /// The number of organizations in the fleet.
    pub fn fleet(&self) -> usize {
        self.0.iter().sum()
    }

    fn add(&mut self, state: FleetState) {
        self.0[state as usize] += 1;
    }
}

/// One page of the fleet view.
#[derive(Debug, Clone)]
pub struct FleetPage {
    /// In risk order, then soonest end (no certificate last), then name.
    pub rows: Vec<FleetRow>,
    /// Organizations matching the filter and search, over all pages.
    pub total: usize,
    pub page: u32,
    pub per_page: u32,
    pub counts: FleetCounts,
}

impl FleetPage {
    /// How many pages the matching organizations fill (at least 1).
    pub fn pages(&self) -> u32 {
        let per_page = self.per_page.max(1) as usize;
        u32::try_from(self.total.div_ceil(per_page).max(1)).unwrap_or(u32::MAX)
    }
}

/// The page `query` asks for, from the whole fleet's `records` at `now`.
pub fn fleet_page(
    records: &[Arc<FleetRecord>],
    query: &FleetQuery,
    now: OffsetDateTime,
    warning: Duration,
) -> FleetPage {
    let mut counts = FleetCounts::default();
    let mut matching: Vec<(&FleetRecord, Assessment)> = Vec::new();
    for record in records {
        let assessment = assess(record, now, warning);
        counts.add(assessment.state);
        if query.matches(&record.organization, assessment.state) {
            matching.push((record, assessment));
        }
    }
    matching.sort_by(|(a, sa), (b, sb)| risk_order(a, sa.state, b, sb.state));
    let total = matching.len();
    let skip = (query.page.max(1) as usize - 1).saturating_mul(query.per_page as usize);
    let rows = matching
        .into_iter()
        .skip(skip)
        .take(query.per_page as usize)
        .map(|(record, assessment)| FleetRow::assessed(record, assessment, now))
        .collect();
    FleetPage {
        rows,
        total,
        page: query.page,
        per_page: query.per_page,
        counts,
    }
}

/// Most urgent state first; within a state the certificate that ends soonest (none last), then
/// the name ignoring case, then the id so the order is total and pages never overlap.
fn risk_order(
    a: &FleetRecord,
    a_state: FleetState,
    b: &FleetRecord,
    b_state: FleetState,
) -> Ordering {
    let end = |r: &FleetRecord| r.active.as_ref().map(|c| c.not_after);
    let soonest = match (end(a), end(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    let (an, bn) = (&a.organization.name, &b.organization.name);
    a_state
        .cmp(&b_state)
        .then(soonest)
        .then_with(|| {
            an.bytes()
                .map(|c| c.to_ascii_lowercase())
                .cmp(bn.bytes().map(|c| c.to_ascii_lowercase()))
        })
        .then_with(|| an.cmp(bn))
        .then_with(|| a.organization.id.0.cmp(&b.organization.id.0))
}
